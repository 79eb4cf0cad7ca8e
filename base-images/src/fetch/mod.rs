//! Content a recipe takes from a URL, fetched by the build tool on the host
//! (never by a step inside the image) and verified: a digest the recipe
//! pins up front, or the one `versions.lock` recorded at release, must
//! equal the sha256 of the bytes received, or the build is refused naming
//! the URL and both digests. An input pinned nowhere is trusted on first
//! use, once per run: the same URL sending other bytes later in the run
//! (another platform, another version) is refused, never merged. The
//! server is not trusted: the HTTP client trusts the system's CA bundle,
//! follows at most [`MAX_REDIRECTS`] redirects and only to https (plain
//! http only between loopback addresses, never down from https), and a
//! download is cut at [`Limits::download`]. Archives are read and checked
//! here ([`archive`]) before any engine sees them.

mod archive;
pub(crate) mod entry;
mod mirror;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use bytesize::ByteSize;

pub use crate::step::ArchiveFormat;
pub use archive::{unpack, ArchiveError, ArchiveLimits};
pub use entry::{Entry, EntryKind};
pub use mirror::Mirror;

use crate::address::is_loopback;
use crate::recipe::Recipe;
use crate::step::Step;
use crate::Error;

/// How long connecting to a server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one download may take.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// How many redirects one download follows.
pub const MAX_REDIRECTS: usize = 5;

pub use crate::lock::Pins;

/// How much a fetch may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes one download may send (the build tool's
    /// `--max-fetch-size`; 2 GiB by default).
    pub download: u64,
    /// What one archive may hold.
    pub archive: ArchiveLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            download: 2 * bytesize::GIB,
            archive: ArchiveLimits::default(),
        }
    }
}

/// Content fetched from a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// `sha256:<hex>` of the bytes.
    pub sha256: String,
    /// The bytes.
    pub bytes: Bytes,
    /// Where they came from: the URL itself, or where its mirror sent it.
    pub source: String,
}

/// The fetched inputs of one build, by URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inputs {
    by_url: BTreeMap<String, Fetched>,
    archive: ArchiveLimits,
}

impl Inputs {
    /// What was fetched from `url`.
    pub fn get(&self, url: &str) -> Option<&Fetched> {
        self.by_url.get(url)
    }

    /// The digest of every input, by URL (what a release records).
    pub fn digests(&self) -> Pins {
        self.by_url
            .iter()
            .map(|(url, f)| (url.clone(), f.sha256.clone()))
            .collect()
    }

    /// Where each URL's bytes came from (itself, or its mirror's URL),
    /// by URL: an engine that downloads inputs itself goes there too.
    pub fn sources(&self) -> BTreeMap<String, String> {
        self.by_url
            .iter()
            .map(|(url, f)| (url.clone(), f.source.clone()))
            .collect()
    }

    /// Whether nothing was fetched.
    pub fn is_empty(&self) -> bool {
        self.by_url.is_empty()
    }

    /// The limits the archives among them were checked against.
    pub fn archive_limits(&self) -> &ArchiveLimits {
        &self.archive
    }
}

/// `sha256:<hex>` of `bytes` (the crate's one helper).
pub use crate::sha256::digest_of as sha256_of;

/// Fetches every input of `recipe` once and verifies each against the
/// digest the recipe pins and the one `pins` (the lock) records, within
/// the default [`Limits`] (a run of several builds shares one [`Fetcher`]).
pub async fn fetch_inputs(recipe: &Recipe, pins: &Pins) -> Result<Inputs, Error> {
    Fetcher::default().inputs(recipe, pins).await
}

/// Fetches inputs within its [`Limits`] and remembers the digest each URL
/// sent in this run; clones share that memory, so one run (every
/// platform and version it builds) gets one digest per URL.
#[derive(Clone, Debug, Default)]
pub struct Fetcher {
    limits: Limits,
    mirrors: Vec<Mirror>,
    seen: Arc<Mutex<Pins>>,
}

impl Fetcher {
    /// A fetcher keeping to `limits`, with nothing seen yet.
    pub fn new(limits: Limits) -> Self {
        Fetcher {
            limits,
            mirrors: Vec::new(),
            seen: Arc::default(),
        }
    }

    /// This fetcher, fetching the URLs `mirrors` map from there (the first
    /// that maps a URL wins).
    pub fn with_mirrors(mut self, mirrors: Vec<Mirror>) -> Self {
        self.mirrors = mirrors;
        self
    }

    /// Its limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Fetches every input of `recipe` once, verifies each against the
    /// digest the recipe pins, the one `pins` (the lock) records and the
    /// one this run saw first, and checks every archive.
    pub async fn inputs(&self, recipe: &Recipe, pins: &Pins) -> Result<Inputs, Error> {
        let mut inputs = Inputs {
            by_url: BTreeMap::new(),
            archive: self.limits.archive,
        };
        let mut checked = BTreeSet::new();
        for step in &recipe.steps {
            let Some((url, pinned)) = step.fetched() else { continue };
            if !inputs.by_url.contains_key(url) {
                let fetched = self.download(url).await?;
                verify(url, &fetched.sha256, pinned, pins)?;
                self.remember(url, &fetched.sha256)?;
                inputs.by_url.insert(url.to_owned(), fetched);
            }
            let format = ArchiveFormat::of_url(url).filter(|_| matches!(step, Step::FetchArchive { .. }));
            if let (Some(format), Some(fetched)) = (format, inputs.by_url.get(url)) {
                if checked.insert(url) {
                    unpack(format, &fetched.bytes, &self.limits.archive).map_err(|reason| Error::ArchiveRefused {
                        url: url.to_owned(),
                        reason,
                    })?;
                }
            }
        }
        Ok(inputs)
    }

    /// Records that `url` sent `digest`; refuses another digest than the
    /// first this run saw.
    fn remember(&self, url: &str, digest: &str) -> Result<(), Error> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        match seen.get(url) {
            Some(first) if first != digest => Err(Error::FetchedTwice {
                url: url.to_owned(),
                first: first.clone(),
                then: digest.to_owned(),
            }),
            Some(_) => Ok(()),
            None => {
                seen.insert(url.to_owned(), digest.to_owned());
                Ok(())
            }
        }
    }

    /// Downloads `url` (from its mirror, if one maps it) with the system's
    /// CA bundle: at most [`MAX_REDIRECTS`] redirects, only to https (plain
    /// http only between loopback addresses), at most [`Limits::download`]
    /// bytes. Errors name `url`, and the mirror's URL when there was one.
    pub async fn download(&self, url: &str) -> Result<Fetched, Error> {
        let source = mirror::source_of(&self.mirrors, url);
        let through = source
            .as_deref()
            .map(|source| format!(" (through the mirror, {source})"))
            .unwrap_or_default();
        let failed = |reason: String, source: Option<reqwest::Error>| Error::Fetch {
            url: url.to_owned(),
            reason: format!("{reason}{through}"),
            source,
        };
        let refused = |reason: String| Error::FetchRefused {
            url: url.to_owned(),
            reason: format!("{reason}{through}"),
        };
        let requested = source.as_deref().unwrap_or(url);
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(DOWNLOAD_TIMEOUT)
            .redirect(redirects())
            .build()
            .map_err(|e| failed("no HTTP client could be made".into(), Some(e)))?;
        let mut response = client
            .get(requested)
            .send()
            .await
            .map_err(|e| match refused_redirect(&e) {
                Some(refusal) => refused(refusal.to_string()),
                None => failed(request_failure(&e), Some(e)),
            })?;
        let at = match response.url().as_str() {
            last if last == requested => String::new(),
            last => format!(" (redirected to {last})"),
        };
        let status = response.status();
        if !status.is_success() {
            return Err(failed(format!("the server answered {status}{at}"), None));
        }
        let limit = self.limits.download;
        let too_large = || {
            refused(format!(
                "it sends more than {}{at}, the most a download may take (raise it with --max-fetch-size)",
                ByteSize(limit)
            ))
        };
        if response.content_length().is_some_and(|length| length > limit) {
            return Err(too_large());
        }
        let mut bytes = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| failed(format!("the download broke off{at}"), Some(e)))?
        {
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let bytes = bytes.freeze();
        Ok(Fetched {
            sha256: sha256_of(&bytes),
            bytes,
            source: requested.to_owned(),
        })
    }
}

/// Refuses `received` for `url` when the recipe or the lock pins another digest.
fn verify(url: &str, received: &str, pinned: Option<&str>, pins: &Pins) -> Result<(), Error> {
    let expected = [
        (pinned, "the recipe"),
        (pins.get(url).map(String::as_str), "versions.lock"),
    ];
    for (digest, pinned_by) in expected {
        if let Some(digest) = digest.filter(|d| *d != received) {
            return Err(Error::FetchedChanged {
                url: url.to_owned(),
                pinned_by: pinned_by.to_owned(),
                expected: digest.to_owned(),
                received: received.to_owned(),
            });
        }
    }
    Ok(())
}

/// What went wrong with a request that got no response.
fn request_failure(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "nothing answers there (connection failed)".to_owned()
    } else if e.is_timeout() {
        "no answer in time".to_owned()
    } else {
        "the request failed".to_owned()
    }
}

/// A redirect the client did not follow.
#[derive(Debug, thiserror::Error)]
#[error("it redirects to {to}, {why}")]
struct RedirectRefused {
    /// Where the server redirected to: the last URL reached.
    to: String,
    /// Why that is not followed.
    why: String,
}

/// The client's redirect policy: `redirect_refusal` decides.
fn redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| match redirect_refusal(attempt.url(), attempt.previous()) {
        Some(why) => {
            let to = attempt.url().to_string();
            attempt.error(RedirectRefused { to, why })
        }
        None => attempt.follow(),
    })
}

/// The refused redirect behind a client error, if that is what it is.
fn refused_redirect(e: &reqwest::Error) -> Option<&RedirectRefused> {
    let mut source = std::error::Error::source(e);
    while let Some(error) = source {
        if let Some(refused) = error.downcast_ref::<RedirectRefused>() {
            return Some(refused);
        }
        source = error.source();
    }
    None
}

/// Why a redirect to `next`, after the URLs `previous` (the first one
/// asked for, then every redirect followed), is not followed, if it is
/// not: more than [`MAX_REDIRECTS`], a scheme other than https (plain http
/// only to a loopback address, for tests), or down from https to http.
fn redirect_refusal(next: &reqwest::Url, previous: &[reqwest::Url]) -> Option<String> {
    if previous.len() > MAX_REDIRECTS {
        return Some(format!(
            "one more than the {MAX_REDIRECTS} redirects a download follows"
        ));
    }
    match next.scheme() {
        "https" => None,
        "http" if previous.iter().any(|url| url.scheme() == "https") => {
            Some("down from https to plain http, which is never followed".into())
        }
        "http" if next.host_str().is_some_and(is_loopback) => None,
        "http" => Some("plain http off the loopback address; only https is followed".into()),
        other => Some(format!("a `{other}` URL; only https is followed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback server answering every request with `body`, for `count` requests.
    fn serve(body: &'static [u8], count: usize) -> String {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let address = server.server_addr().to_ip().unwrap();
        std::thread::spawn(move || {
            for request in server.incoming_requests().take(count) {
                let _ = request.respond(tiny_http::Response::from_data(body));
            }
        });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn inputs_are_fetched_once_and_verified_against_every_pin() {
        let base = serve(b"payload", 3);
        let url = format!("{base}/file.txt");
        let good = sha256_of(b"payload");
        let recipe = Recipe::from("a")
            .with_fetched_file("/a", &url)
            .with_fetched_file("/b", &url);
        let inputs = fetch_inputs(&recipe, &Pins::new()).await.unwrap();
        assert_eq!(inputs.digests(), Pins::from([(url.clone(), good.clone())]));
        assert_eq!(inputs.get(&url).map(|f| f.bytes.as_ref()), Some(&b"payload"[..]));

        let stale = sha256_of(b"what was released");
        let err = fetch_inputs(&recipe, &Pins::from([(url.clone(), stale.clone())]))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&url) && err.contains(&format!("versions.lock pins {stale}")) && err.contains(&good),
            "{err}"
        );
        let pinned = Recipe::from("a").with_fetched_file_opts(
            "/a",
            &url,
            None,
            crate::step::FetchOptions::default().sha256(stale.clone()),
        );
        let err = fetch_inputs(&pinned, &Pins::new()).await.unwrap_err().to_string();
        assert!(err.contains("the recipe pins"), "{err}");
    }

    #[tokio::test]
    async fn a_server_that_is_down_is_a_clear_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/gone.zip");
        let err = Fetcher::default().download(&url).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("cannot fetch {url}: nothing answers there")),
            "{text}"
        );
        assert!(
            std::error::Error::source(&err).is_some(),
            "the client's error is kept as the source"
        );
    }

    #[tokio::test]
    async fn a_mirrored_input_comes_from_the_mirror_and_keeps_its_declared_url_and_pins() {
        let base = serve(b"mirrored", 2);
        let url = "https://upstream.invalid/pub/file.txt";
        let mirrors = vec![format!("https://upstream.invalid/pub/={base}/copy/").parse().unwrap()];
        let fetcher = Fetcher::default().with_mirrors(mirrors);
        let recipe = Recipe::from("a").with_fetched_file("/a", url);
        let inputs = fetcher.inputs(&recipe, &Pins::new()).await.unwrap();
        assert_eq!(inputs.digests(), Pins::from([(url.to_owned(), sha256_of(b"mirrored"))]));

        let pinned = Pins::from([(url.to_owned(), sha256_of(b"upstream's bytes"))]);
        let err = fetcher.inputs(&recipe, &pinned).await.unwrap_err().to_string();
        assert!(err.starts_with(&format!("{url} changed: versions.lock pins")), "{err}");

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let down = vec![format!("https://upstream.invalid/=http://127.0.0.1:{port}/")
            .parse()
            .unwrap()];
        let err = Fetcher::default()
            .with_mirrors(down)
            .download(url)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "cannot fetch {url}: nothing answers there (connection failed) (through the mirror, \
                 http://127.0.0.1:{port}/pub/file.txt)"
            )),
            "{err}"
        );
    }

    /// A loopback server of routes: `/hop/N` redirects to `/hop/N-1` and
    /// `/hop/0` answers `landed`; `/away` redirects off the loopback
    /// address, `/ftp` to another scheme, `/to-missing` to a 404; `/endless`
    /// sends bytes without end, `/announced` announces more than it sends;
    /// `/twice` answers `first`, then `second`; `/setuid.tar` is an archive
    /// holding a setuid file. Serves until the test process ends.
    fn routes() -> String {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let address = server.server_addr().to_ip().unwrap();
        let base = format!("http://{address}");
        let here = base.clone();
        std::thread::spawn(move || {
            let mut twice = 0;
            for request in server.incoming_requests() {
                let redirect = |to: &str| {
                    let location = tiny_http::Header::from_bytes("Location", to).unwrap();
                    tiny_http::Response::empty(302).with_header(location)
                };
                let url = request.url().to_owned();
                let _ = match url.as_str() {
                    "/hop/0" => request.respond(tiny_http::Response::from_data(&b"landed"[..])),
                    hop if hop.starts_with("/hop/") => {
                        let n: u32 = hop["/hop/".len()..].parse().unwrap();
                        request.respond(redirect(&format!("{here}/hop/{}", n - 1)))
                    }
                    "/away" => request.respond(redirect("http://192.0.2.1/x.zip")),
                    "/ftp" => request.respond(redirect("ftp://127.0.0.1/x.zip")),
                    "/to-missing" => request.respond(redirect("/missing")),
                    "/endless" => request.respond(tiny_http::Response::new(
                        200.into(),
                        vec![],
                        std::io::repeat(b'x'),
                        None,
                        None,
                    )),
                    "/announced" => request.respond(tiny_http::Response::new(
                        200.into(),
                        vec![],
                        std::io::repeat(b'x').take(1 << 20),
                        Some(1 << 20),
                        None,
                    )),
                    "/twice" => {
                        twice += 1;
                        let body = if twice == 1 { "first" } else { "second" };
                        request.respond(tiny_http::Response::from_string(body))
                    }
                    "/setuid.tar" => request.respond(tiny_http::Response::from_data(setuid_tar())),
                    _ => request.respond(tiny_http::Response::empty(404)),
                };
            }
        });
        base
    }

    fn setuid_tar() -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o4755);
        header.set_size(1);
        builder.append_data(&mut header, "su", &b"x"[..]).unwrap();
        builder.into_inner().unwrap()
    }

    use std::io::Read as _;

    #[tokio::test]
    async fn redirects_are_followed_five_times_to_loopback_http_and_no_further() {
        let base = routes();
        let fetcher = Fetcher::default();
        let landed = fetcher.download(&format!("{base}/hop/5")).await.unwrap();
        assert_eq!(landed.bytes.as_ref(), b"landed");

        let url = format!("{base}/hop/6");
        let err = fetcher.download(&url).await.unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "refused to fetch {url}: it redirects to {base}/hop/0, one more than the 5 redirects a download \
                 follows (nothing was built or written)"
            )
        );
        let err = fetcher.download(&format!("{base}/away")).await.unwrap_err().to_string();
        assert!(
            err.contains("it redirects to http://192.0.2.1/x.zip, plain http off the loopback address"),
            "{err}"
        );
        let err = fetcher.download(&format!("{base}/ftp")).await.unwrap_err().to_string();
        assert!(
            err.contains("it redirects to ftp://127.0.0.1/x.zip, a `ftp` URL"),
            "{err}"
        );
        // A failure after a redirect names where it happened.
        let err = fetcher
            .download(&format!("{base}/to-missing"))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!(
                "the server answered 404 Not Found (redirected to {base}/missing)"
            )),
            "{err}"
        );
    }

    #[test]
    fn redirects_never_go_down_from_https() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        let from_https = [url("https://example.org/a.zip")];
        assert_eq!(
            redirect_refusal(&url("https://cdn.example.org/a.zip"), &from_https),
            None
        );
        assert_eq!(
            redirect_refusal(&url("http://127.0.0.1:1/a.zip"), &from_https).as_deref(),
            Some("down from https to plain http, which is never followed")
        );
        let via_https = [url("http://127.0.0.1:1/a"), url("https://127.0.0.1:2/b")];
        assert!(redirect_refusal(&url("http://[::1]:3/c"), &via_https).is_some());
        let on_loopback = [url("http://127.0.0.1:1/a")];
        assert_eq!(redirect_refusal(&url("http://[::1]:3/c"), &on_loopback), None);
        assert_eq!(redirect_refusal(&url("http://localhost:3/c"), &on_loopback), None);
        assert!(redirect_refusal(&url("http://127.0.0.1.example.org/c"), &on_loopback).is_some());
    }

    #[tokio::test]
    async fn a_download_is_cut_at_its_limit() {
        let base = routes();
        let fetcher = Fetcher::new(Limits {
            download: 64 * 1024,
            ..Limits::default()
        });
        for path in ["/announced", "/endless"] {
            let url = format!("{base}{path}");
            let err = fetcher.download(&url).await.unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "refused to fetch {url}: it sends more than 64.0 KiB, the most a download may take (raise it \
                     with --max-fetch-size) (nothing was built or written)"
                )
            );
        }
        let redirected = format!("{base}/hop/1");
        let small = Fetcher::new(Limits {
            download: 3,
            ..Limits::default()
        });
        let err = small.download(&redirected).await.unwrap_err().to_string();
        assert!(
            err.contains(&format!("more than 3 B (redirected to {base}/hop/0)")),
            "{err}"
        );
        assert_eq!(Limits::default().download, 2 << 30);
    }

    #[tokio::test]
    async fn an_unpinned_input_is_one_digest_per_run() {
        let base = routes();
        let url = format!("{base}/twice");
        let recipe = Recipe::from("a").with_fetched_file("/f", &url);
        // Two platforms of one run fetch separately, through one fetcher.
        let run = Fetcher::default();
        let first = run.inputs(&recipe, &Pins::new()).await.unwrap();
        let err = run.inputs(&recipe, &Pins::new()).await.unwrap_err();
        let (one, two) = (sha256_of(b"first"), sha256_of(b"second"));
        assert_eq!(first.digests(), Pins::from([(url.clone(), one.clone())]));
        assert!(matches!(&err, Error::FetchedTwice { first, then, .. } if *first == one && *then == two));
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "{url} sent other bytes within one run: {one} first, then {two}"
            )),
            "{text}"
        );
    }

    #[tokio::test]
    async fn an_archive_breaking_a_rule_is_refused_before_any_engine() {
        let base = routes();
        let url = format!("{base}/setuid.tar");
        let recipe = Recipe::from("a").with_fetched_archive("/opt/x", &url);
        let err = fetch_inputs(&recipe, &Pins::new()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "refused the archive {url}: it holds `su` with the setuid or setgid bit (mode 4755) (nothing was \
                 built or written)"
            )
        );
        // The same bytes as a plain file are not unpacked, so not refused.
        let file = Recipe::from("a").with_fetched_file("/opt/x.tar", &url);
        assert!(fetch_inputs(&file, &Pins::new()).await.is_ok());
    }
}
