//! Mirrors of fetched inputs: `FROM=TO` sends every URL under the prefix
//! `FROM` to the same path under `TO` (a team's mirror of upstream
//! downloads, an air-gapped copy, a test's own server), as a mirror is for
//! apt or pip. Only where the bytes come from changes: the input is still
//! named by the URL its recipe declares, its pins and the lock are that
//! URL's, and the bytes are verified against them as before.

use std::fmt;
use std::str::FromStr;

use crate::address::is_loopback;

/// One mirror: URLs starting with `from` are fetched from `to` instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirror {
    from: reqwest::Url,
    to: reqwest::Url,
}

impl Mirror {
    /// Where `url` is fetched from through this mirror, if it is under
    /// the mirrored prefix (compared as URLs: `HTTPS://Host/` is
    /// `https://host/`).
    pub fn source_of(&self, url: &str) -> Option<String> {
        let url = reqwest::Url::parse(url).ok()?;
        let rest = url.as_str().strip_prefix(self.from.as_str())?;
        Some(format!("{}{rest}", self.to))
    }
}

/// Where `url` is fetched from: through the first of `mirrors` that
/// mirrors it, else from `url` itself.
pub(super) fn source_of(mirrors: &[Mirror], url: &str) -> Option<String> {
    mirrors.iter().find_map(|mirror| mirror.source_of(url))
}

impl FromStr for Mirror {
    type Err = String;

    /// `FROM=TO`: two http(s) URLs of directories (ending in `/`), `TO`
    /// https or plain http on a loopback address only.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (from, to) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not FROM=TO (two URLs joined by `=`)"))?;
        let (from, to) = (directory_url(from)?, directory_url(to)?);
        if to.scheme() == "http" && !to.host_str().is_some_and(is_loopback) {
            return Err(format!(
                "the mirror {to} is plain http off the loopback address; a mirror is https (plain http only on \
                 127.0.0.1 or localhost)"
            ));
        }
        Ok(Mirror { from, to })
    }
}

/// `text` as an http(s) URL ending in `/`, without query, fragment or
/// credentials (a mirror is printed in messages and `--help`).
fn directory_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "the mirror {}://{}/… names credentials; give them to the server another way (a mirror is printed in \
             messages)",
            url.scheme(),
            url.host_str().unwrap_or_default()
        ));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`{text}` is a `{}` URL; a mirror maps http(s) URLs",
            url.scheme()
        ));
    }
    if !url.path().ends_with('/') || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{text}` is not a directory: a mirror maps one URL prefix ending in `/` to another"
        ));
    }
    Ok(url)
}

impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.from, self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirror(text: &str) -> Mirror {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn a_url_under_the_prefix_is_fetched_from_the_mirror_and_others_are_not() {
        let mirrors = [
            mirror("https://downloads.example/pub/=http://127.0.0.1:8080/copy/"),
            mirror("https://downloads.example/=https://mirror.example/all/"),
        ];
        let source = |url| source_of(&mirrors, url);
        assert_eq!(
            source("https://downloads.example/pub/a/b.zip?x=1").as_deref(),
            Some("http://127.0.0.1:8080/copy/a/b.zip?x=1")
        );
        assert_eq!(
            source("https://downloads.example/other.tgz").as_deref(),
            Some("https://mirror.example/all/other.tgz")
        );
        assert_eq!(
            source("HTTPS://Downloads.Example/pub/c").as_deref(),
            Some("http://127.0.0.1:8080/copy/c")
        );
        assert_eq!(source("https://elsewhere.example/pub/a"), None);
        assert_eq!(source("https://downloads.example.evil/pub/a"), None);
        assert_eq!(
            mirrors[0].to_string(),
            "https://downloads.example/pub/=http://127.0.0.1:8080/copy/"
        );
    }

    #[test]
    fn a_mirror_that_is_not_two_directory_urls_or_is_plain_http_elsewhere_is_refused() {
        let refused = |text: &str| text.parse::<Mirror>().unwrap_err();
        assert_eq!(
            refused("https://a.example/"),
            "`https://a.example/` is not FROM=TO (two URLs joined by `=`)"
        );
        assert!(refused("nowhere=https://b.example/").starts_with("`nowhere` is not a URL: "));
        assert_eq!(
            refused("ftp://a.example/=https://b.example/"),
            "`ftp://a.example/` is a `ftp` URL; a mirror maps http(s) URLs"
        );
        assert_eq!(
            refused("https://a.example/pub=https://b.example/"),
            "`https://a.example/pub` is not a directory: a mirror maps one URL prefix ending in `/` to another"
        );
        assert!(refused("https://a.example/=https://b.example/?q").contains("is not a directory"));
        assert_eq!(
            refused("https://a.example/=http://b.example/"),
            "the mirror http://b.example/ is plain http off the loopback address; a mirror is https (plain http \
             only on 127.0.0.1 or localhost)"
        );
        assert!("https://a.example/=http://localhost:1/".parse::<Mirror>().is_ok());
        let with_secret = refused("https://a.example/=https://user:s3cret@b.example/");
        assert_eq!(
            with_secret,
            "the mirror https://b.example/… names credentials; give them to the server another way (a mirror is \
             printed in messages)"
        );
        assert!(!with_secret.contains("s3cret"));
    }
}
