//! The SPDX 2.3 JSON document of one platform image: serde types for the
//! part of the schema used (document, creation info, packages with
//! checksums and purls, relationships) and the mapping from an
//! [`Inventory`](super::Inventory) and a [`Subject`] to them. The image is
//! the described element (`DESCRIBES`), it `CONTAINS` every package and
//! fetched input, and it is a `DESCENDANT_OF` its root image. A system
//! package also `CONTAINS` the Python distributions whose files it owns,
//! and a package built from another names it in its purl's `upstream`
//! qualifier (as syft writes it), so the document can be audited by source
//! package. The output depends only on its inputs: the same image
//! gives the same bytes.

use std::collections::BTreeSet;

use packageurl::PackageUrl;
use serde::{Deserialize, Serialize};

use super::scan::{Ecosystem, Inventory, Package};
use crate::platform::Platform;

/// The SPDX version written.
pub const SPDX_VERSION: &str = "SPDX-2.3";

/// `NOASSERTION`, SPDX's "not said".
const NOASSERTION: &str = "NOASSERTION";

/// An SPDX document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// `SPDX-2.3`.
    pub spdx_version: String,
    /// `CC0-1.0`, as SPDX requires.
    pub data_license: String,
    /// `SPDXRef-DOCUMENT`.
    #[serde(rename = "SPDXID")]
    pub spdx_id: String,
    /// `family:version [platform]`.
    pub name: String,
    /// A URI unique to this document.
    pub document_namespace: String,
    /// Who made it, when.
    pub creation_info: CreationInfo,
    /// The image, its root, its packages and its fetched inputs.
    pub packages: Vec<SpdxPackage>,
    /// How they relate.
    pub relationships: Vec<Relationship>,
}

impl Document {
    /// The digests (`sha256:…`) of the elements the document `DESCRIBES`.
    pub fn described_digests(&self) -> Vec<String> {
        let described: BTreeSet<&str> = self
            .relationships
            .iter()
            .filter(|r| r.spdx_element_id == "SPDXRef-DOCUMENT" && r.relationship_type == "DESCRIBES")
            .map(|r| r.related_spdx_element.as_str())
            .collect();
        self.packages
            .iter()
            .filter(|p| described.contains(p.spdx_id.as_str()))
            .flat_map(|p| &p.checksums)
            .filter(|c| c.algorithm == "SHA256")
            .map(|c| format!("sha256:{}", c.checksum_value))
            .collect()
    }
}

/// SPDX `creationInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationInfo {
    /// RFC 3339, seconds, UTC.
    pub created: String,
    /// `Tool: base-images-<version>`.
    pub creators: Vec<String>,
}

/// An SPDX package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpdxPackage {
    /// `SPDXRef-…`.
    #[serde(rename = "SPDXID")]
    pub spdx_id: String,
    /// The package's name.
    pub name: String,
    /// Its exact version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_info: Option<String>,
    /// Where it was downloaded from, or `NOASSERTION`.
    pub download_location: String,
    /// Always `false`: files are not listed.
    pub files_analyzed: bool,
    /// Its digests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checksums: Vec<Checksum>,
    /// Where in the image it was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_info: Option<String>,
    /// `CONTAINER` for images, else absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_package_purpose: Option<String>,
    /// Its purl.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_refs: Vec<ExternalRef>,
}

/// An SPDX checksum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checksum {
    /// `SHA256`.
    pub algorithm: String,
    /// Lowercase hex.
    pub checksum_value: String,
}

/// An SPDX external reference (a purl).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalRef {
    /// `PACKAGE-MANAGER`.
    pub reference_category: String,
    /// `purl`.
    pub reference_type: String,
    /// The purl.
    pub reference_locator: String,
}

/// An SPDX relationship.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    /// The subject's `SPDXID`.
    pub spdx_element_id: String,
    /// `DESCRIBES`, `CONTAINS`, `DESCENDANT_OF`.
    pub relationship_type: String,
    /// The object's `SPDXID`.
    pub related_spdx_element: String,
}

/// The image an SBOM describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// The family.
    pub family: String,
    /// The version.
    pub version: String,
    /// `os/arch[/variant]`.
    pub platform: String,
    /// `sha256:…`: the platform manifest's when published, the engine's
    /// image id for a local image.
    pub digest: String,
    /// `registry/repository` it is published to, if any.
    pub repository: Option<String>,
    /// RFC 3339: the release's `created` (never the clock, when published).
    pub created: String,
    /// The root image.
    pub root: Option<RootImage>,
    /// Content the build tool fetched into the image.
    pub fetched: Vec<FetchedInput>,
}

/// The image a version's recipe starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootImage {
    /// Its address without a digest (`docker.io/library/python:3.11`).
    pub name: String,
    /// Its digest, when pinned (or the local image id the lock records).
    pub digest: Option<String>,
}

/// Content fetched by the build tool (Step 6), with its digest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FetchedInput {
    /// Where it came from.
    pub url: String,
    /// `sha256:<hex>`.
    pub sha256: String,
    /// Where it went in the image.
    pub path: String,
}

/// The SPDX document of `subject` holding `inventory`.
pub fn document(subject: &Subject, inventory: &Inventory) -> Document {
    let mut ids = Ids::default();
    let image_id = ids.take("image", &subject.family);
    let mut packages = vec![image_package(subject, &image_id)];
    let mut relationships = vec![relationship("SPDXRef-DOCUMENT", "DESCRIBES", &image_id)];
    if let Some(root) = &subject.root {
        let root_id = ids.take("root", &root.name);
        packages.push(root_package(root, &subject.platform, &root_id));
        relationships.push(relationship(&image_id, "DESCENDANT_OF", &root_id));
    }
    let mut system_ids: std::collections::BTreeMap<&str, String> = std::collections::BTreeMap::new();
    for package in &inventory.packages {
        let id = ids.take(
            package.ecosystem.purl_type(),
            &format!("{}-{}", package.name, package.version),
        );
        packages.push(installed_package(package, inventory, &id));
        relationships.push(relationship(&image_id, "CONTAINS", &id));
        if package.ecosystem != Ecosystem::Pypi {
            system_ids.entry(&package.name).or_insert_with(|| id.clone());
        }
        if let Some(owner) = package.owner.as_deref().and_then(|o| system_ids.get(o)) {
            relationships.push(relationship(owner, "CONTAINS", &id));
        }
    }
    for input in &subject.fetched {
        let name = input.url.rsplit('/').find(|s| !s.is_empty()).unwrap_or(&input.url);
        let id = ids.take("fetched", name);
        packages.push(fetched_package(input, name, &id));
        relationships.push(relationship(&image_id, "CONTAINS", &id));
    }
    let hex = subject.digest.trim_start_matches("sha256:");
    Document {
        spdx_version: SPDX_VERSION.into(),
        data_license: "CC0-1.0".into(),
        spdx_id: "SPDXRef-DOCUMENT".into(),
        name: format!("{}:{} [{}]", subject.family, subject.version, subject.platform),
        document_namespace: format!(
            "https://base-images.invalid/spdx/{}/{}/{}/{hex}",
            subject.family,
            subject.version,
            subject.platform.replace('/', "-")
        ),
        creation_info: CreationInfo {
            created: subject.created.clone(),
            creators: vec![format!("Tool: base-images-{}", env!("CARGO_PKG_VERSION"))],
        },
        packages,
        relationships,
    }
}

/// The image itself: `pkg:oci/<name>@<digest>?arch=…&repository_url=…&tag=…`.
fn image_package(subject: &Subject, id: &str) -> SpdxPackage {
    let name = subject
        .repository
        .as_deref()
        .and_then(|r| r.rsplit('/').next())
        .unwrap_or(&subject.family);
    let arch = architecture(&subject.platform);
    let mut qualifiers = vec![("arch", arch.as_str()), ("tag", subject.version.as_str())];
    if let Some(repository) = &subject.repository {
        qualifiers.push(("repository_url", repository));
    }
    SpdxPackage {
        spdx_id: id.into(),
        name: subject.family.clone(),
        version_info: Some(subject.version.clone()),
        download_location: NOASSERTION.into(),
        files_analyzed: false,
        checksums: sha256_checksum(&subject.digest),
        source_info: None,
        primary_package_purpose: Some("CONTAINER".into()),
        external_refs: purl("oci", None, name, Some(&subject.digest), &qualifiers),
    }
}

/// The architecture of `platform` (`os/arch[/variant]`), for a purl's
/// `arch` qualifier; empty when it is not a platform.
fn architecture(platform: &str) -> String {
    platform
        .parse::<Platform>()
        .map(|p| p.architecture().to_owned())
        .unwrap_or_default()
}

/// The root image: `pkg:oci/<name>@<digest>?repository_url=…`.
fn root_package(root: &RootImage, platform: &str, id: &str) -> SpdxPackage {
    let (repository, tag) = split_tag(&root.name);
    let name = repository.rsplit('/').next().unwrap_or(repository);
    let arch = architecture(platform);
    let mut qualifiers = vec![("arch", arch.as_str()), ("repository_url", repository)];
    if let Some(tag) = tag {
        qualifiers.push(("tag", tag));
    }
    SpdxPackage {
        spdx_id: id.into(),
        name: root.name.clone(),
        version_info: root.digest.clone().or_else(|| tag.map(str::to_owned)),
        download_location: NOASSERTION.into(),
        files_analyzed: false,
        checksums: root.digest.as_deref().map(sha256_checksum).unwrap_or_default(),
        source_info: None,
        primary_package_purpose: Some("CONTAINER".into()),
        external_refs: purl("oci", None, name, root.digest.as_deref(), &qualifiers),
    }
}

/// A package a package manager installed.
fn installed_package(package: &Package, inventory: &Inventory, id: &str) -> SpdxPackage {
    let os = inventory.os.as_ref();
    let distro = os.map(|o| match &o.version_id {
        Some(v) => format!("{}-{v}", o.id),
        None => o.id.clone(),
    });
    let mut qualifiers: Vec<(&str, &str)> = Vec::new();
    if let Some(arch) = &package.arch {
        qualifiers.push(("arch", arch));
    }
    if let Some(source) = &package.source {
        qualifiers.push(("upstream", source));
    }
    let namespace = match package.ecosystem {
        Ecosystem::Deb | Ecosystem::Rpm => {
            if let Some(distro) = &distro {
                qualifiers.push(("distro", distro));
            }
            Some(os.map_or("linux", |o| o.id.as_str()))
        }
        Ecosystem::Pypi => None,
    };
    SpdxPackage {
        spdx_id: id.into(),
        name: package.name.clone(),
        version_info: Some(package.version.clone()),
        download_location: NOASSERTION.into(),
        files_analyzed: false,
        checksums: Vec::new(),
        source_info: Some(match &package.owner {
            Some(owner) => format!("found in {}, installed by the system package {owner}", package.location),
            None => format!("found in {}", package.location),
        }),
        primary_package_purpose: None,
        external_refs: purl(
            package.ecosystem.purl_type(),
            namespace,
            &package.name,
            Some(&package.version),
            &qualifiers,
        ),
    }
}

/// Content the build tool fetched: `pkg:generic/<file>?checksum=…&download_url=…`.
fn fetched_package(input: &FetchedInput, name: &str, id: &str) -> SpdxPackage {
    SpdxPackage {
        spdx_id: id.into(),
        name: name.into(),
        version_info: None,
        download_location: input.url.clone(),
        files_analyzed: false,
        checksums: sha256_checksum(&input.sha256),
        source_info: Some(format!("fetched by the build tool into {}", input.path)),
        primary_package_purpose: None,
        external_refs: purl(
            "generic",
            None,
            name,
            None,
            &[
                ("checksum", input.sha256.as_str()),
                ("download_url", input.url.as_str()),
            ],
        ),
    }
}

/// `sha256:<hex>` as an SPDX checksum.
fn sha256_checksum(digest: &str) -> Vec<Checksum> {
    digest
        .strip_prefix("sha256:")
        .map(|hex| Checksum {
            algorithm: "SHA256".into(),
            checksum_value: hex.into(),
        })
        .into_iter()
        .collect()
}

/// The purl external reference (none if the package URL library refuses a part).
fn purl(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: Option<&str>,
    qualifiers: &[(&str, &str)],
) -> Vec<ExternalRef> {
    let build = || -> Result<String, packageurl::Error> {
        let mut purl = PackageUrl::new(ty, name)?;
        if let Some(namespace) = namespace {
            purl.with_namespace(namespace)?;
        }
        if let Some(version) = version {
            purl.with_version(version)?;
        }
        for (key, value) in qualifiers.iter().filter(|(_, v)| !v.is_empty()) {
            purl.add_qualifier(*key, *value)?;
        }
        Ok(purl.to_string())
    };
    match build() {
        Ok(locator) => vec![ExternalRef {
            reference_category: "PACKAGE-MANAGER".into(),
            reference_type: "purl".into(),
            reference_locator: locator,
        }],
        Err(e) => {
            tracing::warn!(name, error = %e, "no purl for this package");
            Vec::new()
        }
    }
}

fn relationship(from: &str, kind: &str, to: &str) -> Relationship {
    Relationship {
        spdx_element_id: from.into(),
        relationship_type: kind.into(),
        related_spdx_element: to.into(),
    }
}

/// `repository` and `tag` of an address without a digest.
fn split_tag(address: &str) -> (&str, Option<&str>) {
    let last = address.rfind('/').map_or(0, |i| i + 1);
    match address[last..].find(':') {
        Some(i) => (&address[..last + i], Some(&address[last + i + 1..])),
        None => (address, None),
    }
}

/// Hands out unique SPDX ids made of letters, digits, `.` and `-`.
#[derive(Default)]
struct Ids {
    taken: BTreeSet<String>,
}

impl Ids {
    fn take(&mut self, kind: &str, name: &str) -> String {
        let clean: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' })
            .collect();
        let base = format!("SPDXRef-{kind}-{clean}");
        let mut id = base.clone();
        let mut n = 1;
        while !self.taken.insert(id.clone()) {
            n += 1;
            id = format!("{base}-{n}");
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::super::scan::OsRelease;
    use super::*;

    fn subject() -> Subject {
        Subject {
            family: "e2e-python".into(),
            version: "1.0.0".into(),
            platform: "linux/amd64".into(),
            digest: format!("sha256:{}", "a".repeat(64)),
            repository: Some("127.0.0.1:5000/e2e/python".into()),
            created: "2023-11-14T22:13:20Z".into(),
            root: Some(RootImage {
                name: "docker.io/library/python:3.11-slim".into(),
                digest: Some(format!("sha256:{}", "b".repeat(64))),
            }),
            fetched: vec![FetchedInput {
                url: "http://127.0.0.1:8000/files/tool.tar.gz".into(),
                sha256: format!("sha256:{}", "c".repeat(64)),
                path: "/opt/tool".into(),
            }],
        }
    }

    fn inventory() -> Inventory {
        Inventory {
            os: Some(OsRelease {
                id: "debian".into(),
                version_id: Some("12".into()),
                pretty_name: None,
            }),
            packages: vec![
                Package {
                    ecosystem: Ecosystem::Deb,
                    name: "libc6".into(),
                    version: "2.36-9+deb12u4".into(),
                    arch: Some("amd64".into()),
                    location: "/var/lib/dpkg/status".into(),
                    source: Some("glibc".into()),
                    owner: None,
                },
                Package {
                    ecosystem: Ecosystem::Deb,
                    name: "python3-pip".into(),
                    version: "23.0.1+dfsg-1".into(),
                    arch: Some("all".into()),
                    location: "/var/lib/dpkg/status".into(),
                    source: Some("python-pip".into()),
                    owner: None,
                },
                Package {
                    ecosystem: Ecosystem::Pypi,
                    name: "pip".into(),
                    version: "23.0.1".into(),
                    arch: None,
                    location: "/usr/lib/python3/dist-packages/pip-23.0.1.dist-info".into(),
                    source: None,
                    owner: Some("python3-pip".into()),
                },
                Package {
                    ecosystem: Ecosystem::Pypi,
                    name: "Typing_Extensions".into(),
                    version: "4.8.0".into(),
                    arch: None,
                    location: "/usr/local/lib/typing_extensions-4.8.0.dist-info".into(),
                    source: None,
                    owner: None,
                },
            ],
            rpm_database: None,
        }
    }

    fn purl_of<'a>(doc: &'a Document, name: &str) -> &'a str {
        doc.packages
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.external_refs.first())
            .map_or("", |r| r.reference_locator.as_str())
    }

    #[test]
    fn packages_get_purls_with_their_distro_and_arch() {
        let doc = document(&subject(), &inventory());
        assert_eq!(
            purl_of(&doc, "libc6"),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"
        );
        assert_eq!(purl_of(&doc, "Typing_Extensions"), "pkg:pypi/typing-extensions@4.8.0");
        assert_eq!(
            purl_of(&doc, "e2e-python"),
            format!(
                "pkg:oci/python@sha256:{}?arch=amd64&repository_url=127.0.0.1:5000/e2e/python&tag=1.0.0",
                "a".repeat(64)
            )
        );
        assert_eq!(
            purl_of(&doc, "tool.tar.gz"),
            format!(
                "pkg:generic/tool.tar.gz?checksum=sha256:{}&download_url=http://127.0.0.1:8000/files/tool.tar.gz",
                "c".repeat(64)
            )
        );
    }

    #[test]
    fn the_image_is_described_contains_its_packages_and_descends_from_its_root() {
        let doc = document(&subject(), &inventory());
        let about = |kind: &str| -> Vec<String> {
            doc.relationships
                .iter()
                .filter(|r| r.relationship_type == kind)
                .map(|r| format!("{} {}", r.spdx_element_id, r.related_spdx_element))
                .collect()
        };
        assert_eq!(about("DESCRIBES"), ["SPDXRef-DOCUMENT SPDXRef-image-e2e-python"]);
        assert_eq!(
            about("DESCENDANT_OF"),
            ["SPDXRef-image-e2e-python SPDXRef-root-docker.io-library-python-3.11-slim"]
        );
        assert_eq!(
            about("CONTAINS").len(),
            6,
            "four packages, the fetched input, pip in python3-pip"
        );
        assert!(
            about("CONTAINS").contains(&"SPDXRef-deb-python3-pip-23.0.1-dfsg-1 SPDXRef-pypi-pip-23.0.1".to_owned()),
            "{:?}",
            about("CONTAINS")
        );
        let image = &doc.packages[0];
        assert_eq!(image.checksums[0].checksum_value, "a".repeat(64));
        assert_eq!(image.primary_package_purpose.as_deref(), Some("CONTAINER"));
        let root = &doc.packages[1];
        assert_eq!(root.version_info, Some(format!("sha256:{}", "b".repeat(64))));
    }

    #[test]
    fn the_same_image_gives_the_same_bytes_and_ids_are_unique() -> serde_json::Result<()> {
        let mut twice = inventory();
        twice.packages.push(Package {
            location: "/venv/lib/typing_extensions-4.8.0.dist-info".into(),
            ..twice.packages[3].clone()
        });
        let doc = document(&subject(), &twice);
        let ids: BTreeSet<&str> = doc.packages.iter().map(|p| p.spdx_id.as_str()).collect();
        assert_eq!(ids.len(), doc.packages.len(), "{ids:?}");
        let json = serde_json::to_string(&doc)?;
        assert_eq!(json, serde_json::to_string(&document(&subject(), &twice))?);
        assert!(json.contains("\"spdxVersion\":\"SPDX-2.3\""), "{json}");
        assert!(json.contains("\"SPDXID\":\"SPDXRef-DOCUMENT\""), "{json}");
        let back: Document = serde_json::from_str(&json)?;
        assert_eq!(back, doc);
        Ok(())
    }
}
