//! Accepted findings: `audit.toml` at the workspace root lists exceptions,
//! each an advisory id (or any of its aliases), the versions it applies to
//! (selectors: `*`, `family`, `family:version`, `family:latest`), why it is
//! accepted, and the day it expires. An expired exception no longer
//! applies, and the audit says so.
//!
//! ```toml
//! [[exception]]
//! advisory = "CVE-2026-0001"
//! versions = ["airbyte-python-connector-base"]
//! reason = "the vulnerable code is never called by connectors"
//! expires = "2027-01-31"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::finding::Finding;
use crate::{Error, ImageKey};

/// The file's name, at the workspace root.
pub const FILE_NAME: &str = "audit.toml";

/// One accepted finding.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    /// The advisory id (any id of the finding or its aliases).
    pub advisory: String,
    /// The versions it applies to.
    #[serde(deserialize_with = "one_or_many")]
    pub versions: Vec<String>,
    /// Why it is accepted.
    pub reason: String,
    /// The last day it applies (`YYYY-MM-DD`).
    pub expires: String,
}

/// Every exception of a workspace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exceptions {
    /// The file they came from.
    pub path: PathBuf,
    /// The entries, in file order.
    pub entries: Vec<Exception>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    exception: Vec<Exception>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// What the exceptions say of one finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// No exception names it.
    Open,
    /// An exception applies.
    Accepted(&'a Exception),
    /// An exception names it but expired: it does not apply.
    Expired(&'a Exception),
}

impl Exceptions {
    /// Reads `path`; no file means no exceptions.
    pub fn read(path: &Path) -> Result<Exceptions, Error> {
        match crate::fsio::read_optional(path)? {
            Some(text) => Exceptions::parse(&text, path),
            None => Ok(Exceptions {
                path: path.to_owned(),
                entries: Vec::new(),
            }),
        }
    }

    /// Parses the file's text; every entry must have a valid expiry day and
    /// select versions that exist.
    pub fn parse(text: &str, path: &Path) -> Result<Exceptions, Error> {
        let bad = |message: String| Error::FileFormat {
            path: path.to_owned(),
            message,
        };
        let file: File = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        for (n, entry) in file.exception.iter().enumerate() {
            let which = format!("exception {} ({})", n + 1, entry.advisory);
            if !is_day(&entry.expires) {
                return Err(bad(format!(
                    "{which}: expires = \"{}\" is not a day; write YYYY-MM-DD",
                    entry.expires
                )));
            }
            if entry.reason.trim().is_empty() || entry.versions.is_empty() {
                return Err(bad(format!("{which}: give a reason and the versions it applies to")));
            }
            if let Some(unknown) = entry.versions.iter().find(|s| !selector_exists(s)) {
                return Err(bad(format!(
                    "{which}: `{unknown}` selects no version; write `*`, a family, family:version or family:latest"
                )));
            }
        }
        Ok(Exceptions {
            path: path.to_owned(),
            entries: file.exception,
        })
    }

    /// What the exceptions say of `finding` in `version` (none for an SBOM
    /// file: only `*` exceptions apply to it) on `today` (`YYYY-MM-DD`).
    pub fn verdict(&self, finding: &Finding, version: Option<&ImageKey>, today: &str) -> Verdict<'_> {
        let mut expired = None;
        for entry in &self.entries {
            let names = finding.ids().any(|id| id == entry.advisory);
            if !names || !entry.versions.iter().any(|s| selects(s, version)) {
                continue;
            }
            if entry.expires.as_str() >= today {
                return Verdict::Accepted(entry);
            }
            expired.get_or_insert(entry);
        }
        expired.map_or(Verdict::Open, Verdict::Expired)
    }
}

/// Today, `YYYY-MM-DD` (UTC).
pub fn today() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()[..10].to_owned()
}

fn is_day(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && humantime::parse_rfc3339(&format!("{text}T00:00:00Z")).is_ok()
}

fn selector_exists(selector: &str) -> bool {
    selector == "*"
        || if selector.contains(':') {
            crate::get(selector).is_ok()
        } else {
            !crate::registry::versions_of(selector).is_empty()
        }
}

fn selects(selector: &str, version: Option<&ImageKey>) -> bool {
    match (selector, version) {
        ("*", _) => true,
        (_, None) => false,
        (selector, Some(key)) if !selector.contains(':') => key.family() == selector,
        (selector, Some(key)) => crate::get(selector).is_ok_and(|image| image.key() == *key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::Rating;

    const FAMILY: &str = "airbyte-python-connector-base";

    fn finding() -> Finding {
        super::super::finding::test_finding(Some("2.36-10"), Rating::default())
    }

    fn exceptions(text: &str) -> Result<Exceptions, Error> {
        Exceptions::parse(text, Path::new("audit.toml"))
    }

    fn key(text: &str) -> ImageKey {
        text.parse().expect("a key")
    }

    #[test]
    fn an_exception_applies_by_alias_and_selector_until_it_expires() -> Result<(), Error> {
        let file = exceptions(&format!(
            "[[exception]]\nadvisory = \"DSA-5000-1\"\nversions = \"{FAMILY}\"\nreason = \"not reachable\"\nexpires = \"2027-01-31\"\n"
        ))?;
        let version = key(&format!("{FAMILY}:1.0.0"));
        assert!(matches!(
            file.verdict(&finding(), Some(&version), "2027-01-31"),
            Verdict::Accepted(e) if e.reason == "not reachable"
        ));
        assert!(matches!(
            file.verdict(&finding(), Some(&version), "2027-02-01"),
            Verdict::Expired(e) if e.expires == "2027-01-31"
        ));
        let other = key("airbyte-java-connector-base:1.0.0");
        assert_eq!(file.verdict(&finding(), Some(&other), "2026-01-01"), Verdict::Open);
        assert_eq!(
            file.verdict(&finding(), None, "2026-01-01"),
            Verdict::Open,
            "an SBOM file"
        );
        Ok(())
    }

    #[test]
    fn a_star_applies_everywhere_and_a_later_live_entry_wins_over_an_expired_one() -> Result<(), Error> {
        let file = exceptions(
            "[[exception]]\nadvisory = \"CVE-2026-0001\"\nversions = [\"*\"]\nreason = \"old\"\nexpires = \"2020-01-01\"\n\n\
             [[exception]]\nadvisory = \"CVE-2026-0001\"\nversions = [\"*\"]\nreason = \"renewed\"\nexpires = \"2030-01-01\"\n",
        )?;
        assert!(matches!(file.verdict(&finding(), None, "2026-12-03"), Verdict::Accepted(e) if e.reason == "renewed"));
        Ok(())
    }

    #[test]
    fn malformed_entries_are_refused_naming_the_entry() {
        let cases = [
            ("expires = \"next year\"", "is not a day"),
            ("expires = \"2027-02-30\"", "is not a day"),
            ("expires = \"2027-01-01\"\nowner = \"me\"", "unknown field"),
        ];
        for (tail, expected) in cases {
            let text = format!("[[exception]]\nadvisory = \"CVE-1\"\nversions = \"*\"\nreason = \"r\"\n{tail}\n");
            let error = exceptions(&text).expect_err(tail).to_string();
            assert!(
                error.contains(expected) && error.contains("audit.toml"),
                "{tail}: {error}"
            );
        }
        let error = exceptions(
            "[[exception]]\nadvisory = \"CVE-1\"\nversions = []\nreason = \" \"\nexpires = \"2027-01-01\"\n",
        )
        .expect_err("no reason")
        .to_string();
        assert!(
            error.contains("exception 1 (CVE-1): give a reason and the versions it applies to"),
            "{error}"
        );
        let error = exceptions(
            "[[exception]]\nadvisory = \"CVE-1\"\nversions = \"no-such-family\"\nreason = \"r\"\nexpires = \"2027-01-01\"\n",
        )
        .expect_err("unknown family")
        .to_string();
        assert!(error.contains("`no-such-family` selects no version"), "{error}");
        let error = exceptions("[[exception]]\nadvisory = \"CVE-1\"\nversions = \"*\"\nreason = \"r\"\n")
            .expect_err("no expiry")
            .to_string();
        assert!(error.contains("expires"), "{error}");
    }

    #[test]
    fn no_file_is_no_exceptions() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: ".".into(),
            source,
        })?;
        assert!(Exceptions::read(&dir.path().join(FILE_NAME))?.entries.is_empty());
        assert_eq!(today().len(), 10);
        Ok(())
    }
}
