//! What an image's file system says is installed in it, read from a tar of
//! the whole file system (a container export): the OS from `os-release`,
//! Debian packages from the dpkg status database (`var/lib/dpkg/status` and
//! distroless' `status.d/`), Python distributions from every
//! `*.dist-info/METADATA` and `*.egg-info/PKG-INFO`, and whether an RPM
//! database is present (RPM packages are asked of `rpm` itself, see
//! [`rpm_packages`]). A Debian package's source package is kept (dpkg's
//! `Source:` field: advisories name source packages), and so is the system
//! package whose file list holds a Python distribution's directory (dpkg's
//! `info/*.list`; for RPM see [`rpm_files_query`]): such a distribution is
//! the distribution's, patched by it. Plain functions over bytes: no
//! engine, no network.
//!
//! The image is not trusted: a metadata file's header section is read as
//! Python's `email` parser reads it (see [`Headers`]), and what is read is
//! bounded ([`MAX_FILE`] a file, [`MAX_TOTAL`] in all). A file over either
//! is an error of kind [`std::io::ErrorKind::FileTooLarge`] naming it, not a
//! skip: an SBOM that left out what such a file lists would be wrong
//! without saying so.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{ErrorKind, Read};

/// The most the scanner reads of one file of an image (a package database,
/// a metadata file, a file list). Debian's status database of a large image
/// is a few MiB.
pub const MAX_FILE: u64 = 64 << 20;

/// The most the scanner reads of one image, all files together.
pub const MAX_TOTAL: u64 = 256 << 20;

/// A package manager whose packages an SBOM lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Ecosystem {
    /// dpkg (`pkg:deb/…`).
    Deb,
    /// RPM (`pkg:rpm/…`).
    Rpm,
    /// Python distributions (`pkg:pypi/…`).
    Pypi,
}

impl Ecosystem {
    /// The purl type.
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Pypi => "pypi",
        }
    }
}

/// One installed package.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// Its package manager.
    pub ecosystem: Ecosystem,
    /// Its name, as the package manager spells it.
    pub name: String,
    /// Its exact version (Debian's with the epoch, RPM's `[epoch:]version-release`).
    pub version: String,
    /// Its architecture, when the package manager records one.
    pub arch: Option<String>,
    /// Where it was found (`/var/lib/dpkg/status`, a `dist-info` directory …).
    pub location: String,
    /// The package it was built from, when the package manager names one:
    /// Debian's source package (`glibc`, or `glibc@2.36-9` when its version
    /// differs), RPM's source RPM (`bash-5.2.15-1.src.rpm`).
    pub source: Option<String>,
    /// The system package (dpkg's or rpm's) whose files include this one's:
    /// set on Python distributions a distribution package installed.
    pub owner: Option<String>,
}

/// The OS an image says it is (`os-release`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsRelease {
    /// `ID` (`debian`, `amzn` …).
    pub id: String,
    /// `VERSION_ID` (`12`, `2023` …).
    pub version_id: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
}

/// What a file system holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// The OS, if the image names one.
    pub os: Option<OsRelease>,
    /// Every package found, sorted.
    pub packages: Vec<Package>,
    /// The path of an RPM database, if there is one (its packages are not
    /// in `packages` until [`rpm_packages`] adds them).
    pub rpm_database: Option<String>,
}

/// The RPM databases' places, newest format first.
const RPM_DATABASES: [&str; 4] = [
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "var/lib/rpm/Packages.db",
    "var/lib/rpm/Packages",
];

/// The command that lists the packages of the RPM database at `database`
/// (a file of [`Inventory::rpm_database`]) as [`rpm_packages`] reads them:
/// that database's directory, whatever the image's `rpm` takes by default
/// (Debian's `rpm` reads `~/.rpmdb`).
pub fn rpm_query(database: &str) -> Vec<String> {
    let dir = database.rsplit_once('/').map_or("/var/lib/rpm", |(dir, _)| dir);
    [
        "rpm",
        "--dbpath",
        dir,
        "-qa",
        "--queryformat",
        "%{NAME}\\t%{EPOCH}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Reads a tar of a whole file system and lists what is installed in it;
/// an error of kind [`ErrorKind::FileTooLarge`] past [`MAX_FILE`] or
/// [`MAX_TOTAL`].
pub fn scan(archive: impl Read) -> std::io::Result<Inventory> {
    Ok(inventory(&[layer_files(archive)?]))
}

/// What an inventory is made of, read from one layer's tar (or from a
/// whole file system's): the files the scanner reads, by path (relative,
/// no leading `/`), and what the layer removes of the layers beneath it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayerFiles {
    /// The files read, with their text (an RPM database's is not read:
    /// only its presence counts).
    files: BTreeMap<String, String>,
    /// Paths the layer deletes with everything under them (`.wh.NAME`).
    deleted: Vec<String>,
    /// Directories whose contents beneath the layer it hides (`.wh..wh..opq`).
    opaque: Vec<String>,
    /// Paths the scanner would read that the layer makes a directory,
    /// hiding the file beneath.
    replaced: Vec<String>,
    /// Everything else the layer holds that is no directory (a link, a
    /// file): it hides what lies beneath at its path and under it (a
    /// directory a link replaced, as usrmerge's `/lib`).
    covers: BTreeSet<String>,
}

/// The whiteout marking a directory opaque, in OCI and Docker layers.
const OPAQUE: &str = ".wh..wh..opq";

/// The whiteout prefix of a deleted path.
const WHITEOUT: &str = ".wh.";

/// Reads a layer's tar (or a whole file system's) for what [`inventory`]
/// needs; an error of kind [`ErrorKind::FileTooLarge`] past [`MAX_FILE`]
/// or [`MAX_TOTAL`].
pub fn layer_files(archive: impl Read) -> std::io::Result<LayerFiles> {
    layer_files_within(
        archive,
        Limits {
            file: MAX_FILE,
            total: MAX_TOTAL,
        },
    )
}

/// How much of an image the scanner reads: of one file, and in all.
#[derive(Clone, Copy, Debug)]
struct Limits {
    file: u64,
    total: u64,
}

/// [`layer_files`] within `limits`.
fn layer_files_within(archive: impl Read, limits: Limits) -> std::io::Result<LayerFiles> {
    let mut read = 0;
    let mut archive = tar::Archive::new(archive);
    let mut layer = LayerFiles::default();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let path = path.trim_start_matches("./").trim_start_matches('/').to_owned();
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        if name == OPAQUE {
            layer.opaque.push(dir.to_owned());
            continue;
        }
        if let Some(deleted) = name.strip_prefix(WHITEOUT) {
            layer.deleted.push(if dir.is_empty() {
                deleted.to_owned()
            } else {
                format!("{dir}/{deleted}")
            });
            continue;
        }
        let kind = entry.header().entry_type();
        if !wanted(&path) || !kind.is_file() {
            if !kind.is_dir() {
                layer.covers.insert(path);
            } else if wanted(&path) {
                layer.replaced.push(path);
            }
            continue;
        }
        let text = if RPM_DATABASES.contains(&path.as_str()) {
            String::new()
        } else {
            let size = entry.size();
            String::from_utf8_lossy(&read_within(&mut entry, size, &path, limits, &mut read)?).into_owned()
        };
        layer.files.insert(path, text);
    }
    Ok(layer)
}

impl LayerFiles {
    /// Whether something the layer holds that is no directory hides `path`
    /// beneath it: at `path` or at a directory above it.
    fn covers_path(&self, path: &str) -> bool {
        let mut at = path;
        loop {
            if self.covers.contains(at) {
                return true;
            }
            match at.rsplit_once('/') {
                Some((parent, _)) => at = parent,
                None => return false,
            }
        }
    }
}

/// Whether the scanner reads the file at `path` (relative).
fn wanted(path: &str) -> bool {
    matches!(path, "etc/os-release" | "usr/lib/os-release" | "var/lib/dpkg/status")
        || RPM_DATABASES.contains(&path)
        || path.starts_with("var/lib/dpkg/status.d/")
        || python_metadata_file(path)
        || dpkg_file_list(path).is_some()
}

/// Whether `path` is `dir` or under it.
fn within(path: &str, dir: &str) -> bool {
    dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

/// What is installed in the file system `layers` make, bottom first: each
/// layer's whiteouts remove what lies beneath, then its files are laid on.
pub fn inventory<'a>(layers: impl IntoIterator<Item = &'a LayerFiles>) -> Inventory {
    let mut files: BTreeMap<&str, &str> = BTreeMap::new();
    for layer in layers {
        files.retain(|path, _| {
            !layer
                .opaque
                .iter()
                .any(|dir| path.len() > dir.len() && within(path, dir))
                && !layer.deleted.iter().any(|gone| within(path, gone))
                && !layer.replaced.iter().any(|other| path == other)
                && !layer.covers_path(path)
        });
        files.extend(layer.files.iter().map(|(path, text)| (path.as_str(), text.as_str())));
    }
    inventory_of(&files)
}

/// What is installed, according to the scanner's `files` of a file system.
fn inventory_of(files: &BTreeMap<&str, &str>) -> Inventory {
    let mut inventory = Inventory {
        rpm_database: RPM_DATABASES
            .iter()
            .find(|p| files.contains_key(**p))
            .map(|p| format!("/{p}")),
        ..Inventory::default()
    };
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    for (path, text) in files {
        let location = format!("/{path}");
        if path.ends_with("os-release") || RPM_DATABASES.contains(path) {
            continue;
        } else if let Some(package) = dpkg_file_list(path) {
            owners.extend(python_directories(text).map(|dir| (dir.to_owned(), package.to_owned())));
        } else if path.starts_with("var/lib/dpkg/") {
            inventory.packages.extend(dpkg_status(text, &location));
        } else if let Some(package) = python_metadata(text, python_location(&location)) {
            inventory.packages.push(package);
        }
    }
    // `etc/os-release` is usually a link to `usr/lib/os-release`.
    inventory.os = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| files.get(p))
        .map(|text| parse_os_release(text));
    set_owners(&mut inventory.packages, &owners);
    inventory.packages.sort();
    inventory.packages.dedup();
    inventory
}

/// Reads the image's file `path` from `entry` (`declared` bytes, says its
/// header) within `limits`, `read` bytes being read already; refused
/// before reading when its header says it is too large, and when it is
/// whatever its header says.
fn read_within(
    entry: impl Read,
    declared: u64,
    path: &str,
    limits: Limits,
    read: &mut u64,
) -> std::io::Result<Vec<u8>> {
    let left = limits.total.saturating_sub(*read);
    let refuse = || {
        let reason = if left < limits.file {
            format!(
                "/{path} takes the files the SBOM scanner reads of this image past {} bytes, the most it reads of one image",
                limits.total
            )
        } else {
            format!(
                "/{path} is more than {} bytes, the most the SBOM scanner reads of one file",
                limits.file
            )
        };
        std::io::Error::new(ErrorKind::FileTooLarge, reason)
    };
    let limit = limits.file.min(left);
    if declared > limit {
        return Err(refuse());
    }
    let mut bytes = Vec::new();
    entry.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(refuse());
    }
    *read += bytes.len() as u64;
    Ok(bytes)
}

/// The package whose file list `path` is (`var/lib/dpkg/info/NAME[:ARCH].list`).
fn dpkg_file_list(path: &str) -> Option<&str> {
    let file = path.strip_prefix("var/lib/dpkg/info/")?.strip_suffix(".list")?;
    (!file.contains('/')).then(|| file.split(':').next().unwrap_or(file))
}

/// The Python distribution directories a file list names.
fn python_directories(list: &str) -> impl Iterator<Item = &str> {
    list.lines()
        .map(|line| line.trim_end_matches('/'))
        .filter(|line| line.ends_with(".dist-info") || line.ends_with(".egg-info"))
}

/// Marks each Python distribution whose directory `owners` lists as owned.
pub fn set_owners(packages: &mut [Package], owners: &BTreeMap<String, String>) {
    for package in packages.iter_mut().filter(|p| p.ecosystem == Ecosystem::Pypi) {
        if let Some(owner) = owners.get(&package.location) {
            package.owner = Some(owner.clone());
        }
    }
}

/// Whether `path` is the metadata file of an installed Python distribution.
fn python_metadata_file(path: &str) -> bool {
    let Some((dir, file)) = path.rsplit_once('/') else {
        return false;
    };
    (dir.ends_with(".dist-info") && file == "METADATA") || (dir.ends_with(".egg-info") && file == "PKG-INFO")
}

/// The distribution's directory, for a metadata file's path.
fn python_location(metadata: &str) -> &str {
    metadata.rsplit_once('/').map_or(metadata, |(dir, _)| dir)
}

/// The packages a dpkg status database (or one `status.d` file) says are
/// installed: stanzas whose `Status` ends in `installed`.
pub fn dpkg_status(text: &str, location: &str) -> Vec<Package> {
    text.split("\n\n")
        .filter_map(|stanza| {
            let fields = Headers::parse(stanza);
            let status = fields.get("Status").unwrap_or("install ok installed");
            if !status.ends_with(" installed") {
                return None;
            }
            let version = fields.get("Version")?.to_owned();
            Some(Package {
                ecosystem: Ecosystem::Deb,
                name: fields.get("Package")?.to_owned(),
                source: fields.get("Source").map(|s| dpkg_source(s, &version)),
                version,
                arch: fields.get("Architecture").map(str::to_owned),
                location: location.to_owned(),
                owner: None,
            })
        })
        .collect()
}

/// dpkg's `Source: NAME [(VERSION)]` as `NAME`, or `NAME@VERSION` when the
/// source's version is not the package's (as syft writes the purl's
/// `upstream` qualifier).
fn dpkg_source(field: &str, version: &str) -> String {
    match field.split_once('(') {
        Some((name, rest)) => {
            let source_version = rest.trim_end_matches(')').trim();
            if source_version == version {
                name.trim().to_owned()
            } else {
                format!("{}@{source_version}", name.trim())
            }
        }
        None => field.trim().to_owned(),
    }
}

/// The Python distribution a `METADATA` or `PKG-INFO` file describes.
pub fn python_metadata(text: &str, location: &str) -> Option<Package> {
    let fields = Headers::parse(text);
    Some(Package {
        ecosystem: Ecosystem::Pypi,
        name: fields.get("Name")?.to_owned(),
        version: fields.get("Version")?.to_owned(),
        arch: None,
        location: location.to_owned(),
        source: None,
        owner: None,
    })
}

/// The header section of an RFC 822 message (a `METADATA` or `PKG-INFO`
/// file, a dpkg stanza) as Python's `email` parser splits it (the `compat32`
/// policy `importlib.metadata` reads metadata with): lines end in CRLF, CR
/// or LF; a line that starts with a space or a tab continues the field
/// before it (unfolded: the line break dropped, the rest kept); the section
/// ends at the first empty line, or at a line that is neither (no colon, or
/// a name outside printable ASCII, a space included); Unix `From ` lines,
/// fields with an empty name and a continuation before any field are
/// skipped. Values are trimmed, where Python keeps a value's inner line
/// breaks and trailing spaces (no name or version has them).
#[derive(Debug)]
struct Headers<'a>(Vec<(&'a str, String)>);

impl<'a> Headers<'a> {
    /// The fields at the head of `text`, in order.
    fn parse(text: &'a str) -> Self {
        let mut fields: Vec<(&str, String)> = Vec::new();
        let lines = text
            .split('\n')
            .flat_map(|line| line.strip_suffix('\r').unwrap_or(line).split('\r'));
        for line in lines {
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = fields.last_mut() {
                    value.push_str(line);
                }
                continue;
            }
            if line.starts_with("From ") {
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                break;
            };
            if !name.bytes().all(|b| b.is_ascii_graphic()) {
                break;
            }
            if !name.is_empty() {
                fields.push((name, value.to_owned()));
            }
        }
        for (_, value) in &mut fields {
            *value = value.trim().to_owned();
        }
        Headers(fields)
    }

    /// The first value of the field `name` (compared without case), as
    /// Python's `Message.get` gives it.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// `os-release`'s `ID`, `VERSION_ID` and `PRETTY_NAME`.
pub fn parse_os_release(text: &str) -> OsRelease {
    let value = |name: &str| {
        text.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix('=')?;
            Some(rest.trim().trim_matches(['"', '\'']).to_owned())
        })
    };
    OsRelease {
        id: value("ID").unwrap_or_else(|| "linux".into()),
        version_id: value("VERSION_ID"),
        pretty_name: value("PRETTY_NAME"),
    }
}

/// The packages in the output of [`rpm_query`]
/// (`NAME\tEPOCH\tVERSION-RELEASE\tARCH\tSOURCERPM`).
pub fn rpm_packages(output: &str, database: &str) -> Vec<Package> {
    output
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let (name, epoch, version, arch) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
            let source = fields.next().filter(|s| !s.is_empty() && *s != "(none)");
            let version = match epoch {
                "(none)" | "" | "0" => version.to_owned(),
                epoch => format!("{epoch}:{version}"),
            };
            Some(Package {
                ecosystem: Ecosystem::Rpm,
                name: name.to_owned(),
                version,
                arch: Some(arch.to_owned()).filter(|a| a != "(none)"),
                location: database.to_owned(),
                source: source.map(str::to_owned),
                owner: None,
            })
        })
        .collect()
}

/// The command that lists every file of every package in the RPM database
/// at `database`, one `PATH\tNAME` line each (what [`rpm_owners`] reads).
pub fn rpm_files_query(database: &str) -> Vec<String> {
    let mut query = rpm_query(database);
    query.truncate(4);
    query.extend(["--queryformat", "[%{FILENAMES}\\t%{NAME}\\n]"].map(str::to_owned));
    query
}

/// The Python distribution directories in the output of
/// [`rpm_files_query`], with the package that owns each.
pub fn rpm_owners(output: &str) -> BTreeMap<String, String> {
    output
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(path, _)| path.ends_with(".dist-info") || path.ends_with(".egg-info"))
        .map(|(path, name)| (path.to_owned(), name.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(files: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, text) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, path, text.as_bytes())
                .expect("append to a tar in memory");
        }
        builder.into_inner().expect("finish a tar in memory")
    }

    const STATUS: &str = "Package: tzdata\nStatus: install ok installed\nPriority: required\nArchitecture: all\nVersion: 2024a-0+deb12u1\nDescription: time zone and daylight-saving time data\n This package contains data required.\n\nPackage: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0\n\nPackage: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\n";

    #[test]
    fn dpkg_lists_installed_packages_only_with_exact_versions() {
        let packages = dpkg_status(STATUS, "/var/lib/dpkg/status");
        let names: Vec<(&str, &str, Option<&str>)> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.arch.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("tzdata", "2024a-0+deb12u1", Some("all")),
                ("libc6", "2.36-9+deb12u4", Some("amd64"))
            ]
        );
    }

    #[test]
    fn python_metadata_stops_at_the_description() {
        let text = "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\nSummary: Python 2 and 3\n\nName: not-this\nVersion: 9\n";
        let package = python_metadata(text, "/usr/lib/six-1.16.0.dist-info").expect("a distribution");
        assert_eq!((package.name.as_str(), package.version.as_str()), ("six", "1.16.0"));
        assert_eq!(
            python_metadata("Metadata-Version: 2.1\n", "/x"),
            None,
            "no name, no package"
        );
    }

    #[test]
    fn metadata_headers_are_read_as_pythons_email_parser_reads_them() {
        // Each expectation is what `email.message_from_string(text)` gives
        // for `Name` and `Version` (Python 3.11), trimmed.
        let cases: [(&str, Option<&str>, Option<&str>); 13] = [
            (
                "Metadata-Version: 2.1\r\nName: six\r\nVersion: 1.16.0\r\n\r\nName: body\r\n",
                Some("six"),
                Some("1.16.0"),
            ),
            (
                "Name: six\rVersion: 1.16.0\r\rName: body\r",
                Some("six"),
                Some("1.16.0"),
            ),
            (
                "Name: first\nname: second\nVersion: 1\nVersion: 2\n",
                Some("first"),
                Some("1"),
            ),
            ("NAME: six\nversion: 1.0\n", Some("six"), Some("1.0")),
            ("Name: six\nVersion:\n 1.16.0\n", Some("six"), Some("1.16.0")),
            ("Name: six\n\t-extra\nVersion: 1\n", Some("six\t-extra"), Some("1")),
            ("Name: six\n   \nVersion: 1\n", Some("six"), Some("1")),
            ("Name: six\nnot a header\nVersion: 1\n", Some("six"), None),
            ("Name: six\nVersion : 1\nVersion: 2\n", Some("six"), None),
            ("From someone\nName: six\nFrom x\nVersion: 1\n", Some("six"), Some("1")),
            (":bad\n continued\nName: six\nVersion: 1\n", Some("six"), Some("1")),
            ("Name: six\nV\u{e9}rsion: 1\nVersion: 2\n", Some("six"), None),
            ("Name:  six  \nVersion:\t1\n", Some("six"), Some("1")),
        ];
        for (text, name, version) in cases {
            let headers = Headers::parse(text);
            assert_eq!(
                (headers.get("Name"), headers.get("Version")),
                (name, version),
                "{text:?}"
            );
        }
        let package = python_metadata("name: six\r\nVERSION: 1.16.0\r\n\r\nVersion: 0\r\n", "/x");
        assert_eq!(
            package.map(|p| (p.name, p.version)),
            Some(("six".to_owned(), "1.16.0".to_owned()))
        );
    }

    #[test]
    fn what_is_read_of_an_image_is_bounded_per_file_and_in_all() {
        let metadata = |n: usize| {
            (
                format!("usr/lib/python3/dist-packages/p{n}-1.dist-info/METADATA"),
                format!("Name: p{n}\nVersion: 1\n"),
            )
        };
        let files: Vec<(String, String)> = (0..4).map(metadata).collect();
        let tar = archive(&files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect::<Vec<_>>());
        let each = files[0].1.len() as u64;
        let within =
            |file, total| layer_files_within(&tar[..], Limits { file, total }).map(|l| inventory(&[l]).packages.len());
        assert_eq!(within(each, 4 * each).ok(), Some(4), "at the limits");
        let error = within(each - 1, 4 * each).err();
        assert_eq!(error.as_ref().map(std::io::Error::kind), Some(ErrorKind::FileTooLarge));
        assert_eq!(
            error.map(|e| e.to_string()),
            Some(format!(
                "/{} is more than {} bytes, the most the SBOM scanner reads of one file",
                files[0].0,
                each - 1
            ))
        );
        let error = within(each, 4 * each - 1).err();
        assert_eq!(error.as_ref().map(std::io::Error::kind), Some(ErrorKind::FileTooLarge));
        assert_eq!(
            error.map(|e| e.to_string()),
            Some(format!(
                "/{} takes the files the SBOM scanner reads of this image past {} bytes, the most it reads of one image",
                files[3].0,
                4 * each - 1
            ))
        );
        // A header that says more than the limit is refused unread (this
        // archive holds none of the 65 MiB it announces).
        let mut header = tar::Header::new_gnu();
        header.set_size(MAX_FILE + 1);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_path("var/lib/dpkg/status").expect("a short path");
        header.set_cksum();
        let mut lying = header.as_bytes().to_vec();
        lying.extend_from_slice(&[0; 1024]);
        let error = scan(&lying[..]).err().map(|e| e.to_string());
        assert_eq!(
            error,
            Some(format!(
                "/var/lib/dpkg/status is more than {MAX_FILE} bytes, the most the SBOM scanner reads of one file"
            ))
        );
    }

    #[test]
    fn a_file_system_lists_its_os_debs_distributions_and_rpm_database() -> std::io::Result<()> {
        let tar = archive(&[
            (
                "usr/lib/os-release",
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
            ),
            ("var/lib/dpkg/status", STATUS),
            (
                "var/lib/dpkg/status.d/base",
                "Package: base-files\nVersion: 12.4\nArchitecture: amd64\n",
            ),
            (
                "usr/local/lib/python3.11/dist-packages/six-1.16.0.dist-info/METADATA",
                "Name: six\nVersion: 1.16.0\n",
            ),
            (
                "usr/lib/python3/dist-packages/Jinja2-3.1.2.egg-info/PKG-INFO",
                "Name: Jinja2\nVersion: 3.1.2\n",
            ),
            (
                "usr/lib/python3/dist-packages/six-1.16.0.dist-info/RECORD",
                "six.py,,\n",
            ),
            ("var/lib/rpm/rpmdb.sqlite", "SQLite format 3"),
        ]);
        let inventory = scan(&tar[..])?;
        let os = inventory.os.expect("os-release");
        assert_eq!((os.id.as_str(), os.version_id.as_deref()), ("debian", Some("12")));
        let found: Vec<String> = inventory
            .packages
            .iter()
            .map(|p| format!("{:?} {} {} {}", p.ecosystem, p.name, p.version, p.location))
            .collect();
        assert_eq!(
            found,
            [
                "Deb base-files 12.4 /var/lib/dpkg/status.d/base",
                "Deb libc6 2.36-9+deb12u4 /var/lib/dpkg/status",
                "Deb tzdata 2024a-0+deb12u1 /var/lib/dpkg/status",
                "Pypi Jinja2 3.1.2 /usr/lib/python3/dist-packages/Jinja2-3.1.2.egg-info",
                "Pypi six 1.16.0 /usr/local/lib/python3.11/dist-packages/six-1.16.0.dist-info",
            ]
        );
        assert_eq!(inventory.rpm_database.as_deref(), Some("/var/lib/rpm/rpmdb.sqlite"));
        Ok(())
    }

    #[test]
    fn layers_are_laid_bottom_first_and_their_whiteouts_hide_what_lies_beneath() -> std::io::Result<()> {
        let site = "usr/local/lib/python3.11/dist-packages";
        let lower = archive(&[
            ("etc/os-release", "ID=alpine\n"),
            ("usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
            ("var/lib/dpkg/status", STATUS),
            (
                &format!("{site}/six-1.16.0.dist-info/METADATA"),
                "Name: six\nVersion: 1.16.0\n",
            ),
            (
                &format!("{site}/Jinja2-3.1.2.egg-info/PKG-INFO"),
                "Name: Jinja2\nVersion: 3.1.2\n",
            ),
            ("opt/venv/lib/x-1.dist-info/METADATA", "Name: x\nVersion: 1\n"),
            ("opt/venvs-1.dist-info/METADATA", "Name: beside\nVersion: 1\n"),
            ("srv/app/lib/y-1.dist-info/METADATA", "Name: y\nVersion: 1\n"),
        ]);
        let mut upper = tar::Builder::new(Vec::new());
        for (path, text) in [
            (format!("{site}/.wh.six-1.16.0.dist-info"), ""),
            ("opt/venv/.wh..wh..opq".to_owned(), ""),
            (
                "var/lib/dpkg/status".to_owned(),
                "Package: base-files\nStatus: install ok installed\nVersion: 12.4\n",
            ),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            upper.append_data(&mut header, path, text.as_bytes())?;
        }
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        upper.append_link(&mut link, "etc/os-release", "../usr/lib/os-release")?;
        // A directory replaced by a link, with no whiteout: what it held
        // is gone.
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        upper.append_link(&mut link, "srv/app", "/elsewhere")?;
        let upper = upper.into_inner()?;
        let layers = [layer_files(&lower[..])?, layer_files(&upper[..])?];
        let inventory = inventory(&layers);
        let found: Vec<String> = inventory
            .packages
            .iter()
            .map(|p| format!("{} {}", p.name, p.location))
            .collect();
        assert_eq!(
            found,
            [
                "base-files /var/lib/dpkg/status".to_owned(),
                format!("Jinja2 /{site}/Jinja2-3.1.2.egg-info"),
                "beside /opt/venvs-1.dist-info".to_owned(),
            ],
            "the upper status replaces the lower; six is deleted; the opaque venv hides x, not its neighbour; the link hides y"
        );
        assert_eq!(
            inventory.os.map(|os| os.id).as_deref(),
            Some("debian"),
            "the link hides the file"
        );
        assert_eq!(
            crate::sbom::scan::inventory(&layers[..1]).packages.len(),
            7,
            "the lower layer alone still has everything"
        );
        Ok(())
    }

    #[test]
    fn a_debian_package_keeps_its_source_and_its_version_when_it_differs() {
        let status = "Package: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9+deb12u4\n\n\
                      Package: libpython3.11\nStatus: install ok installed\nSource: python3.11 (3.11.2-6+deb12u1)\nVersion: 3.11.2-6+deb12u1\n\n\
                      Package: e2fsprogs-l10n\nStatus: install ok installed\nSource: e2fsprogs (1.47.0-2)\nVersion: 1:1.47.0-2\n\n\
                      Package: tzdata\nStatus: install ok installed\nVersion: 2024a-0+deb12u1\n";
        let sources: Vec<Option<String>> = dpkg_status(status, "/var/lib/dpkg/status")
            .into_iter()
            .map(|p| p.source)
            .collect();
        assert_eq!(
            sources,
            [
                Some("glibc".into()),
                Some("python3.11".into()),
                Some("e2fsprogs@1.47.0-2".into()),
                None
            ]
        );
    }

    #[test]
    fn a_python_distribution_listed_by_a_dpkg_file_list_is_owned_by_that_package() -> std::io::Result<()> {
        let tar = archive(&[
            (
                "var/lib/dpkg/status",
                "Package: python3-pip\nStatus: install ok installed\nSource: python-pip\nVersion: 23.0.1+dfsg-1\n",
            ),
            (
                "usr/lib/python3/dist-packages/pip-23.0.1.dist-info/METADATA",
                "Name: pip\nVersion: 23.0.1\n",
            ),
            (
                "usr/local/lib/python3.11/dist-packages/six-1.16.0.dist-info/METADATA",
                "Name: six\nVersion: 1.16.0\n",
            ),
            (
                "var/lib/dpkg/info/python3-pip.list",
                "/.\n/usr\n/usr/lib/python3/dist-packages/pip\n/usr/lib/python3/dist-packages/pip-23.0.1.dist-info\n/usr/lib/python3/dist-packages/pip-23.0.1.dist-info/METADATA\n",
            ),
            ("var/lib/dpkg/info/libc6:amd64.list", "/usr/lib/x86_64-linux-gnu/libc.so.6\n"),
        ]);
        let inventory = scan(&tar[..])?;
        let owners: Vec<(&str, Option<&str>)> = inventory
            .packages
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Pypi)
            .map(|p| (p.name.as_str(), p.owner.as_deref()))
            .collect();
        assert_eq!(owners, [("pip", Some("python3-pip")), ("six", None)]);
        assert_eq!(dpkg_file_list("var/lib/dpkg/info/libc6:amd64.list"), Some("libc6"));
        assert_eq!(dpkg_file_list("var/lib/dpkg/info/x/y.list"), None);
        Ok(())
    }

    #[test]
    fn rpm_file_lists_say_which_package_owns_each_distribution() {
        let query = rpm_files_query("/var/lib/rpm/rpmdb.sqlite");
        assert_eq!(
            query,
            [
                "rpm",
                "--dbpath",
                "/var/lib/rpm",
                "-qa",
                "--queryformat",
                "[%{FILENAMES}\\t%{NAME}\\n]"
            ]
        );
        let output = "/usr/bin/pip3\tpython3-pip\n\
                      /usr/lib/python3.9/site-packages/pip-21.2.3.dist-info\tpython3-pip\n\
                      /usr/lib/python3.9/site-packages/pip-21.2.3.dist-info/METADATA\tpython3-pip\n\
                      /usr/lib/python3.9/site-packages/setuptools-53.0.0.dist-info\tpython3-setuptools\n\
                      (contains no files)\tgpg-pubkey\n";
        let owners = rpm_owners(output);
        assert_eq!(owners.len(), 2, "{owners:?}");
        assert_eq!(
            owners
                .get("/usr/lib/python3.9/site-packages/pip-21.2.3.dist-info")
                .map(String::as_str),
            Some("python3-pip")
        );
    }

    #[test]
    fn rpm_is_asked_about_the_database_found() {
        let query = rpm_query("/usr/lib/sysimage/rpm/rpmdb.sqlite");
        assert_eq!(&query[..4], ["rpm", "--dbpath", "/usr/lib/sysimage/rpm", "-qa"]);
    }

    #[test]
    fn rpm_output_keeps_the_epoch_only_when_there_is_one() {
        let output = "bash\t(none)\t5.2.15-1.amzn2023.0.2\tx86_64\tbash-5.2.15-1.amzn2023.0.2.src.rpm\njava-17-amazon-corretto-headless\t1\t17.0.9+8-1\tx86_64\t(none)\ngpg-pubkey\t(none)\tabc-def\t(none)\n";
        let packages = rpm_packages(output, "/var/lib/rpm/rpmdb.sqlite");
        let found: Vec<(&str, &str, Option<&str>)> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.arch.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                ("bash", "5.2.15-1.amzn2023.0.2", Some("x86_64")),
                ("java-17-amazon-corretto-headless", "1:17.0.9+8-1", Some("x86_64")),
                ("gpg-pubkey", "abc-def", None),
            ]
        );
        assert_eq!(
            packages[0].source.as_deref(),
            Some("bash-5.2.15-1.amzn2023.0.2.src.rpm")
        );
        assert_eq!(packages[1].source, None);
    }
}
