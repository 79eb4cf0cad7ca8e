//! Auditing an image: the packages its SBOM lists ([`components`]) matched
//! against an advisory [`Database`], one finding per package and
//! vulnerability (records that alias each other are one finding), with
//! what could not be judged said rather than passed: packages of an
//! ecosystem no advisory covers, and Python distributions judged as the
//! system package that owns them. Exceptions (`audit.toml`) and the SARIF
//! report live beside it ([`exceptions`], [`sarif`]).

pub mod components;
pub mod exceptions;
mod finding;
pub mod sarif;

use std::collections::{BTreeMap, BTreeSet};

pub use components::{from_spdx, Component, Components};
pub use exceptions::{Exception, Exceptions};
pub use finding::Finding;

use crate::advisory::{Database, Hit, Rating, Scheme};

/// What one SBOM's audit found and could not judge.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Audited {
    /// Findings, by package then advisory.
    pub findings: Vec<Finding>,
    /// Packages matched, by ecosystem.
    pub matched: BTreeMap<String, usize>,
    /// Packages of an ecosystem no given advisory covers, by ecosystem.
    pub uncovered: BTreeMap<String, usize>,
    /// Python distributions judged as the system package owning them.
    pub owned: Vec<(String, String)>,
    /// Packages of kinds no advisory speaks of, by purl type.
    pub other: BTreeMap<String, usize>,
    /// Ranges that could not be evaluated.
    pub notes: Vec<String>,
}

/// Matches `components` against `database`.
pub fn audit(components: &Components, database: &Database) -> Audited {
    let mut audited = Audited {
        owned: components.owned.clone(),
        other: components.other.clone(),
        ..Audited::default()
    };
    for component in &components.components {
        if !database.covers(&component.ecosystem) || Scheme::of_ecosystem(&component.ecosystem).is_none() {
            *audited.uncovered.entry(component.ecosystem.clone()).or_default() += 1;
            continue;
        }
        *audited.matched.entry(component.ecosystem.clone()).or_default() += 1;
        let (hits, notes) = database.affecting(&component.ecosystem, &component.name, &component.version);
        audited.notes.extend(notes);
        let mut groups: BTreeMap<usize, Vec<Hit<'_>>> = BTreeMap::new();
        for hit in hits {
            groups.entry(hit.group).or_default().push(hit);
        }
        audited
            .findings
            .extend(groups.into_values().map(|hits| finding(component, &hits)));
    }
    audited
        .findings
        .sort_by(|a, b| (&a.package, &a.advisory).cmp(&(&b.package, &b.advisory)));
    audited
}

/// One finding from the hits of one alias group on one component.
fn finding(component: &Component, hits: &[Hit<'_>]) -> Finding {
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    for hit in hits {
        ids.insert(&hit.record.id);
        ids.extend(hit.record.aliases.iter().map(String::as_str));
    }
    let matched: Vec<&str> = hits.iter().map(|h| h.record.id.as_str()).collect();
    let advisory = ids
        .iter()
        .find(|id| id.starts_with("CVE-"))
        .or_else(|| matched.iter().min())
        .map_or_else(String::new, |id| (*id).to_owned());
    let scheme = Scheme::of_ecosystem(&component.ecosystem);
    let fixed = hits.iter().filter_map(|h| h.fixed.clone()).reduce(|a, b| match scheme {
        Some(s) if s.compare(&a, &b) == Some(std::cmp::Ordering::Less) => b,
        _ => a,
    });
    Finding {
        ecosystem: component.ecosystem.clone(),
        package: component.name.clone(),
        installed_packages: component.packages.iter().cloned().collect(),
        installed: component.version.clone(),
        aliases: ids
            .into_iter()
            .filter(|id| *id != advisory)
            .map(str::to_owned)
            .collect(),
        advisory,
        rating: hits.iter().map(|h| h.rating).fold(Rating::default(), Rating::max),
        fixed,
        summary: hits.iter().find_map(|h| h.record.summary.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::Severity;

    fn database(records: serde_json::Value) -> Database {
        let mut db = Database::default();
        for record in records.as_array().into_iter().flatten() {
            db.add(serde_json::from_value(record.clone()).expect("an OSV record"));
        }
        db
    }

    fn components() -> Components {
        let component = |ecosystem: &str, name: &str, version: &str, packages: &[&str]| Component {
            ecosystem: ecosystem.into(),
            name: name.into(),
            version: version.into(),
            packages: packages.iter().map(|p| (*p).to_owned()).collect(),
        };
        Components {
            components: vec![
                component("Debian:12", "glibc", "2.36-9+deb12u4", &["libc-bin", "libc6"]),
                component("PyPI", "six", "1.16.0", &["six"]),
                component("rpm (amazon 2023)", "bash", "5.2.15-1", &["bash"]),
            ],
            owned: vec![("pip".into(), "python3-pip".into())],
            other: BTreeMap::new(),
        }
    }

    fn glibc(id: &str, aliases: &[&str], fixed: &str, cvss: Option<&str>) -> serde_json::Value {
        let mut record = serde_json::json!({
            "id": id, "modified": "2026-01-01T00:00:00Z", "aliases": aliases,
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "glibc"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]
        });
        if let Some(vector) = cvss {
            record["severity"] = serde_json::json!([{"type": "CVSS_V3", "score": vector}]);
        }
        record
    }

    const HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N";

    #[test]
    fn a_cve_reached_through_a_dsa_and_a_ghsa_is_one_finding() {
        let db = database(serde_json::json!([
            glibc("DSA-5000-1", &["CVE-2026-0001"], "2.36-9+deb12u7", None),
            glibc("GHSA-aaaa-bbbb-cccc", &["CVE-2026-0001"], "2.36-9+deb12u6", Some(HIGH)),
        ]));
        let audited = audit(&components(), &db);
        assert_eq!(audited.findings.len(), 1, "{:?}", audited.findings);
        let finding = &audited.findings[0];
        assert_eq!(finding.advisory, "CVE-2026-0001");
        assert_eq!(finding.aliases, ["DSA-5000-1", "GHSA-aaaa-bbbb-cccc"]);
        assert_eq!(finding.fixed.as_deref(), Some("2.36-9+deb12u7"), "the higher fix");
        assert_eq!(finding.rating.describe(), "high (7.5)");
        assert_eq!(finding.package_label(), "glibc (libc-bin, libc6)");
        assert!(finding.fails(Severity::High) && !finding.fails(Severity::Critical));
    }

    #[test]
    fn uncovered_ecosystems_and_owned_distributions_are_counted_not_passed() {
        let db = database(serde_json::json!([glibc("DSA-1", &[], "2.36-9+deb12u7", None)]));
        let audited = audit(&components(), &db);
        assert_eq!(audited.matched, BTreeMap::from([("Debian:12".to_owned(), 1)]));
        assert_eq!(
            audited.uncovered,
            BTreeMap::from([("PyPI".to_owned(), 1), ("rpm (amazon 2023)".to_owned(), 1)])
        );
        assert_eq!(audited.owned.len(), 1);
        let finding = &audited.findings[0];
        assert_eq!(finding.rating.severity, Severity::Unknown);
        assert!(!finding.fails(Severity::Low), "an unknown severity never fails a gate");
    }

    #[test]
    fn a_finding_without_a_fix_never_fails() {
        let mut record = glibc("DEBIAN-CVE-2026-2", &[], "x", Some(HIGH));
        record["affected"][0]["ranges"][0]["events"] = serde_json::json!([{"introduced": "0"}]);
        let audited = audit(&components(), &database(serde_json::json!([record])));
        assert_eq!(audited.findings[0].fixed, None);
        assert!(!audited.findings[0].fails(Severity::Low));
    }
}
