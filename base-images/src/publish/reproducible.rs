//! Byte-reproducible step layers, in the spirit of BuildKit's
//! `rewrite-timestamp` (which only clamps): each layer a version's steps made is rewritten on export with its
//! entries in one fixed order (by path; a hard link right after its
//! target), modification times set by [`Times`] (never after the epoch,
//! the release's `created`: `SOURCE_DATE_EPOCH`, else the release time;
//! every time a build can have written, after the root image was made,
//! set to the epoch, so a rebuild from an empty cache gives the same
//! bytes as a build whose steps came from the cache), headers rebuilt
//! in one format (GNU, extended attributes kept as PAX records, access and
//! change times dropped), and the files steps leave behind that differ
//! from build to build dropped ([`VOLATILE`]). The root image's layers are
//! published as they are: they are the upstream's, shared with it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};

/// Files a step leaves behind whose bytes differ from one build to the
/// next although the step did the same thing; dropped from published step
/// layers. A pattern ending in `/` names everything under a directory; one
/// starting with `*/` a file or directory name anywhere.
pub const VOLATILE: &[&str] = &[
    // apt's and dpkg's logs: a line per action, with its time.
    "var/log/apt/",
    "var/log/dpkg.log",
    "var/log/alternatives.log",
    // apt's binary package caches (rebuilt with their own timestamps).
    "var/cache/apt/pkgcache.bin",
    "var/cache/apt/srcpkgcache.bin",
    // dpkg's previous status database (a copy from before the last run).
    "var/lib/dpkg/status-old",
    // ldconfig's cache of file times.
    "var/cache/ldconfig/aux-cache",
    // Python bytecode: each file records its source's modification time.
    "*/__pycache__/",
    // debconf's backups of its databases.
    "var/cache/debconf/config.dat-old",
    "var/cache/debconf/templates.dat-old",
];

/// The modification times a rewritten layer records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Times {
    /// No time is later than this (seconds since 1970).
    pub epoch: u64,
    /// When set, every time after it (the root image's creation: anything
    /// a step wrote, whenever that step ran) is the epoch.
    pub settled_after: Option<u64>,
}

impl Times {
    /// The time an entry modified at `mtime` records.
    pub fn of(self, mtime: u64) -> u64 {
        match self.settled_after {
            Some(after) if mtime > after => self.epoch,
            _ => mtime.min(self.epoch),
        }
    }
}

/// Whether a layer entry at `path` (no leading `/`) is in [`VOLATILE`].
pub fn is_volatile(path: &str) -> bool {
    let path = path.trim_start_matches("./").trim_start_matches('/');
    VOLATILE.iter().any(|pattern| match pattern.strip_prefix("*/") {
        Some(name) => {
            let name = name.trim_end_matches('/');
            path.split('/').any(|part| part == name)
        }
        None if pattern.ends_with('/') => path.starts_with(pattern) || path == pattern.trim_end_matches('/'),
        None => path == *pattern,
    })
}

/// One entry of a layer, held while the layer is put in order.
struct Held {
    path: Vec<u8>,
    header: tar::Header,
    link: Option<Vec<u8>>,
    xattrs: Vec<(String, Vec<u8>)>,
    data: Vec<u8>,
}

/// Rewrites the layer tar `input` to `output` reproducibly (see the module
/// documentation), modification times as `times` says.
pub fn rewrite(input: impl Read, times: Times, output: impl Write) -> io::Result<()> {
    let mut held = Vec::new();
    let mut archive = tar::Archive::new(input);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path_bytes().into_owned();
        if is_volatile(&String::from_utf8_lossy(&path)) {
            continue;
        }
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        // A hard link to a dropped file would point at nothing.
        if entry.header().entry_type() == tar::EntryType::Link
            && link.as_ref().is_some_and(|l| is_volatile(&String::from_utf8_lossy(l)))
        {
            continue;
        }
        let mut xattrs = Vec::new();
        if let Some(extensions) = entry.pax_extensions()? {
            for extension in extensions {
                let extension = extension?;
                let key = extension.key().map_err(io::Error::other)?;
                if key.starts_with("SCHILY.xattr.") {
                    xattrs.push((key.to_owned(), extension.value_bytes().to_vec()));
                }
            }
        }
        let header = canonical_header(entry.header(), times)?;
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        held.push(Held {
            path,
            header,
            link,
            xattrs,
            data,
        });
    }
    let mut builder = tar::Builder::new(output);
    for entry in in_order(held) {
        builder.append_pax_extensions(entry.xattrs.iter().map(|(k, v)| (k.as_str(), v.as_slice())))?;
        let path = String::from_utf8_lossy(&entry.path).into_owned();
        let mut header = entry.header;
        match &entry.link {
            Some(target) if matches!(header.entry_type(), tar::EntryType::Link | tar::EntryType::Symlink) => {
                builder.append_link(&mut header, &path, String::from_utf8_lossy(target).as_ref())?;
            }
            _ => builder.append_data(&mut header, &path, &entry.data[..])?,
        }
    }
    builder.into_inner()?.flush()
}

/// A GNU header with `original`'s type, mode, owner, size and device, and
/// its modification time as `times` says.
fn canonical_header(original: &tar::Header, times: Times) -> io::Result<tar::Header> {
    let mut header = tar::Header::new_gnu();
    let kind = original.entry_type();
    header.set_entry_type(kind);
    header.set_mode(original.mode()?);
    header.set_uid(original.uid()?);
    header.set_gid(original.gid()?);
    header.set_mtime(times.of(original.mtime()?));
    header.set_size(if kind.is_file() { original.size()? } else { 0 });
    if let Some(name) = original.username().ok().flatten() {
        let _ = header.set_username(name);
    }
    if let Some(name) = original.groupname().ok().flatten() {
        let _ = header.set_groupname(name);
    }
    if matches!(kind, tar::EntryType::Char | tar::EntryType::Block) {
        header.set_device_major(original.device_major()?.unwrap_or(0))?;
        header.set_device_minor(original.device_minor()?.unwrap_or(0))?;
    }
    Ok(header)
}

/// Entries by path, each hard link moved right after its target (an
/// extractor creates the link from a file that must already exist).
fn in_order(mut held: Vec<Held>) -> Vec<Held> {
    held.sort_by(|a, b| a.path.cmp(&b.path));
    let present: BTreeSet<Vec<u8>> = held.iter().map(|h| h.path.clone()).collect();
    let mut waiting: BTreeMap<Vec<u8>, Vec<Held>> = BTreeMap::new();
    let mut ordered = Vec::with_capacity(held.len());
    let mut emitted: BTreeSet<Vec<u8>> = BTreeSet::new();
    for entry in held {
        if entry.header.entry_type() == tar::EntryType::Link {
            if let Some(target) = entry.link.clone() {
                if present.contains(&target) && !emitted.contains(&target) {
                    waiting.entry(target).or_default().push(entry);
                    continue;
                }
            }
        }
        let path = entry.path.clone();
        ordered.push(entry);
        emitted.insert(path.clone());
        let mut next = vec![path];
        while let Some(done) = next.pop() {
            for link in waiting.remove(&done).unwrap_or_default() {
                next.push(link.path.clone());
                emitted.insert(link.path.clone());
                ordered.push(link);
            }
        }
    }
    // Links whose target never came (a cycle cannot happen in a tar).
    ordered.extend(waiting.into_values().flatten());
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Entry<'a> {
        path: &'a str,
        kind: tar::EntryType,
        mtime: u64,
        data: &'a [u8],
        link: Option<&'a str>,
    }

    fn file<'a>(path: &'a str, mtime: u64, data: &'a [u8]) -> Entry<'a> {
        Entry {
            path,
            kind: tar::EntryType::Regular,
            mtime,
            data,
            link: None,
        }
    }

    fn layer(entries: &[Entry<'_>]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for e in entries {
            // A ustar header with an access time, as another writer might.
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(e.kind);
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(e.mtime);
            header.set_size(e.data.len() as u64);
            let done = match e.link {
                Some(target) => builder.append_link(&mut header, e.path, target),
                None => builder.append_data(&mut header, e.path, e.data),
            };
            done.unwrap_or_else(|err| panic!("{err}"));
        }
        builder.into_inner().unwrap_or_else(|err| panic!("{err}"))
    }

    fn listing(bytes: &[u8]) -> Vec<(String, u64)> {
        let mut archive = tar::Archive::new(bytes);
        archive
            .entries()
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|e| {
                let e = e.unwrap_or_else(|err| panic!("{err}"));
                (
                    e.path().unwrap_or_default().to_string_lossy().into_owned(),
                    e.header().mtime().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn rewritten(bytes: &[u8], epoch: u64) -> Vec<u8> {
        rewritten_with(
            bytes,
            Times {
                epoch,
                settled_after: None,
            },
        )
    }

    fn rewritten_with(bytes: &[u8], times: Times) -> Vec<u8> {
        let mut out = Vec::new();
        rewrite(bytes, times, &mut out).unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn volatile_paths_are_matched_where_the_list_says() {
        for path in [
            "var/log/apt/history.log",
            "var/log/apt",
            "var/log/dpkg.log",
            "./var/cache/ldconfig/aux-cache",
            "usr/lib/python3/dist-packages/__pycache__/six.cpython-311.pyc",
            "usr/local/lib/python3.11/__pycache__",
        ] {
            assert!(is_volatile(path), "{path}");
        }
        for path in [
            "var/log/apt-keep",
            "var/lib/dpkg/status",
            "usr/lib/python3/six.py",
            "etc/ld.so.cache",
        ] {
            assert!(!is_volatile(path), "{path}");
        }
    }

    #[test]
    fn two_builds_of_the_same_step_give_the_same_bytes() {
        let epoch = 1_700_000_000;
        // The same files, written in another order at other times, with
        // the logs and bytecode of their own run.
        let first = layer(&[
            file("usr/bin/tool", epoch + 100, b"tool"),
            file("etc/tool.conf", epoch + 101, b"conf"),
            file("var/log/dpkg.log", epoch + 102, b"2026-11-26 10:00 install tool"),
            file("usr/lib/__pycache__/m.pyc", epoch + 103, b"\x01100"),
            file("usr/share/doc/old", 1_000, b"packaged long ago"),
            Entry {
                path: "usr/lib/m.pyc",
                kind: tar::EntryType::Link,
                mtime: epoch + 104,
                data: b"",
                link: Some("usr/lib/__pycache__/m.pyc"),
            },
        ]);
        let second = layer(&[
            file("usr/share/doc/old", 1_000, b"packaged long ago"),
            file("etc/tool.conf", epoch + 900, b"conf"),
            file("usr/lib/__pycache__/m.pyc", epoch + 901, b"\x01900"),
            file("var/log/dpkg.log", epoch + 902, b"2026-11-27 11:00 install tool"),
            file("usr/bin/tool", epoch + 903, b"tool"),
        ]);
        assert_ne!(first, second);
        let (a, b) = (rewritten(&first, epoch), rewritten(&second, epoch));
        assert_eq!(a, b, "byte-identical");
        assert_eq!(
            listing(&a),
            [
                ("etc/tool.conf".to_owned(), epoch),
                ("usr/bin/tool".to_owned(), epoch),
                ("usr/share/doc/old".to_owned(), 1_000),
            ],
            "sorted, clamped (older times kept), logs, bytecode and links to it dropped"
        );
        assert_eq!(rewritten(&a, epoch), a, "rewriting is idempotent");
    }

    #[test]
    fn a_step_built_before_the_release_and_one_rebuilt_after_it_give_the_same_bytes() {
        // The root was made at `root`; the release's epoch is later. A
        // release whose step came from the cache carries the times of the
        // build that made it (before the epoch), a rebuild from an empty
        // cache its own (after it); a packaged file keeps its old time.
        let (root, epoch) = (1_600_000_000, 1_700_000_000);
        let cached = layer(&[
            file("etc/passwd", epoch - 5_000, b"airbyte"),
            file("etc/tool.conf", epoch - 5_000, b"conf"),
            file("usr/share/doc/old", 1_000, b"packaged long ago"),
        ]);
        let rebuilt = layer(&[
            file("etc/passwd", epoch + 7_000, b"airbyte"),
            file("etc/tool.conf", epoch + 7_000, b"conf"),
            file("usr/share/doc/old", 1_000, b"packaged long ago"),
        ]);
        let clamped = |bytes: &[u8]| rewritten(bytes, epoch);
        assert_ne!(
            clamped(&cached),
            clamped(&rebuilt),
            "clamping alone keeps the cached build's times"
        );
        let settled = Times {
            epoch,
            settled_after: Some(root),
        };
        let (a, b) = (rewritten_with(&cached, settled), rewritten_with(&rebuilt, settled));
        assert_eq!(a, b, "byte-identical");
        assert_eq!(
            listing(&a),
            [
                ("etc/passwd".to_owned(), epoch),
                ("etc/tool.conf".to_owned(), epoch),
                ("usr/share/doc/old".to_owned(), 1_000),
            ]
        );
        assert_eq!(settled.of(root), root, "the root's own time is kept");
        assert_eq!(settled.of(root + 1), epoch);
        let before_the_root = Times {
            epoch: root - 10,
            settled_after: Some(root),
        };
        assert_eq!(before_the_root.of(root - 5), root - 10, "never after the epoch");
    }

    #[test]
    fn extended_attributes_are_kept_and_other_pax_records_dropped() {
        let mut builder = tar::Builder::new(Vec::new());
        let records: [(&str, &[u8]); 2] = [
            ("SCHILY.xattr.security.capability", b"\x01\x00\x00\x02"),
            ("atime", b"1700000123.5"),
        ];
        builder.append_pax_extensions(records).unwrap_or_else(|e| panic!("{e}"));
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o755);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(7);
        header.set_size(4);
        builder
            .append_data(&mut header, "usr/bin/ping", &b"ping"[..])
            .unwrap_or_else(|e| panic!("{e}"));
        let out = rewritten(&builder.into_inner().unwrap_or_else(|e| panic!("{e}")), 10);
        let mut archive = tar::Archive::new(&out[..]);
        let mut entries = archive.entries().unwrap_or_else(|e| panic!("{e}"));
        let mut entry = entries
            .next()
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("an entry"));
        let kept: Vec<(String, Vec<u8>)> = entry
            .pax_extensions()
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|x| (x.key().unwrap_or_default().to_owned(), x.value_bytes().to_vec()))
            .collect();
        assert_eq!(
            kept,
            [(
                "SCHILY.xattr.security.capability".to_owned(),
                b"\x01\x00\x00\x02".to_vec()
            )]
        );
        assert_eq!(entry.header().mode().unwrap_or_default(), 0o755);
    }

    #[test]
    fn a_hard_link_follows_its_target_and_long_names_survive() {
        let long = format!("opt/{}/file", "d".repeat(120));
        let bytes = layer(&[
            Entry {
                path: "a/link",
                kind: tar::EntryType::Link,
                mtime: 5,
                data: b"",
                link: Some("z/target"),
            },
            file("z/target", 5, b"content"),
            file(&long, 5, b"long"),
            Entry {
                path: "b/symlink",
                kind: tar::EntryType::Symlink,
                mtime: 5,
                data: b"",
                link: Some("../z/target"),
            },
        ]);
        let out = rewritten(&bytes, 10);
        let paths: Vec<String> = listing(&out).into_iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["b/symlink", long.as_str(), "z/target", "a/link"]);
        let mut archive = tar::Archive::new(&out[..]);
        let links: Vec<(String, String)> = archive
            .entries()
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| {
                let e = e.ok()?;
                let target = e.link_name().ok()??.to_string_lossy().into_owned();
                Some((e.path().ok()?.to_string_lossy().into_owned(), target))
            })
            .collect();
        assert_eq!(
            links,
            [
                ("b/symlink".to_owned(), "../z/target".to_owned()),
                ("a/link".to_owned(), "z/target".to_owned())
            ]
        );
    }
}
