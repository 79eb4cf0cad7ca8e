//! The entries of an unpacked archive, and their tar form: the one model
//! the archive reader (`archive`) fills from a zip or a tar and the Docker
//! engine's build context packs again, with the code that reads a tar
//! entry's link and writes entries (and the context's Dockerfile) into a
//! tar. It imports neither of its users.

use std::io::Read;

/// One entry of an unpacked archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its path relative to the directory unpacked into (`/`-separated).
    pub path: String,
    /// Its permission bits.
    pub mode: u32,
    /// What it is.
    pub kind: EntryKind,
}

/// What an archive entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Directory,
    /// A regular file with its contents.
    File(Vec<u8>),
    /// A symbolic link to a target.
    Symlink(String),
    /// A hard link to the file at this path (relative to the directory,
    /// listed before it); its entry's mode is that file's.
    HardLink(String),
}

/// The target a tar link entry names (empty when it names none).
pub(crate) fn link_target<R: Read>(item: &tar::Entry<'_, R>) -> String {
    item.link_name()
        .ok()
        .flatten()
        .map(|t| t.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Appends `entries` under `name` (the entry with an empty path is
/// `name` itself), owned by `ids`, to `builder`.
pub(crate) fn append_entries(
    builder: &mut tar::Builder<Vec<u8>>,
    name: &str,
    entries: &[Entry],
    (uid, gid): (u64, u64),
) -> std::io::Result<()> {
    for entry in entries {
        let mut path = name.to_owned();
        if !entry.path.is_empty() {
            path.push('/');
            path.push_str(&entry.path);
        }
        let mut header = tar::Header::new_gnu();
        header.set_mode(entry.mode);
        header.set_uid(uid);
        header.set_gid(gid);
        header.set_size(0);
        match &entry.kind {
            EntryKind::Directory => {
                header.set_entry_type(tar::EntryType::Directory);
                builder.append_data(&mut header, format!("{path}/"), std::io::empty())?;
            }
            EntryKind::File(contents) => {
                header.set_size(contents.len() as u64);
                builder.append_data(&mut header, path, &contents[..])?;
            }
            EntryKind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                builder.append_link(&mut header, path, target)?;
            }
            EntryKind::HardLink(target) => {
                // A hard link names its file from the archive's top, as `path` does.
                header.set_entry_type(tar::EntryType::Link);
                builder.append_link(&mut header, path, format!("{name}/{target}"))?;
            }
        }
    }
    Ok(())
}

/// Appends the regular file `name` holding `contents`, with `mode` and no
/// owner set (a build context's Dockerfile), to `builder`.
pub(crate) fn append_file(
    builder: &mut tar::Builder<Vec<u8>>,
    name: &str,
    mode: u32,
    contents: &[u8],
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_mode(mode);
    header.set_size(contents.len() as u64);
    builder.append_data(&mut header, name, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_hold_the_entries_with_their_owner() {
        let entries = [
            Entry {
                path: String::new(),
                mode: 0o755,
                kind: EntryKind::Directory,
            },
            Entry {
                path: "f.txt".into(),
                mode: 0o600,
                kind: EntryKind::File(b"hi".to_vec()),
            },
        ];
        let mut builder = tar::Builder::new(Vec::new());
        append_entries(&mut builder, "b", &entries, (1000, 1001)).unwrap();
        let bytes = builder.into_inner().unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let listed: Vec<(String, u32, u64, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            [("b/".into(), 0o755, 1000, 1001), ("b/f.txt".into(), 0o600, 1000, 1001)]
        );
    }

    #[test]
    fn hard_links_are_packed_as_hard_links_to_their_file() {
        let entries = [
            Entry {
                path: "bin/tool".into(),
                mode: 0o755,
                kind: EntryKind::File(b"#!/bin/sh\n".to_vec()),
            },
            Entry {
                path: "bin/alias".into(),
                mode: 0o755,
                kind: EntryKind::HardLink("bin/tool".into()),
            },
        ];
        let mut builder = tar::Builder::new(Vec::new());
        append_entries(&mut builder, "4", &entries, (0, 0)).unwrap();
        let bytes = builder.into_inner().unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let alias = archive.entries().unwrap().nth(1).unwrap().unwrap();
        assert_eq!(alias.header().entry_type(), tar::EntryType::Link);
        assert_eq!(alias.path().unwrap().to_str(), Some("4/bin/alias"));
        assert_eq!(
            alias.link_name().unwrap().unwrap().to_str(),
            Some("4/bin/tool"),
            "named from the context's top, as the file is"
        );
    }
}
