//! One [`Finding`]: a vulnerability of one package, with what the gate and
//! the reports ask of it.

use crate::advisory::{Rating, Severity};

/// One vulnerability of one package.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The OSV ecosystem the package was matched in.
    pub ecosystem: String,
    /// The package as advisories name it (a Debian source package).
    pub package: String,
    /// The installed packages it stands for (Debian's binary packages).
    pub installed_packages: Vec<String>,
    /// The version matched.
    pub installed: String,
    /// The advisory id shown (a CVE id when the group has one).
    pub advisory: String,
    /// Every other id of the same vulnerability among the matched records.
    pub aliases: Vec<String>,
    /// The highest severity of the matched records.
    pub rating: Rating,
    /// The version that fixes it for this package, if one is known.
    pub fixed: Option<String>,
    /// A one-line summary, if a record has one.
    pub summary: Option<String>,
}

impl Finding {
    /// Its id and aliases.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.advisory.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// Whether it has a fix and is at or above `threshold`.
    pub fn fails(&self, threshold: Severity) -> bool {
        self.fixed.is_some() && self.rating.severity >= threshold && self.rating.severity != Severity::Unknown
    }

    /// One line: `glibc (libc6) 2.36-9: CVE-…, DSA-… (high (7.5)), fixed in 2.36-10`.
    pub fn describe(&self) -> String {
        format!(
            "{} {}: {} ({}), {}",
            self.package_label(),
            self.installed,
            self.ids().collect::<Vec<_>>().join(", "),
            self.rating.describe(),
            self.fixed
                .as_deref()
                .map_or_else(|| "no fix known".to_owned(), |f| format!("fixed in {f}"))
        )
    }

    /// `glibc (libc-bin, libc6)`, or the package alone when it is its own.
    pub fn package_label(&self) -> String {
        if self.installed_packages.len() == 1 && self.installed_packages[0] == self.package {
            self.package.clone()
        } else {
            format!("{} ({})", self.package, self.installed_packages.join(", "))
        }
    }
}

/// A glibc finding for unit tests: CVE-2026-0001 (alias DSA-5000-1),
/// 2.36-9 installed, `fixed` and `rating` as given.
#[cfg(test)]
pub(crate) fn test_finding(fixed: Option<&str>, rating: Rating) -> Finding {
    Finding {
        ecosystem: "Debian:12".into(),
        package: "glibc".into(),
        installed_packages: vec!["libc6".into()],
        installed: "2.36-9".into(),
        advisory: "CVE-2026-0001".into(),
        aliases: vec!["DSA-5000-1".into()],
        rating,
        fixed: fixed.map(str::to_owned),
        summary: Some("glibc: a buffer overflow".into()),
    }
}
