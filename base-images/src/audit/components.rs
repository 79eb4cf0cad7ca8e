//! The packages of an SPDX 2.2 or 2.3 JSON document (ours, or one syft or
//! Trivy wrote), as advisories name them: read from each package's purl,
//! Debian packages by their source package (the purl's `upstream`
//! qualifier as syft writes it, or Trivy's `built package from:` source
//! info) in `Debian:<release>`, Python distributions by their normalised
//! name in `PyPI`, RPM packages in the OSV ecosystem of their
//! distribution. A Python distribution that a system package owns (our
//! `CONTAINS` from that package, syft's `ownership-by-file-overlap`) is
//! left to that package's advisories: distributions backport fixes.

use std::collections::{BTreeMap, BTreeSet};

use packageurl::PackageUrl;
use serde::Deserialize;

use crate::advisory::normalize_pypi;

/// One package to match, as advisories name it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Component {
    /// The OSV ecosystem (`Debian:12`, `PyPI`, `AlmaLinux:9`), or how the
    /// SBOM names a kind no OSV ecosystem covers (`rpm (amzn 2023)`).
    pub ecosystem: String,
    /// The name advisories use (a Debian source package, a normalised
    /// Python name, an RPM name).
    pub name: String,
    /// The version advisories compare (the source package's for Debian).
    pub version: String,
    /// The installed packages it stands for (Debian's binary packages).
    pub packages: BTreeSet<String>,
}

/// What an SBOM holds to audit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Components {
    /// Every package to match, once each.
    pub components: Vec<Component>,
    /// Python distributions judged as the system package that owns them:
    /// (distribution, owner).
    pub owned: Vec<(String, String)>,
    /// Packages with a purl of a kind no advisory speaks of (`generic`,
    /// `npm` …), by purl type.
    pub other: BTreeMap<String, usize>,
}

/// The part of an SPDX JSON document read here (every field optional but
/// the version, so other tools' documents read too).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxView {
    spdx_version: String,
    #[serde(default)]
    packages: Vec<PackageView>,
    #[serde(default)]
    relationships: Vec<RelationshipView>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackageView {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    #[serde(default)]
    source_info: Option<String>,
    #[serde(default)]
    external_refs: Vec<RefView>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefView {
    reference_type: String,
    reference_locator: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RelationshipView {
    spdx_element_id: String,
    relationship_type: String,
    related_spdx_element: String,
    #[serde(default)]
    comment: Option<String>,
}

/// The components of the SPDX JSON document `bytes`; an error says why it
/// is not one.
pub fn from_spdx(bytes: &[u8]) -> Result<Components, String> {
    let view: SpdxView = serde_json::from_slice(bytes).map_err(|e| format!("not an SPDX JSON document: {e}"))?;
    if !matches!(view.spdx_version.as_str(), "SPDX-2.2" | "SPDX-2.3") {
        return Err(format!(
            "{} is not SPDX-2.2 or SPDX-2.3 (the versions read)",
            view.spdx_version
        ));
    }
    let owners = owners(&view);
    let mut found = Components::default();
    let mut by_key: BTreeMap<(String, String, String), Component> = BTreeMap::new();
    for package in &view.packages {
        let Some(purl) = package
            .external_refs
            .iter()
            .find(|r| r.reference_type == "purl")
            .and_then(|r| r.reference_locator.parse::<PackageUrl>().ok())
        else {
            continue;
        };
        if purl.ty() == "pypi" {
            if let Some(owner) = owners.get(package.spdx_id.as_str()) {
                found.owned.push((purl.name().to_owned(), owner.clone()));
                continue;
            }
        }
        match component(&purl, package.source_info.as_deref()) {
            Some(c) => {
                let entry = by_key
                    .entry((c.ecosystem.clone(), c.name.clone(), c.version.clone()))
                    .or_insert_with(|| Component {
                        packages: BTreeSet::new(),
                        ..c.clone()
                    });
                entry.packages.extend(c.packages);
            }
            None if matches!(purl.ty(), "oci" | "docker") => {}
            None => *found.other.entry(purl.ty().to_owned()).or_default() += 1,
        }
    }
    found.components = by_key.into_values().collect();
    found.owned.sort();
    Ok(found)
}

/// The system package that owns each Python distribution, by SPDX id.
fn owners(view: &SpdxView) -> BTreeMap<&str, String> {
    let names: BTreeMap<&str, String> = view
        .packages
        .iter()
        .filter_map(|p| {
            let purl = p.external_refs.iter().find(|r| r.reference_type == "purl")?;
            let purl: PackageUrl = purl.reference_locator.parse().ok()?;
            matches!(purl.ty(), "deb" | "rpm" | "apk").then(|| (p.spdx_id.as_str(), purl.name().to_owned()))
        })
        .collect();
    view.relationships
        .iter()
        .filter(|r| {
            r.relationship_type == "CONTAINS"
                || (r.relationship_type == "OTHER"
                    && r.comment
                        .as_deref()
                        .is_some_and(|c| c.starts_with("ownership-by-file-overlap")))
        })
        .filter_map(|r| {
            Some((
                r.related_spdx_element.as_str(),
                names.get(r.spdx_element_id.as_str())?.clone(),
            ))
        })
        .collect()
}

/// The component a purl names, if it is one advisories speak of.
fn component(purl: &PackageUrl, source_info: Option<&str>) -> Option<Component> {
    let qualifier = |key: &str| purl.qualifiers().get(key).map(|v| v.as_ref());
    let version = purl.version()?.to_owned();
    let binary = purl.name().to_owned();
    match purl.ty() {
        "pypi" => Some(Component {
            ecosystem: "PyPI".into(),
            name: normalize_pypi(purl.name()),
            version,
            packages: BTreeSet::from([binary]),
        }),
        "deb" => {
            let (name, source_version) = deb_source(qualifier("upstream"), source_info, &binary);
            Some(Component {
                ecosystem: deb_ecosystem(purl.namespace(), qualifier("distro")),
                name,
                version: source_version.unwrap_or(version),
                packages: BTreeSet::from([binary]),
            })
        }
        "rpm" => {
            let version = match qualifier("epoch").filter(|e| *e != "0" && !version.contains(':')) {
                Some(epoch) => format!("{epoch}:{version}"),
                None => version,
            };
            Some(Component {
                ecosystem: rpm_ecosystem(purl.namespace(), qualifier("distro")),
                name: binary.clone(),
                version,
                packages: BTreeSet::from([binary]),
            })
        }
        _ => None,
    }
}

/// A Debian package's source name and, when it differs, version: from
/// `upstream=NAME[@VERSION]`, else Trivy's `built package from: NAME
/// VERSION`, else the binary package's own.
fn deb_source(upstream: Option<&str>, source_info: Option<&str>, binary: &str) -> (String, Option<String>) {
    if let Some(upstream) = upstream {
        return match upstream.split_once('@') {
            Some((name, version)) => (name.to_owned(), Some(version.to_owned())),
            None => (upstream.to_owned(), None),
        };
    }
    if let Some(rest) = source_info.and_then(|s| s.strip_prefix("built package from: ")) {
        let mut words = rest.split_whitespace();
        if let Some(name) = words.next() {
            return (name.to_owned(), words.next().map(str::to_owned));
        }
    }
    (binary.to_owned(), None)
}

/// The release part of a purl's `distro` qualifier (`debian-12.5` → `12.5`).
fn distro_release<'a>(distro: Option<&'a str>, ids: &[&str]) -> Option<&'a str> {
    let distro = distro?;
    ids.iter()
        .find_map(|id| distro.strip_prefix(id).and_then(|r| r.strip_prefix('-')))
        .or_else(|| distro.rsplit_once('-').map(|(_, release)| release))
}

/// `Debian:12` / `Ubuntu:22.04` for a deb purl's namespace and distro.
fn deb_ecosystem(namespace: Option<&str>, distro: Option<&str>) -> String {
    let namespace = namespace.unwrap_or("debian");
    match (namespace, distro_release(distro, &[namespace])) {
        ("debian", Some(release)) => format!("Debian:{}", release.split('.').next().unwrap_or(release)),
        ("ubuntu", Some(release)) => format!("Ubuntu:{release}"),
        (other, release) => format!("deb ({other} {})", release.unwrap_or("?")),
    }
}

/// The OSV ecosystem of an rpm purl's namespace and distro.
fn rpm_ecosystem(namespace: Option<&str>, distro: Option<&str>) -> String {
    let namespace = namespace.unwrap_or("rpm");
    if namespace == "opensuse" {
        // `opensuse-leap-15.5` is `openSUSE:Leap 15.5`; Tumbleweed has no release.
        return match distro.unwrap_or_default().strip_prefix("opensuse-") {
            Some(rest) if rest.starts_with("tumbleweed") => "openSUSE:Tumbleweed".to_owned(),
            Some(rest) => match rest.strip_prefix("leap-") {
                Some(release) => format!("openSUSE:Leap {release}"),
                None => format!("rpm (opensuse {rest})"),
            },
            None => "rpm (opensuse ?)".to_owned(),
        };
    }
    let release = distro_release(distro, &[namespace, "rhel", "rocky", "almalinux"]);
    let major = release.map(|r| r.split('.').next().unwrap_or(r));
    match (namespace, major) {
        ("redhat", Some(major)) => format!("Red Hat:enterprise_linux:{major}"),
        ("almalinux", Some(major)) => format!("AlmaLinux:{major}"),
        ("rocky" | "rockylinux", Some(major)) => format!("Rocky Linux:{major}"),
        ("mageia", Some(_)) => format!("Mageia:{}", release.unwrap_or_default()),
        // SUSE's OSV ecosystems name a product (`SUSE:Linux Enterprise Server
        // 15 SP5`) a purl does not carry: said as not covered, never guessed.
        (other, _) => format!("rpm ({other} {})", release.unwrap_or("?")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(components: &Components) -> Vec<String> {
        components
            .components
            .iter()
            .map(|c| {
                let packages: Vec<&str> = c.packages.iter().map(String::as_str).collect();
                format!("{} {} {} [{}]", c.ecosystem, c.name, c.version, packages.join(","))
            })
            .collect()
    }

    fn spdx(packages: serde_json::Value, relationships: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT",
            "packages": packages, "relationships": relationships,
        }))
        .expect("json")
    }

    fn package(id: &str, purl: &str) -> serde_json::Value {
        serde_json::json!({"SPDXID": id, "name": id, "externalRefs": [
            {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}]})
    }

    #[test]
    fn debian_binaries_fold_into_their_source_package() -> Result<(), String> {
        let doc = spdx(
            serde_json::json!([
                package(
                    "a",
                    "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"
                ),
                package(
                    "b",
                    "pkg:deb/debian/libc-bin@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"
                ),
                package(
                    "c",
                    "pkg:deb/debian/e2fsprogs-l10n@1:1.47.0-2?distro=debian-12&upstream=e2fsprogs%401.47.0-2"
                ),
                package("d", "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?distro=debian-12.5"),
            ]),
            serde_json::json!([]),
        );
        assert_eq!(
            names(&from_spdx(&doc)?),
            [
                "Debian:12 e2fsprogs 1.47.0-2 [e2fsprogs-l10n]",
                "Debian:12 glibc 2.36-9+deb12u4 [libc-bin,libc6]",
                "Debian:12 tzdata 2024a-0+deb12u1 [tzdata]",
            ]
        );
        Ok(())
    }

    #[test]
    fn a_distribution_a_system_package_owns_is_left_to_that_package() -> Result<(), String> {
        let doc = spdx(
            serde_json::json!([
                package(
                    "deb",
                    "pkg:deb/debian/python3-pip@23.0.1%2Bdfsg-1?distro=debian-12&upstream=python-pip"
                ),
                package("pip", "pkg:pypi/pip@23.0.1"),
                package("six", "pkg:pypi/Six@1.16.0"),
                package("syft-owned", "pkg:pypi/wheel@0.38.4"),
                package("deb2", "pkg:deb/debian/python3-wheel@0.38.4-2?distro=debian-12"),
            ]),
            serde_json::json!([
                {"spdxElementId": "deb", "relationshipType": "CONTAINS", "relatedSpdxElement": "pip"},
                {"spdxElementId": "deb2", "relationshipType": "OTHER", "relatedSpdxElement": "syft-owned",
                 "comment": "ownership-by-file-overlap: indicates that the parent package claims ownership"},
            ]),
        );
        let found = from_spdx(&doc)?;
        assert_eq!(
            names(&found),
            [
                "Debian:12 python-pip 23.0.1+dfsg-1 [python3-pip]",
                "Debian:12 python3-wheel 0.38.4-2 [python3-wheel]",
                "PyPI six 1.16.0 [six]",
            ]
        );
        assert_eq!(
            found.owned,
            [
                ("pip".to_owned(), "python3-pip".to_owned()),
                ("wheel".to_owned(), "python3-wheel".to_owned())
            ]
        );
        Ok(())
    }

    #[test]
    fn trivy_names_the_source_in_source_info_and_rpm_ecosystems_follow_the_distro() -> Result<(), String> {
        let mut libc = package(
            "t",
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.4",
        );
        libc["sourceInfo"] = "built package from: glibc 2.36-9+deb12u4".into();
        let doc = spdx(
            serde_json::json!([
                libc,
                package(
                    "r1",
                    "pkg:rpm/almalinux/bash@5.1.8-6.el9_1?arch=x86_64&distro=almalinux-9.3&epoch=0"
                ),
                package("r2", "pkg:rpm/redhat/openssl@3.0.7-24.el9?epoch=1&distro=rhel-9.2"),
                package("r3", "pkg:rpm/amazon/bash@5.2.15-1.amzn2023.0.2?distro=amzn-2023"),
                package("r4", "pkg:rpm/opensuse/bash@5.2.15-1.1?distro=opensuse-leap-15.5"),
                package("r5", "pkg:rpm/opensuse/zsh@5.9-1.1?distro=opensuse-tumbleweed"),
                package("r6", "pkg:rpm/suse/curl@8.0.1-1.1?distro=sles-15.5"),
                package("g", "pkg:generic/data.zip?checksum=sha256:00"),
                package("i", "pkg:oci/python@sha256:00"),
            ]),
            serde_json::json!([]),
        );
        let found = from_spdx(&doc)?;
        assert_eq!(
            names(&found),
            [
                "AlmaLinux:9 bash 5.1.8-6.el9_1 [bash]",
                "Debian:12 glibc 2.36-9+deb12u4 [libc6]",
                "Red Hat:enterprise_linux:9 openssl 1:3.0.7-24.el9 [openssl]",
                "openSUSE:Leap 15.5 bash 5.2.15-1.1 [bash]",
                "openSUSE:Tumbleweed zsh 5.9-1.1 [zsh]",
                "rpm (amazon 2023) bash 5.2.15-1.amzn2023.0.2 [bash]",
                "rpm (suse 15.5) curl 8.0.1-1.1 [curl]",
            ]
        );
        assert_eq!(found.other, BTreeMap::from([("generic".to_owned(), 1)]));
        Ok(())
    }

    #[test]
    fn what_is_not_an_spdx_2_document_is_refused() {
        assert!(from_spdx(b"{}").is_err_and(|e| e.contains("not an SPDX JSON document")));
        let three = br#"{"spdxVersion": "SPDX-3.0"}"#;
        assert!(from_spdx(three).is_err_and(|e| e.contains("SPDX-3.0 is not SPDX-2.2 or SPDX-2.3")));
    }
}
