//! The [`Database`] of advisory records, indexed by package: which records
//! affect one installed version, each range evaluated in its ecosystem's
//! ordering, withdrawn records never matching, aliases grouped.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use super::ordering::{normalize_pypi, Scheme};
use super::severity::{self, Rating, Severity};

/// A record that was not read: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The file (`archive.zip!entry.json` inside an archive).
    pub file: String,
    /// Why it was skipped.
    pub why: String,
}

/// One advisory record, as much of it as matching and reporting use.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Its id (`CVE-…`, `DSA-…`, `GHSA-…`, `PYSEC-…`).
    pub id: String,
    /// The ids it names as the same vulnerability (`aliases`, and its one
    /// `upstream` id when it has exactly one).
    pub aliases: Vec<String>,
    /// Its one-line summary, if it has one.
    pub summary: Option<String>,
    /// Its severity (the record's own; an affected package may have another).
    pub rating: Rating,
}

/// One range of an affected package, its events sorted as written.
#[derive(Clone, Debug, PartialEq)]
struct Range {
    /// `Some(Semver)` for a `SEMVER` range, else the ecosystem's scheme.
    scheme: Option<Scheme>,
    events: Vec<Event>,
}

/// An OSV range event.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl Event {
    fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

/// One package one record affects.
#[derive(Clone, Debug, PartialEq)]
struct Affected {
    record: usize,
    ecosystem: String,
    ranges: Vec<Range>,
    versions: Vec<String>,
    rating: Option<Rating>,
}

/// A record that affects an installed version.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit<'a> {
    /// The record.
    pub record: &'a Record,
    /// The lowest version above the installed one that fixes it, if any.
    pub fixed: Option<String>,
    /// The severity for this package.
    pub rating: Rating,
    /// The alias group: hits with the same group are one vulnerability.
    pub group: usize,
}

/// Every loaded record, indexed by package name.
#[derive(Debug, Default)]
pub struct Database {
    records: Vec<Record>,
    by_name: HashMap<String, Vec<Affected>>,
    ecosystems: BTreeSet<String>,
    group_of: HashMap<String, usize>,
    parents: Vec<usize>,
    /// Files (or archive entries) that were read.
    pub files: usize,
    /// Records that are withdrawn (read, never matched).
    pub withdrawn: usize,
    /// Records that could not be read: where and why.
    pub skipped: Vec<Skipped>,
}

impl Database {
    /// How many records can match (read, not withdrawn).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record can match.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Adds one OSV record.
    pub fn add(&mut self, vulnerability: osv::schema::Vulnerability) {
        if vulnerability.withdrawn.is_some() {
            self.withdrawn += 1;
            return;
        }
        let index = self.records.len();
        let mut aliases: Vec<String> = vulnerability.aliases.clone().unwrap_or_default();
        // `upstream` names what a record was derived from: one id (Debian's
        // DEBIAN-CVE-… records) is the same vulnerability; several (a DSA
        // fixing many CVEs) are not one another's aliases.
        if let Some([upstream]) = vulnerability.upstream.as_deref() {
            aliases.push(upstream.clone());
        }
        aliases.retain(|a| a != &vulnerability.id);
        aliases.sort();
        aliases.dedup();
        self.join_group(&vulnerability.id, &aliases);
        let rating = severity::rate(
            vulnerability.severity.as_deref().unwrap_or_default(),
            vulnerability.database_specific.as_ref(),
        );
        for affected in vulnerability.affected.iter().flatten() {
            self.add_affected(index, affected);
        }
        self.records.push(Record {
            id: vulnerability.id,
            aliases,
            summary: vulnerability.summary,
            rating,
        });
    }

    /// Indexes one `affected` entry of record `index`.
    fn add_affected(&mut self, index: usize, affected: &osv::schema::Affected) {
        let Some(package) = &affected.package else {
            return;
        };
        let ecosystem = ecosystem_name(&package.ecosystem);
        let ranges = affected
            .ranges
            .iter()
            .flatten()
            .filter_map(|range| {
                let scheme = match range.range_type {
                    osv::schema::RangeType::Ecosystem => None,
                    osv::schema::RangeType::Semver => Some(Scheme::Semver),
                    _ => return None,
                };
                let events = range.events.iter().filter_map(event).collect();
                Some(Range { scheme, events })
            })
            .collect();
        let severities = affected.severity.as_deref().unwrap_or_default();
        let rating = (!severities.is_empty() || affected.database_specific.is_some())
            .then(|| severity::rate(severities, affected.database_specific.as_ref()))
            .filter(|r| r.severity != Severity::Unknown);
        self.ecosystems.insert(ecosystem.clone());
        self.by_name
            .entry(package_key(&ecosystem, &package.name))
            .or_default()
            .push(Affected {
                record: index,
                ecosystem,
                ranges,
                versions: affected.versions.clone().unwrap_or_default(),
                rating,
            });
    }

    /// Puts `id` and `aliases` in one group, merging the groups they had.
    fn join_group(&mut self, id: &str, aliases: &[String]) {
        let mut root = None;
        for name in std::iter::once(id).chain(aliases.iter().map(String::as_str)) {
            let group = match self.group_of.get(name) {
                Some(&group) => self.find(group),
                None => {
                    let group = self.parents.len();
                    self.parents.push(group);
                    self.group_of.insert(name.to_owned(), group);
                    group
                }
            };
            match root {
                None => root = Some(group),
                Some(root) if root != group => self.parents[group] = root,
                Some(_) => {}
            }
        }
    }

    /// The root of `group`'s alias group.
    fn find(&self, mut group: usize) -> usize {
        while self.parents[group] != group {
            group = self.parents[group];
        }
        group
    }

    /// The alias group of an advisory id, if it was loaded.
    pub fn group(&self, id: &str) -> Option<usize> {
        self.group_of.get(id).map(|&g| self.find(g))
    }

    /// Whether any record speaks of packages in `ecosystem` (`Debian:12`
    /// covers `Debian:12`; `Red Hat:enterprise_linux:9` covers
    /// `Red Hat:enterprise_linux:9::appstream`).
    pub fn covers(&self, ecosystem: &str) -> bool {
        self.ecosystems
            .range(ecosystem.to_owned()..)
            .take_while(|e| e.starts_with(ecosystem))
            .any(|e| ecosystem_matches(e, ecosystem))
    }

    /// The records that affect `version` of package `name` in `ecosystem`,
    /// and a note for each range that could not be evaluated.
    pub fn affecting(&self, ecosystem: &str, name: &str, version: &str) -> (Vec<Hit<'_>>, Vec<String>) {
        let mut hits = Vec::new();
        let mut notes = Vec::new();
        let Some(scheme) = Scheme::of_ecosystem(ecosystem) else {
            return (hits, notes);
        };
        for affected in self.by_name.get(&package_key(ecosystem, name)).into_iter().flatten() {
            if !ecosystem_matches(&affected.ecosystem, ecosystem) {
                continue;
            }
            let record = &self.records[affected.record];
            match evaluate(affected, scheme, version) {
                Ok(Some(fixed)) => hits.push(Hit {
                    record,
                    fixed,
                    rating: affected.rating.unwrap_or(record.rating),
                    group: self.group(&record.id).unwrap_or(affected.record),
                }),
                Ok(None) => {}
                Err(why) => notes.push(format!("{} ({name}): {why}; that range was not evaluated", record.id)),
            }
        }
        (hits, notes)
    }
}

/// Whether a record's ecosystem (`have`) speaks of packages in `wanted`.
fn ecosystem_matches(have: &str, wanted: &str) -> bool {
    have == wanted || have.strip_prefix(wanted).is_some_and(|rest| rest.starts_with(':'))
}

/// The index key of a package: PyPI names compare normalised.
fn package_key(ecosystem: &str, name: &str) -> String {
    if ecosystem == "PyPI" {
        normalize_pypi(name)
    } else {
        name.to_owned()
    }
}

/// An ecosystem as OSV spells it (`Debian:12`).
fn ecosystem_name(ecosystem: &osv::schema::Ecosystem) -> String {
    match serde_json::to_value(ecosystem) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{ecosystem:?}"),
    }
}

fn event(event: &osv::schema::Event) -> Option<Event> {
    Some(match event {
        osv::schema::Event::Introduced(v) => Event::Introduced(v.clone()),
        osv::schema::Event::Fixed(v) => Event::Fixed(v.clone()),
        osv::schema::Event::LastAffected(v) => Event::LastAffected(v.clone()),
        osv::schema::Event::Limit(v) => Event::Limit(v.clone()),
        _ => return None,
    })
}

/// Whether `version` is affected: `Ok(Some(fix))` if so (`fix` the lowest
/// fixed version above it, if any), `Ok(None)` if not.
fn evaluate(affected: &Affected, scheme: Scheme, version: &str) -> Result<Option<Option<String>>, String> {
    let listed = affected
        .versions
        .iter()
        .any(|v| v == version || scheme.compare(v, version) == Some(Ordering::Equal));
    // Every range (and the versions list) that affects `version` must be
    // fixed for the package to have a fix: one without a fix means none.
    let mut result = listed.then_some(None);
    for range in &affected.ranges {
        if let Some(fixed) = in_range(range.scheme.unwrap_or(scheme), &range.events, version)? {
            result = Some(match result {
                None => fixed,
                Some(None) => None,
                Some(Some(a)) => fixed.map(|b| highest(range.scheme.unwrap_or(scheme), a, b)),
            });
        }
    }
    Ok(result)
}

fn highest(scheme: Scheme, a: String, b: String) -> String {
    if scheme.compare(&a, &b) == Some(Ordering::Less) {
        b
    } else {
        a
    }
}

/// The OSV range evaluation: events in version order (`introduced: 0`
/// first); an introduced version at or below `version` turns it on, a fixed
/// version at or below it (or a last affected one below it) turns it off; a
/// limit at or below it puts it outside the range.
fn in_range(scheme: Scheme, events: &[Event], version: &str) -> Result<Option<Option<String>>, String> {
    let compare = |a: &str, b: &str| -> Result<Ordering, String> {
        if a == "0" {
            return Ok(if b == "0" { Ordering::Equal } else { Ordering::Less });
        }
        if b == "0" {
            return Ok(Ordering::Greater);
        }
        scheme
            .compare(a, b)
            .ok_or_else(|| format!("`{a}` or `{b}` is not a {scheme:?} version"))
    };
    // Every version must parse before sorting: a comparator that cannot
    // order two of them is not a total order, and sorting may panic on one.
    if let Some(bad) = std::iter::once(version)
        .chain(events.iter().map(Event::version))
        .find(|v| *v != "0" && !scheme.parses(v))
    {
        return Err(format!("`{bad}` is not a {scheme:?} version"));
    }
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by(|a, b| compare(a.version(), b.version()).unwrap_or(Ordering::Equal));
    let mut affected = false;
    for event in &sorted {
        let at = compare(event.version(), version)?;
        match event {
            Event::Introduced(_) if at != Ordering::Greater => affected = true,
            Event::Fixed(_) if at != Ordering::Greater => affected = false,
            Event::LastAffected(_) if at == Ordering::Less => affected = false,
            Event::Limit(_) if at != Ordering::Greater => return Ok(None),
            _ => {}
        }
    }
    if !affected {
        return Ok(None);
    }
    let mut fixes = sorted.iter().filter(|e| matches!(e, Event::Fixed(_)));
    let fix = fixes.find(|e| compare(e.version(), version).is_ok_and(|o| o == Ordering::Greater));
    Ok(Some(fix.map(|e| e.version().to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: serde_json::Value) -> osv::schema::Vulnerability {
        serde_json::from_value(json).expect("an OSV record")
    }

    fn debian(id: &str, name: &str, events: serde_json::Value) -> osv::schema::Vulnerability {
        record(serde_json::json!({
            "id": id, "modified": "2026-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}]}]
        }))
    }

    fn fixes(db: &Database, ecosystem: &str, name: &str, version: &str) -> Vec<(String, Option<String>)> {
        let (hits, notes) = db.affecting(ecosystem, name, version);
        assert!(notes.is_empty(), "{notes:?}");
        hits.into_iter().map(|h| (h.record.id.clone(), h.fixed)).collect()
    }

    #[test]
    fn introduced_and_fixed_bound_the_affected_versions() {
        let mut db = Database::default();
        db.add(debian(
            "DSA-1",
            "glibc",
            serde_json::json!([{"introduced": "0"}, {"fixed": "2.36-9+deb12u7"}]),
        ));
        assert_eq!(
            fixes(&db, "Debian:12", "glibc", "2.36-9+deb12u4"),
            [("DSA-1".to_owned(), Some("2.36-9+deb12u7".to_owned()))]
        );
        assert!(fixes(&db, "Debian:12", "glibc", "2.36-9+deb12u7").is_empty(), "fixed");
        assert!(
            fixes(&db, "Debian:12", "glibc", "2.36-9+deb12u10").is_empty(),
            "above the fix"
        );
        assert!(
            fixes(&db, "Debian:11", "glibc", "2.31-13").is_empty(),
            "another release"
        );
        assert!(
            fixes(&db, "Debian:12", "libc6", "2.36-9+deb12u4").is_empty(),
            "binary name"
        );
    }

    #[test]
    fn an_epoch_in_a_fix_outranks_any_version_without_one() {
        let mut db = Database::default();
        db.add(debian(
            "DSA-2",
            "tzdata",
            serde_json::json!([{"introduced": "0"}, {"fixed": "1:2020a-1"}]),
        ));
        assert_eq!(fixes(&db, "Debian:12", "tzdata", "2026f-0+deb12u1").len(), 1);
    }

    #[test]
    fn several_ranges_and_reintroductions_are_honoured() {
        let mut db = Database::default();
        db.add(record(serde_json::json!({
            "id": "PYSEC-1", "modified": "2026-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "Six"},
                "ranges": [{"type": "ECOSYSTEM", "events": [
                    {"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "1.5"}, {"fixed": "1.17.0"}]}]}]
        })));
        assert_eq!(fixes(&db, "PyPI", "six", "1.1").len(), 1);
        assert!(fixes(&db, "PyPI", "six", "1.3").is_empty());
        assert_eq!(
            fixes(&db, "PyPI", "SIX", "1.16.0"),
            [("PYSEC-1".to_owned(), Some("1.17.0".to_owned()))]
        );
        assert!(fixes(&db, "PyPI", "six", "0.9").is_empty());
    }

    #[test]
    fn last_affected_limit_and_versions_lists() {
        let mut db = Database::default();
        db.add(debian(
            "DEBIAN-CVE-1",
            "zlib",
            serde_json::json!([{"introduced": "0"}, {"last_affected": "1:1.2.13.dfsg-1"}]),
        ));
        assert_eq!(
            fixes(&db, "Debian:12", "zlib", "1:1.2.13.dfsg-1"),
            [("DEBIAN-CVE-1".to_owned(), None)]
        );
        assert!(fixes(&db, "Debian:12", "zlib", "1:1.2.13.dfsg-2").is_empty());
        db.add(debian(
            "DEBIAN-CVE-2",
            "perl",
            serde_json::json!([{"introduced": "5.30"}, {"limit": "5.36.0-7"}]),
        ));
        assert_eq!(fixes(&db, "Debian:12", "perl", "5.32.1-4").len(), 1);
        assert!(
            fixes(&db, "Debian:12", "perl", "5.36.0-7+deb12u1").is_empty(),
            "at the limit"
        );
        db.add(record(serde_json::json!({
            "id": "GHSA-x", "modified": "2026-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"}, "versions": ["2.31.0", "2.30.0"]}]
        })));
        assert_eq!(fixes(&db, "PyPI", "requests", "2.31.0"), [("GHSA-x".to_owned(), None)]);
        assert!(fixes(&db, "PyPI", "requests", "2.32.0").is_empty());
    }

    #[test]
    fn a_dsa_fixing_several_cves_does_not_make_them_one() {
        let mut db = Database::default();
        let mut dsa = debian(
            "DSA-5",
            "curl",
            serde_json::json!([{"introduced": "0"}, {"fixed": "9"}]),
        );
        dsa.upstream = Some(vec!["CVE-2026-10".into(), "CVE-2026-11".into()]);
        let mut derived = debian("DEBIAN-CVE-2026-10", "curl", serde_json::json!([{"introduced": "0"}]));
        derived.upstream = Some(vec!["CVE-2026-10".into()]);
        db.add(dsa);
        db.add(derived);
        assert_ne!(db.group("CVE-2026-10"), db.group("CVE-2026-11"));
        assert_ne!(db.group("DSA-5"), db.group("CVE-2026-10"));
        assert_eq!(db.group("DEBIAN-CVE-2026-10"), db.group("CVE-2026-10"));
    }

    #[test]
    fn a_range_without_a_fix_means_the_package_has_none() {
        let mut db = Database::default();
        db.add(record(serde_json::json!({
            "id": "PYSEC-3", "modified": "2026-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "six"}, "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]},
                {"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}]}]}]
        })));
        assert_eq!(fixes(&db, "PyPI", "six", "1.5"), [("PYSEC-3".to_owned(), None)]);
        assert_eq!(
            fixes(&db, "PyPI", "six", "0.5"),
            [("PYSEC-3".to_owned(), Some("2.0".to_owned()))]
        );
    }

    #[test]
    fn many_events_with_one_bad_version_are_a_note_not_a_panic() {
        let mut events: Vec<serde_json::Value> = (1..30)
            .flat_map(|n| {
                [
                    serde_json::json!({"introduced": format!("{n}.0")}),
                    serde_json::json!({"fixed": format!("{n}.5")}),
                ]
            })
            .collect();
        events.insert(17, serde_json::json!({"fixed": "not a version!"}));
        let mut db = Database::default();
        db.add(record(serde_json::json!({
            "id": "PYSEC-4", "modified": "2026-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "six"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}]}]
        })));
        let (hits, notes) = db.affecting("PyPI", "six", "3.2");
        assert!(hits.is_empty());
        assert!(
            notes[0].contains("`not a version!` is not a Pep440 version"),
            "{notes:?}"
        );
    }

    #[test]
    fn withdrawn_records_never_match() {
        let mut db = Database::default();
        let mut withdrawn = debian("DSA-3", "bash", serde_json::json!([{"introduced": "0"}]));
        withdrawn.withdrawn = withdrawn.published.or(Some(withdrawn.modified));
        db.add(withdrawn);
        assert!(fixes(&db, "Debian:12", "bash", "5.2.15-2").is_empty());
        assert_eq!((db.len(), db.withdrawn), (0, 1));
    }

    #[test]
    fn aliases_fold_into_one_group_whichever_record_came_first() {
        let mut db = Database::default();
        let mut dsa = debian("DSA-9", "openssl", serde_json::json!([{"introduced": "0"}]));
        dsa.aliases = Some(vec!["CVE-2026-1".into()]);
        let mut ghsa = debian("GHSA-9", "openssl", serde_json::json!([{"introduced": "0"}]));
        ghsa.aliases = Some(vec!["CVE-2026-2".into()]);
        let mut cve = debian("CVE-2026-1", "openssl", serde_json::json!([{"introduced": "0"}]));
        cve.aliases = Some(vec!["CVE-2026-2".into()]);
        db.add(dsa);
        db.add(ghsa);
        db.add(cve);
        let (hits, _) = db.affecting("Debian:12", "openssl", "3.0.11-1~deb12u2");
        let groups: BTreeSet<usize> = hits.iter().map(|h| h.group).collect();
        assert_eq!((hits.len(), groups.len()), (3, 1), "{hits:?}");
        assert_eq!(db.group("GHSA-9"), db.group("DSA-9"));
        assert_eq!(db.group("CVE-unknown"), None);
    }

    #[test]
    fn a_version_the_scheme_cannot_read_is_a_note_not_a_match() {
        let mut db = Database::default();
        db.add(record(serde_json::json!({
            "id": "PYSEC-2", "modified": "2026-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "six"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "not/a/version"}]}]}]
        })));
        let (hits, notes) = db.affecting("PyPI", "six", "1.16.0");
        assert!(hits.is_empty());
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("PYSEC-2") && notes[0].contains("not/a/version"),
            "{notes:?}"
        );
    }

    #[test]
    fn coverage_is_by_ecosystem_and_release() {
        let mut db = Database::default();
        db.add(debian("DSA-4", "glibc", serde_json::json!([{"introduced": "0"}])));
        db.add(record(serde_json::json!({
            "id": "RHSA-1", "modified": "2026-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "Red Hat:enterprise_linux:9::appstream", "name": "bash"}}]
        })));
        assert!(db.covers("Debian:12"));
        assert!(!db.covers("Debian:11"));
        assert!(!db.covers("Debian:1"));
        assert!(!db.covers("PyPI"));
        assert!(db.covers("Red Hat:enterprise_linux:9"));
    }

    #[test]
    fn a_package_level_severity_outranks_the_records() {
        let mut db = Database::default();
        db.add(record(serde_json::json!({
            "id": "GHSA-s", "modified": "2026-01-01T00:00:00Z",
            "database_specific": {"severity": "LOW"},
            "affected": [{"package": {"ecosystem": "PyPI", "name": "six"},
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]
        })));
        let (hits, _) = db.affecting("PyPI", "six", "1.0");
        assert_eq!(hits[0].rating.severity, Severity::Critical);
        assert_eq!(hits[0].record.rating.severity, Severity::Low);
    }
}
