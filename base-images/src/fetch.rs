//! Content a recipe takes from a URL, fetched by the build tool on the host
//! (never by a step inside the image) and verified: a digest the recipe
//! pins up front, or the one `versions.lock` recorded at release, must
//! equal the sha256 of the bytes received, or the build is refused naming
//! the URL and both digests. The HTTP client trusts the system's CA bundle.
//! Archives are unpacked here too, for engines that upload files.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use crate::{Error, Recipe};

/// How long connecting to a server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one download may take.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// Digests known for URLs (`sha256:<hex>`), by URL: what a lock recorded.
pub type Pins = BTreeMap<String, String>;

/// How an archive is packed, told by its URL's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// `.zip`
    Zip,
    /// `.tar`
    Tar,
    /// `.tar.gz` or `.tgz`
    TarGz,
}

impl ArchiveFormat {
    /// The format the name of `url`'s path says, ignoring query and fragment.
    pub fn of_url(url: &str) -> Option<Self> {
        let path = url.split(['?', '#']).next().unwrap_or(url).to_ascii_lowercase();
        if path.ends_with(".zip") {
            Some(ArchiveFormat::Zip)
        } else if path.ends_with(".tar.gz") || path.ends_with(".tgz") {
            Some(ArchiveFormat::TarGz)
        } else if path.ends_with(".tar") {
            Some(ArchiveFormat::Tar)
        } else {
            None
        }
    }

    /// The `sh` script that unpacks `/archive` into `/out` in the unpacking
    /// image (a Dockerfile stage, Dagger's helper container).
    pub(crate) fn unpack_script(self) -> &'static str {
        match self {
            ArchiveFormat::Zip => "mkdir -p /out && unzip -q /archive -d /out",
            ArchiveFormat::Tar => "mkdir -p /out && tar -xf /archive -C /out",
            ArchiveFormat::TarGz => "mkdir -p /out && tar -xzf /archive -C /out",
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
}

/// The fetched inputs of one build, by URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inputs {
    by_url: BTreeMap<String, Fetched>,
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

    /// Whether nothing was fetched.
    pub fn is_empty(&self) -> bool {
        self.by_url.is_empty()
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_of(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// Fetches every input of `recipe` once and verifies each against the
/// digest the recipe pins and the one `pins` (the lock) records.
pub async fn fetch_inputs(recipe: &Recipe, pins: &Pins) -> Result<Inputs, Error> {
    let mut inputs = Inputs::default();
    for step in &recipe.steps {
        let Some((url, pinned)) = step.fetched() else { continue };
        if inputs.by_url.contains_key(url) {
            continue;
        }
        let fetched = download(url).await?;
        let expected = [
            (pinned, "the recipe"),
            (pins.get(url).map(String::as_str), "versions.lock"),
        ];
        for (digest, pinned_by) in expected {
            if let Some(digest) = digest.filter(|d| *d != fetched.sha256) {
                return Err(Error::FetchedChanged {
                    url: url.to_owned(),
                    pinned_by: pinned_by.to_owned(),
                    expected: digest.to_owned(),
                    received: fetched.sha256,
                });
            }
        }
        inputs.by_url.insert(url.to_owned(), fetched);
    }
    Ok(inputs)
}

/// Downloads `url` with the system's CA bundle.
pub async fn download(url: &str) -> Result<Fetched, Error> {
    let failed = |reason: String, source: Option<reqwest::Error>| Error::Fetch {
        url: url.to_owned(),
        reason,
        source,
    };
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(DOWNLOAD_TIMEOUT)
        .build()
        .map_err(|e| failed("no HTTP client could be made".into(), Some(e)))?;
    let response = client.get(url).send().await.map_err(|e| {
        let reason = if e.is_connect() {
            "nothing answers there (connection failed)".to_owned()
        } else if e.is_timeout() {
            "no answer in time".to_owned()
        } else {
            "the request failed".to_owned()
        };
        failed(reason, Some(e))
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!("the server answered {status}"), None));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| failed("the download broke off".into(), Some(e)))?;
    Ok(Fetched {
        sha256: sha256_of(&bytes),
        bytes,
    })
}

/// One entry of an unpacked archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its path relative to the directory unpacked into (`/`-separated).
    pub path: String,
    /// Its permission bits.
    pub mode: u32,
    /// What it is.
    pub kind: EntryKind,
}

/// What an archive entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Directory,
    /// A regular file with its contents.
    File(Vec<u8>),
    /// A symbolic link to a target.
    Symlink(String),
}

/// The entries of an archive, in archive order; an entry that would land
/// outside the directory (`..`, an absolute path) is refused.
pub fn unpack(format: ArchiveFormat, bytes: &[u8]) -> Result<Vec<Entry>, String> {
    match format {
        ArchiveFormat::Zip => unzip(bytes),
        ArchiveFormat::Tar => untar(bytes),
        ArchiveFormat::TarGz => untar(&gunzip(bytes)?),
    }
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| format!("not a gzip stream: {e}"))?;
    Ok(out)
}

/// `path` as a relative path inside the directory, if it stays inside.
fn inside(path: &str) -> Result<String, String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if path.starts_with('/') || parts.contains(&"..") || parts.is_empty() {
        return Err(format!(
            "holds the entry `{path}`, which would land outside the directory; refusing the archive"
        ));
    }
    Ok(parts.join("/"))
}

fn unzip(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("not a zip archive: {e}"))?;
    let mut entries = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(|e| format!("entry {index}: {e}"))?;
        let path = inside(file.name())?;
        let is_link = file.unix_mode().is_some_and(|m| m & 0o170000 == 0o120000);
        let mode = file.unix_mode().map(|m| m & 0o7777);
        let mut contents = Vec::new();
        file.read_to_end(&mut contents).map_err(|e| format!("{path}: {e}"))?;
        let (kind, default_mode) = if file.is_dir() {
            (EntryKind::Directory, 0o755)
        } else if is_link {
            (
                EntryKind::Symlink(String::from_utf8_lossy(&contents).into_owned()),
                0o777,
            )
        } else {
            (EntryKind::File(contents), 0o644)
        };
        entries.push(Entry {
            path,
            mode: mode.unwrap_or(default_mode),
            kind,
        });
    }
    Ok(entries)
}

fn untar(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut archive = tar::Archive::new(bytes);
    let mut entries = Vec::new();
    for entry in archive.entries().map_err(|e| format!("not a tar archive: {e}"))? {
        let mut entry = entry.map_err(|e| format!("not a tar archive: {e}"))?;
        let name = entry.path().map_err(|e| e.to_string())?.to_string_lossy().into_owned();
        let header = entry.header();
        let mode = header.mode().map_err(|e| format!("{name}: {e}"))? & 0o7777;
        let kind = match header.entry_type() {
            tar::EntryType::Directory => EntryKind::Directory,
            tar::EntryType::Symlink => EntryKind::Symlink(
                entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut contents = Vec::new();
                entry.read_to_end(&mut contents).map_err(|e| format!("{name}: {e}"))?;
                EntryKind::File(contents)
            }
            // Hard links, devices, pax headers: nothing a base image fetches.
            _ => continue,
        };
        if name == "." || name == "./" {
            continue;
        }
        entries.push(Entry {
            path: inside(&name)?,
            mode,
            kind,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn formats_are_told_by_the_urls_name() {
        assert_eq!(ArchiveFormat::of_url("https://h/a/punkt.zip"), Some(ArchiveFormat::Zip));
        assert_eq!(ArchiveFormat::of_url("https://h/a.TGZ?x=1"), Some(ArchiveFormat::TarGz));
        assert_eq!(
            ArchiveFormat::of_url("https://h/a.tar.gz#frag"),
            Some(ArchiveFormat::TarGz)
        );
        assert_eq!(ArchiveFormat::of_url("https://h/a.tar"), Some(ArchiveFormat::Tar));
        assert_eq!(ArchiveFormat::of_url("https://h/a.zip.sig"), None);
    }

    fn zip_of(names: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o640);
        for (name, contents) in names {
            if name.ends_with('/') {
                writer.add_directory(*name, options).unwrap();
            } else {
                writer.start_file(*name, options).unwrap();
                writer.write_all(contents).unwrap();
            }
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn zip_and_tar_gz_unpack_to_the_same_entries() {
        let zipped = zip_of(&[("punkt/", b""), ("punkt/README", b"hi\n")]);
        let entries = unpack(ArchiveFormat::Zip, &zipped).unwrap();
        assert_eq!(
            entries,
            [
                Entry {
                    path: "punkt".into(),
                    mode: 0o640,
                    kind: EntryKind::Directory
                },
                Entry {
                    path: "punkt/README".into(),
                    mode: 0o640,
                    kind: EntryKind::File(b"hi\n".to_vec())
                },
            ]
        );
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o640);
        builder
            .append_data(&mut header, "./punkt/README", &b"hi\n"[..])
            .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&builder.into_inner().unwrap()).unwrap();
        let entries = unpack(ArchiveFormat::TarGz, &gz.finish().unwrap()).unwrap();
        assert_eq!(entries[0].path, "punkt/README");
        assert_eq!(entries[0].kind, EntryKind::File(b"hi\n".to_vec()));
    }

    #[test]
    fn entries_outside_the_directory_are_refused() {
        let zipped = zip_of(&[("../etc/passwd", b"x")]);
        let err = unpack(ArchiveFormat::Zip, &zipped).unwrap_err();
        assert!(err.contains("`../etc/passwd`, which would land outside"), "{err}");
        assert!(unpack(ArchiveFormat::Zip, b"not a zip")
            .unwrap_err()
            .contains("not a zip"));
    }

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
            crate::recipe::FetchOptions::default().sha256(stale.clone()),
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
        let err = download(&url).await.unwrap_err();
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
}
