//! Each ecosystem's own version ordering, from the crates that implement
//! it: dpkg's for Debian and Ubuntu (`debversion`), PEP 440 for PyPI
//! (`pep440_rs`), rpm's `rpmvercmp` for the RPM distributions
//! (`rpm-version`), and semver for `SEMVER` ranges. A version the scheme
//! cannot parse compares as nothing (`None`), never as equal.

use std::cmp::Ordering;
use std::str::FromStr as _;

/// How one ecosystem orders its versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// dpkg's ordering (`epoch:upstream-revision`, `~` before everything).
    Debian,
    /// PEP 440 (pre, post, dev releases, local versions).
    Pep440,
    /// rpm's `[epoch:]version-release` ordering.
    Rpm,
    /// Semantic Versioning 2.0.0.
    Semver,
}

/// The ecosystems whose packages are RPMs (OSV names, before any `:`).
const RPM_ECOSYSTEMS: [&str; 6] = ["Red Hat", "AlmaLinux", "Rocky Linux", "openSUSE", "SUSE", "Mageia"];

impl Scheme {
    /// The scheme of an OSV ecosystem (`Debian:12`, `PyPI`, `Red Hat:…`),
    /// if it is one this tool orders.
    pub fn of_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        match base {
            "Debian" | "Ubuntu" => Some(Scheme::Debian),
            "PyPI" => Some(Scheme::Pep440),
            base if RPM_ECOSYSTEMS.contains(&base) => Some(Scheme::Rpm),
            _ => None,
        }
    }

    /// How `a` compares with `b`; `None` when either is not a version of
    /// this scheme.
    pub fn compare(self, a: &str, b: &str) -> Option<Ordering> {
        match self {
            Scheme::Debian => {
                let a = debversion::Version::from_str(a).ok()?;
                let b = debversion::Version::from_str(b).ok()?;
                Some(a.cmp(&b))
            }
            Scheme::Pep440 => {
                let a = pep440_rs::Version::from_str(a).ok()?;
                let b = pep440_rs::Version::from_str(b).ok()?;
                Some(a.cmp(&b))
            }
            Scheme::Rpm => (!a.is_empty() && !b.is_empty()).then(|| rpm_version::rpm_evr_compare(a, b)),
            Scheme::Semver => {
                let a = semver::Version::parse(a.trim_start_matches('v')).ok()?;
                let b = semver::Version::parse(b.trim_start_matches('v')).ok()?;
                Some(a.cmp_precedence(&b))
            }
        }
    }

    /// Whether `version` parses in this scheme.
    pub fn parses(self, version: &str) -> bool {
        self.compare(version, version).is_some()
    }
}

/// A Python distribution's name as PEP 503 compares it: lowercase, every
/// run of `-`, `_` and `.` one `-`.
pub fn normalize_pypi(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
            continue;
        }
        if separator && !out.is_empty() {
            out.push('-');
        }
        separator = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    fn ordered(scheme: Scheme, pairs: &[(&str, &str, Ordering)]) {
        for (a, b, expected) in pairs {
            assert_eq!(scheme.compare(a, b), Some(*expected), "{scheme:?}: {a} vs {b}");
        }
    }

    #[test]
    fn debian_orders_epochs_tildes_and_stable_updates_as_dpkg_does() {
        ordered(
            Scheme::Debian,
            &[
                // An epoch outranks everything after it.
                ("1:1.0-1", "9.9-9", Greater),
                ("1:2.36-9", "2:0.1", Less),
                // `~` sorts before everything, even the end of the string.
                ("1.0~rc1-1", "1.0-1", Less),
                ("2.36-9~deb12u1", "2.36-9", Less),
                // Stable updates sort after the release they update.
                ("2.36-9+deb12u4", "2.36-9", Greater),
                ("2.36-9+deb12u4", "2.36-9+deb12u10", Less),
                ("23.0.1+dfsg-1", "23.0.1+dfsg-1", Equal),
                ("2024a-0+deb12u1", "2024b-0+deb12u1", Less),
                // No epoch is epoch 0.
                ("0:1.2-3", "1.2-3", Equal),
            ],
        );
        assert_eq!(Scheme::Debian.compare("1.0", "not a version!"), None);
    }

    #[test]
    fn pep440_orders_pre_post_dev_and_local_releases() {
        ordered(
            Scheme::Pep440,
            &[
                ("1.0.dev0", "1.0a1", Less),
                ("1.0a1", "1.0b2", Less),
                ("1.0rc1", "1.0", Less),
                ("1.0", "1.0.post1", Less),
                ("1.0.post1.dev0", "1.0.post1", Less),
                ("1.0", "1.0+local.7", Less),
                ("1.16.0", "1.17.0", Less),
                ("23.0.1", "23.0", Greater),
                ("1!0.1", "2.0", Greater),
                ("1.0", "1.0.0", Equal),
                ("v1.0", "1.0", Equal),
            ],
        );
        assert_eq!(Scheme::Pep440.compare("1.0", "one"), None);
    }

    #[test]
    fn rpm_orders_epochs_tildes_and_carets_as_rpm_does() {
        ordered(
            Scheme::Rpm,
            &[
                ("1.2.3-4", "1.2.3-5", Less),
                ("2:1.0-1", "1:9.9-1", Greater),
                ("1.0~rc1-1", "1.0-1", Less),
                ("1.0^git1-1", "1.0-1", Greater),
                ("5.2.15-1.amzn2023.0.2", "5.2.15-1.amzn2023.0.10", Less),
            ],
        );
    }

    #[test]
    fn ecosystems_map_to_their_schemes() {
        assert_eq!(Scheme::of_ecosystem("Debian:12"), Some(Scheme::Debian));
        assert_eq!(Scheme::of_ecosystem("PyPI"), Some(Scheme::Pep440));
        assert_eq!(
            Scheme::of_ecosystem("Red Hat:enterprise_linux:9::appstream"),
            Some(Scheme::Rpm)
        );
        assert_eq!(Scheme::of_ecosystem("AlmaLinux:9"), Some(Scheme::Rpm));
        assert_eq!(Scheme::of_ecosystem("npm"), None);
    }

    #[test]
    fn pypi_names_normalise_as_pep_503_says() {
        assert_eq!(normalize_pypi("Typing_Extensions"), "typing-extensions");
        assert_eq!(normalize_pypi("zope.interface"), "zope-interface");
        assert_eq!(normalize_pypi("A--B__c..D"), "a-b-c-d");
        assert_eq!(normalize_pypi("six"), "six");
    }
}
