//! Image addresses (`[registry/]repo[:tag][@sha256:<64 hex>]`): parsing and
//! validation following the grammar of the distribution project's
//! `reference` package, so an address accepted here is one `docker pull`,
//! Dagger and a Dockerfile `FROM` accept too. Only `sha256` digests are
//! accepted, since that is what registries serve and locks can compare.

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, Mutex};

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::Error;

/// Docker Hub: the registry an address that names no host is served from,
/// and the names the docker CLI and engines give it.
pub mod docker_hub {
    /// The host an address without one names.
    pub const HOST: &str = "docker.io";
    /// The key the Docker config file keeps Docker Hub's credentials under.
    pub const CONFIG_KEY: &str = "https://index.docker.io/v1/";

    /// A repository path as Docker Hub serves it: a one-component name (an
    /// official image, `python`) lives under `library/`.
    pub fn full_path(path: &str) -> String {
        if path.contains('/') {
            path.to_owned()
        } else {
            format!("library/{path}")
        }
    }

    /// A repository name as an engine shortens it (`docker.io/library/x`
    /// is `x`, `docker.io/team/x` is `team/x`).
    pub fn short_name(name: &str) -> &str {
        let name = name
            .strip_prefix(HOST)
            .and_then(|n| n.strip_prefix('/'))
            .unwrap_or(name);
        name.strip_prefix("library/").unwrap_or(name)
    }
}

/// Whether the first component of a repository name (`localhost:5000` in
/// `localhost:5000/x`) is a registry host rather than a path: it holds a
/// '.' or a ':', is `localhost`, or has an uppercase letter (the
/// distribution project's rule).
fn names_registry(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase())
}

/// Whether `host` (`name[:port]`, a registry's or a URL's) is a loopback
/// address, where plain HTTP is allowed.
pub fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A parsed, valid image address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageAddress {
    name: String,
    tag: Option<String>,
    digest: Option<String>,
}

const DOMAIN_COMPONENT: &str = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const PATH_COMPONENT: &str = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";

static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    let re = format!(r"^(?:{DOMAIN_COMPONENT}(?:\.{DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$");
    Regex::new(&re).unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^{PATH_COMPONENT}$")).unwrap_or_else(|e| unreachable!("static regex: {e}")));
/// Docker's tag grammar, `[\w][\w.-]{0,127}` with Go's ASCII `\w` (a
/// Unicode class repeated 128 times would also compile into a large
/// automaton on every run of the tool).
static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$").unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static DIGEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^sha256:[0-9a-f]{64}$").unwrap_or_else(|e| unreachable!("static regex: {e}")));

/// How many parsed addresses a process keeps (every version of a family
/// usually names the same root: validating thousands of versions parses it
/// once).
const PARSED_KEPT: usize = 1024;

impl ImageAddress {
    /// Parses and validates an address such as `python:3.9-slim@sha256:…`.
    pub fn parse(address: &str) -> Result<Self, Error> {
        static PARSED: LazyLock<Mutex<HashMap<String, ImageAddress>>> = LazyLock::new(Mutex::default);
        if let Some(parsed) = PARSED.lock().ok().and_then(|p| p.get(address).cloned()) {
            return Ok(parsed);
        }
        let parsed = Self::parse_uncached(address)?;
        if let Ok(mut kept) = PARSED.lock() {
            if kept.len() < PARSED_KEPT {
                kept.insert(address.to_owned(), parsed.clone());
            }
        }
        Ok(parsed)
    }

    fn parse_uncached(address: &str) -> Result<Self, Error> {
        let fail = |reason: String| Error::InvalidAddress {
            address: address.to_owned(),
            reason,
        };
        if address.is_empty() {
            return Err(fail(
                "it is empty; write repository[:tag][@sha256:<64 hex digits>]".into(),
            ));
        }
        if let Some(c) = address.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail(format!("it contains the character {c:?}; remove it")));
        }
        let (rest, digest) = match address.split_once('@') {
            Some((rest, digest)) => {
                if !DIGEST.is_match(digest) {
                    return Err(fail(format!(
                        "the digest `{digest}` must be `sha256:` followed by 64 lowercase hex digits"
                    )));
                }
                (rest, Some(digest.to_owned()))
            }
            None => (address, None),
        };
        // A tag is after the last ':' that follows the last '/', so a
        // registry port (`localhost:5000/x`) is not taken for a tag.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let split = last_slash + i;
                let tag = &rest[split + 1..];
                if !TAG.is_match(tag) {
                    return Err(fail(format!(
                        "the tag `{tag}` must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
                    )));
                }
                (&rest[..split], Some(tag.to_owned()))
            }
            None => (rest, None),
        };
        Self::check_name(name).map_err(fail)?;
        Ok(ImageAddress {
            name: name.to_owned(),
            tag,
            digest,
        })
    }

    fn check_name(name: &str) -> Result<(), String> {
        if name.is_empty() {
            return Err("the repository name is missing".into());
        }
        if name.len() > 255 {
            return Err(format!(
                "the repository name is {} characters long; at most 255 are allowed",
                name.len()
            ));
        }
        let mut components: Vec<&str> = name.split('/').collect();
        let first = components[0];
        let has_domain = components.len() > 1 && names_registry(first);
        if has_domain {
            if !DOMAIN.is_match(first) {
                return Err(format!("the registry `{first}` is not a valid host[:port]"));
            }
            components.remove(0);
        }
        for component in components {
            if !PATH.is_match(component) {
                return Err(format!(
                    "the path component `{component}` must be lowercase letters and digits, separated by '.', '_', '__' or '-'"
                ));
            }
        }
        Ok(())
    }

    /// The repository, with its registry host when one was written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The registry host (`host[:port]`) when one was written, and the
    /// repository path on it.
    pub fn registry_and_path(&self) -> (Option<&str>, &str) {
        match self.name.split_once('/') {
            Some((first, rest)) if names_registry(first) => (Some(first), rest),
            _ => (None, &self.name),
        }
    }

    /// The registry (`host[:port]`) the address is served from: the one
    /// written, else Docker Hub.
    pub fn registry(&self) -> &str {
        self.registry_and_path().0.unwrap_or(docker_hub::HOST)
    }

    /// The address without its digest (`repository[:tag]`).
    pub fn without_digest(&self) -> String {
        match &self.tag {
            Some(tag) => format!("{}:{tag}", self.name),
            None => self.name.clone(),
        }
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The `sha256:…` digest, if the address is pinned.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// Whether the address pins content by digest.
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some()
    }
}

impl fmt::Display for ImageAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ImageAddress {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ImageAddress {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl From<ImageAddress> for String {
    fn from(a: ImageAddress) -> String {
        a.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0";

    #[test]
    fn accepts_valid_addresses() {
        for ok in [
            "python".to_string(),
            "python:3.9.18-slim-bookworm".to_string(),
            format!("python:3.9.18-slim-bookworm@sha256:{HEX}"),
            format!("python@sha256:{HEX}"),
            "docker.io/library/python:3.10".to_string(),
            "localhost:5000/base/debian:bookworm".to_string(),
            "127.0.0.1:5000/x".to_string(),
            "a__b/c-d/e.f_g:T_1.x-y".to_string(),
        ] {
            let parsed = ImageAddress::parse(&ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(parsed.to_string(), ok);
        }
    }

    #[test]
    fn splits_parts() {
        let a = ImageAddress::parse(&format!("localhost:5000/py:3.9@sha256:{HEX}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.name(), "localhost:5000/py");
        assert_eq!(a.tag(), Some("3.9"));
        assert_eq!(a.digest(), Some(format!("sha256:{HEX}").as_str()));
        assert!(a.is_pinned());
        let b = ImageAddress::parse("localhost:5000/py").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.tag(), None);
        assert!(!b.is_pinned());
    }

    #[test]
    fn rejects_invalid_addresses_with_reason() {
        for (bad, reason) in [
            ("", "empty"),
            ("Python:3", "path component `Python`"),
            ("python:", "the tag ``"),
            ("python:.x", "the tag `.x`"),
            ("python:caf\u{e9}", "the tag `caf\u{e9}`"),
            ("python@sha256:abc", "64 lowercase hex"),
            ("python@md5:0123", "must be `sha256:`"),
            ("py thon", "character ' '"),
            ("a//b", "path component ``"),
            ("-a", "path component `-a`"),
            ("bad_host_:5000/x", "registry `bad_host_:5000`"),
        ] {
            let err = ImageAddress::parse(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} was accepted"));
            let text = err.to_string();
            assert!(text.contains(reason), "{bad:?}: {text}");
            assert!(text.contains(&format!("`{bad}`")), "{text}");
        }
    }

    #[test]
    fn an_address_without_a_host_is_served_from_docker_hub() {
        let parse = |a: &str| ImageAddress::parse(a).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parse("python:3.11").registry(), "docker.io");
        assert_eq!(parse("team/tool").registry(), "docker.io");
        assert_eq!(parse("localhost:5000/py").registry(), "localhost:5000");
        assert_eq!(parse("ghcr.io/team/tool:1").registry(), "ghcr.io");
        assert_eq!(docker_hub::short_name("docker.io/library/python"), "python");
        assert_eq!(docker_hub::full_path("python"), "library/python");
        assert_eq!(docker_hub::full_path("team/tool"), "team/tool");
        assert_eq!(docker_hub::short_name("docker.io/team/tool"), "team/tool");
        assert_eq!(docker_hub::short_name("docker.iox/tool"), "docker.iox/tool");
        assert_eq!(docker_hub::short_name("ghcr.io/library/x"), "ghcr.io/library/x");
    }
}
