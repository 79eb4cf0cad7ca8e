//! Archives a recipe fetches, read on the host into their entries (the
//! model of `entry`) with every rule a fetched archive must keep checked,
//! before any engine sees it: at most so many entries and so many bytes
//! unpacked (a zip or tar bomb is refused, not unpacked); no entry outside
//! the directory, at or beneath a symbolic link, with the setuid or setgid
//! bit, nor a device, fifo or socket; no symbolic link pointing outside the
//! directory. Hard links are kept (to a file listed before them), so the
//! Docker engine, which packs these entries, and the unpacking helper of
//! the Dockerfile and Dagger paths give the same files.

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::rc::Rc;

use bytesize::ByteSize;

use super::entry::{link_target, Entry, EntryKind};
use crate::step::ArchiveFormat;

/// How much one archive may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// The most bytes its files (and link targets) may unpack to.
    pub unpacked: u64,
    /// The most entries it may hold.
    pub entries: usize,
}

impl Default for ArchiveLimits {
    /// 4 GiB unpacked and 100,000 entries: far above any input a base image
    /// fetches (the catalog's largest is a few MiB), far below what would
    /// exhaust the host (the entries are held in memory).
    fn default() -> Self {
        ArchiveLimits {
            unpacked: 4 * bytesize::GIB,
            entries: 100_000,
        }
    }
}

/// Why an archive is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// It cannot be read as its format.
    #[error("is not a valid {format} archive: {reason}")]
    Malformed {
        /// The format it was read as.
        format: &'static str,
        /// What the reader said.
        reason: String,
    },
    /// It holds more entries than the limit.
    #[error("holds more than {limit} entries (an archive bomb?)")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// It unpacks to more bytes than the limit.
    #[error("unpacks to more than {} (an archive bomb?)", ByteSize(*limit))]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// An entry would land outside the directory.
    #[error("holds the entry `{path}`, which would land outside the directory")]
    Outside {
        /// The entry's path as the archive names it.
        path: String,
    },
    /// An entry has the setuid or setgid bit.
    #[error("holds `{path}` with the setuid or setgid bit (mode {mode:o})")]
    SetId {
        /// The entry.
        path: String,
        /// Its mode.
        mode: u32,
    },
    /// An entry is a device file, a fifo or a socket.
    #[error("holds `{path}`, a {kind}: device files, fifos and sockets are refused")]
    Special {
        /// The entry.
        path: String,
        /// What it is.
        kind: &'static str,
    },
    /// An entry is of a kind this reader does not unpack.
    #[error("holds `{path}`, an entry of a kind that is not unpacked ({kind})")]
    Unsupported {
        /// The entry.
        path: String,
        /// What the archive says it is.
        kind: String,
    },
    /// A symbolic link points outside the directory.
    #[error(
        "holds the symbolic link `{path}` to `{target}`, which points outside the directory (absolute, or climbing \
         out of it or out of another link with `..`)"
    )]
    LinkOutside {
        /// The link.
        path: String,
        /// Its target.
        target: String,
    },
    /// An entry is at or beneath a symbolic link of the archive.
    #[error("holds `{path}` at or beneath the symbolic link `{link}`, which would be written through the link")]
    BeneathLink {
        /// The entry.
        path: String,
        /// The link.
        link: String,
    },
    /// A hard link names no file listed before it.
    #[error("holds the hard link `{path}` to `{target}`, which is no file listed before it")]
    DanglingHardLink {
        /// The link.
        path: String,
        /// What it links to.
        target: String,
    },
}

/// The entries of an archive, in archive order, each rule checked; an
/// archive breaking one is refused whole.
pub fn unpack(format: ArchiveFormat, bytes: &[u8], limits: &ArchiveLimits) -> Result<Vec<Entry>, ArchiveError> {
    let mut budget = Budget {
        limits: *limits,
        format,
        entries: 0,
        bytes: 0,
        cut: Rc::default(),
    };
    let entries = match format {
        ArchiveFormat::Zip => unzip(bytes, &mut budget)?,
        ArchiveFormat::Tar => untar(bytes, &mut budget)?,
        ArchiveFormat::TarGz => untar(flate2::read::GzDecoder::new(bytes), &mut budget)?,
    };
    check_links(&entries)?;
    Ok(entries)
}

/// What an archive has used of its limits so far.
struct Budget {
    limits: ArchiveLimits,
    format: ArchiveFormat,
    entries: usize,
    bytes: u64,
    /// Set when a tar stream was cut at its cap (see [`Capped`]).
    cut: Rc<Cell<bool>>,
}

impl Budget {
    /// The archive's failure to read: too large when its stream was cut
    /// at the cap, else not valid.
    fn malformed(&self, reason: impl std::fmt::Display) -> ArchiveError {
        if self.cut.get() {
            return ArchiveError::TooLarge {
                limit: self.limits.unpacked,
            };
        }
        ArchiveError::Malformed {
            format: self.format.name(),
            reason: reason.to_string(),
        }
    }

    /// `reader` cut after the unpacked limit and room for every entry's
    /// headers: what tar reads whole, like a pax header or a long name,
    /// is bounded too (a gzip stream of zeros is a small download).
    fn capped<R: Read>(&self, reader: R) -> Capped<R> {
        let headers = (self.limits.entries as u64 + 1).saturating_mul(TAR_ENTRY_OVERHEAD);
        Capped {
            inner: reader,
            left: self.limits.unpacked.saturating_add(headers),
            cut: self.cut.clone(),
        }
    }

    /// Counts one more entry.
    fn entry(&mut self) -> Result<(), ArchiveError> {
        self.entries += 1;
        if self.entries > self.limits.entries {
            return Err(ArchiveError::TooManyEntries {
                limit: self.limits.entries,
            });
        }
        Ok(())
    }

    /// The contents of an entry that says it holds `declared` bytes, read
    /// no further than the limit allows (the header may lie).
    fn read(&mut self, path: &str, declared: u64, from: impl Read) -> Result<Vec<u8>, ArchiveError> {
        let left = self.limits.unpacked - self.bytes;
        let too_large = ArchiveError::TooLarge {
            limit: self.limits.unpacked,
        };
        if declared > left {
            return Err(too_large);
        }
        let mut contents = Vec::with_capacity(declared.min(1 << 20) as usize);
        from.take(left + 1)
            .read_to_end(&mut contents)
            .map_err(|e| self.malformed(format!("{path}: {e}")))?;
        if contents.len() as u64 > left {
            return Err(too_large);
        }
        self.bytes += contents.len() as u64;
        Ok(contents)
    }
}

/// What a tar stream may hold per entry besides its contents: a header,
/// a long name and a pax header (a block each) and the padding.
const TAR_ENTRY_OVERHEAD: u64 = 4 * 512;

/// A reader that fails, and says so in `cut`, past `left` bytes.
struct Capped<R> {
    inner: R,
    left: u64,
    cut: Rc<Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)? as u64;
        if read > self.left {
            self.cut.set(true);
            return Err(std::io::Error::other("the archive's stream goes on past its limit"));
        }
        self.left -= read;
        Ok(read as usize)
    }
}

/// `path` as a relative path inside the directory, if it stays inside.
fn inside(path: &str) -> Result<String, ArchiveError> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if path.starts_with('/') || parts.contains(&"..") || parts.is_empty() {
        return Err(ArchiveError::Outside { path: path.to_owned() });
    }
    Ok(parts.join("/"))
}

/// The entry at `name` with `mode`, its path checked and the set-id bits refused.
fn entry(name: &str, mode: u32, kind: EntryKind) -> Result<Entry, ArchiveError> {
    let path = inside(name)?;
    if mode & 0o6000 != 0 {
        return Err(ArchiveError::SetId { path, mode });
    }
    Ok(Entry { path, mode, kind })
}

/// What a Unix file type (the `S_IFMT` bits of a mode) is, when it is a
/// device, a fifo or a socket.
fn special(mode: u32) -> Option<&'static str> {
    match mode & 0o170000 {
        0o020000 => Some("character device"),
        0o060000 => Some("block device"),
        0o010000 => Some("fifo"),
        0o140000 => Some("socket"),
        _ => None,
    }
}

fn unzip(bytes: &[u8], budget: &mut Budget) -> Result<Vec<Entry>, ArchiveError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| budget.malformed(e))?;
    if archive.len() > budget.limits.entries {
        return Err(ArchiveError::TooManyEntries {
            limit: budget.limits.entries,
        });
    }
    let mut entries = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        budget.entry()?;
        let file = archive
            .by_index(index)
            .map_err(|e| budget.malformed(format!("entry {index}: {e}")))?;
        let name = file.name().to_owned();
        let unix = file.unix_mode().unwrap_or(0);
        if let Some(kind) = special(unix) {
            return Err(ArchiveError::Special { path: name, kind });
        }
        let is_link = unix & 0o170000 == 0o120000;
        let is_dir = file.is_dir() || unix & 0o170000 == 0o040000;
        let declared = file.size();
        let contents = budget.read(&name, declared, file)?;
        let (kind, default_mode) = if is_dir {
            (EntryKind::Directory, 0o755)
        } else if is_link {
            (
                EntryKind::Symlink(String::from_utf8_lossy(&contents).into_owned()),
                0o777,
            )
        } else {
            (EntryKind::File(contents), 0o644)
        };
        let mode = if unix == 0 { default_mode } else { unix & 0o7777 };
        entries.push(entry(&name, mode, kind)?);
    }
    Ok(entries)
}

fn untar(reader: impl Read, budget: &mut Budget) -> Result<Vec<Entry>, ArchiveError> {
    let mut archive = tar::Archive::new(budget.capped(reader));
    let mut entries = Vec::new();
    // The mode of each file so far: a hard link is its file, mode included
    // (tar ignores a hard link header's own mode).
    let mut files: HashMap<String, u32> = HashMap::new();
    for item in archive.entries().map_err(|e| budget.malformed(e))? {
        budget.entry()?;
        let mut item = item.map_err(|e| budget.malformed(e))?;
        let name = item
            .path()
            .map_err(|e| budget.malformed(e))?
            .to_string_lossy()
            .into_owned();
        let mut mode = item
            .header()
            .mode()
            .map_err(|e| budget.malformed(format!("{name}: {e}")))?
            & 0o7777;
        let kind = match item.header().entry_type() {
            tar::EntryType::Directory if name == "." || name == "./" => continue,
            tar::EntryType::XGlobalHeader => continue,
            tar::EntryType::Directory => EntryKind::Directory,
            tar::EntryType::Symlink => EntryKind::Symlink(link_target(&item)),
            tar::EntryType::Link => {
                let target = link_target(&item);
                let file = inside(&target).ok().and_then(|t| files.get(&t).map(|mode| (t, *mode)));
                let Some((target, file_mode)) = file else {
                    return Err(ArchiveError::DanglingHardLink { path: name, target });
                };
                mode = file_mode;
                EntryKind::HardLink(target)
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let declared = item.size();
                EntryKind::File(budget.read(&name, declared, &mut item)?)
            }
            tar::EntryType::Char => return Err(special_entry(name, "character device")),
            tar::EntryType::Block => return Err(special_entry(name, "block device")),
            tar::EntryType::Fifo => return Err(special_entry(name, "fifo")),
            other => {
                return Err(ArchiveError::Unsupported {
                    path: name,
                    kind: format!("tar type {:?}", other.as_byte() as char),
                })
            }
        };
        let entry = entry(&name, mode, kind)?;
        // A later entry of the same path replaces the file: a hard link to
        // that path then names what replaced it, never the stale file.
        if let EntryKind::File(_) = entry.kind {
            files.insert(entry.path.clone(), entry.mode);
        } else {
            files.remove(&entry.path);
        }
        entries.push(entry);
    }
    Ok(entries)
}

fn special_entry(path: String, kind: &'static str) -> ArchiveError {
    ArchiveError::Special { path, kind }
}

/// The directories above `path` (`a`, `a/b` for `a/b/c`).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(at, _)| &path[..at])
}

/// Refuses entries at or beneath a symbolic link and links pointing outside.
fn check_links(entries: &[Entry]) -> Result<(), ArchiveError> {
    let links: BTreeSet<&str> = entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Symlink(_)))
        .map(|e| e.path.as_str())
        .collect();
    let mut seen_links = BTreeSet::new();
    for entry in entries {
        let path = entry.path.as_str();
        let at_link = seen_links.contains(path).then_some(path);
        if let Some(link) = at_link.or_else(|| ancestors(path).find(|a| links.contains(a))) {
            return Err(ArchiveError::BeneathLink {
                path: path.to_owned(),
                link: link.to_owned(),
            });
        }
        if let EntryKind::Symlink(target) = &entry.kind {
            target_inside(path, target, &links)?;
            seen_links.insert(path);
        }
    }
    Ok(())
}

/// Refuses a link at `path` whose `target` is absolute, climbs above the
/// directory, or climbs (`..`) after passing through another link (where
/// the kernel's resolution and this one could part).
fn target_inside(path: &str, target: &str, links: &BTreeSet<&str>) -> Result<(), ArchiveError> {
    let outside = || ArchiveError::LinkOutside {
        path: path.to_owned(),
        target: target.to_owned(),
    };
    if target.starts_with('/') {
        return Err(outside());
    }
    let mut at: Vec<&str> = path.split('/').collect();
    at.pop();
    let mut through_link = false;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if through_link || at.pop().is_none() {
                    return Err(outside());
                }
            }
            name => {
                at.push(name);
                through_link |= links.contains(at.join("/").as_str());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    const LIMITS: ArchiveLimits = ArchiveLimits {
        unpacked: 64 * 1024,
        entries: 10,
    };

    #[test]
    fn formats_are_told_by_the_urls_name() {
        assert_eq!(ArchiveFormat::of_url("https://h/a/punkt.zip"), Some(ArchiveFormat::Zip));
        assert_eq!(ArchiveFormat::of_url("https://h/a.TGZ?x=1"), Some(ArchiveFormat::TarGz));
        assert_eq!(
            ArchiveFormat::of_url("https://h/a.tar.gz#frag"),
            Some(ArchiveFormat::TarGz)
        );
        assert_eq!(ArchiveFormat::of_url("https://h/a.tar"), Some(ArchiveFormat::Tar));
        assert_eq!(ArchiveFormat::of_url("https://h/a.zip.sig"), None);
    }

    fn zip_of(names: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o640);
        for (name, contents) in names {
            if name.ends_with('/') {
                writer.add_directory(*name, options).unwrap();
            } else {
                writer.start_file(*name, options).unwrap();
                writer.write_all(contents).unwrap();
            }
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn zip_and_tar_gz_unpack_to_the_same_entries() {
        let zipped = zip_of(&[("punkt/", b""), ("punkt/README", b"hi\n")]);
        let entries = unpack(ArchiveFormat::Zip, &zipped, &LIMITS).unwrap();
        assert_eq!(
            entries,
            [
                Entry {
                    path: "punkt".into(),
                    mode: 0o640,
                    kind: EntryKind::Directory
                },
                Entry {
                    path: "punkt/README".into(),
                    mode: 0o640,
                    kind: EntryKind::File(b"hi\n".to_vec())
                },
            ]
        );
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o640);
        builder
            .append_data(&mut header, "./punkt/README", &b"hi\n"[..])
            .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&builder.into_inner().unwrap()).unwrap();
        let entries = unpack(ArchiveFormat::TarGz, &gz.finish().unwrap(), &LIMITS).unwrap();
        assert_eq!(entries[0].path, "punkt/README");
        assert_eq!(entries[0].kind, EntryKind::File(b"hi\n".to_vec()));
    }

    #[test]
    fn entries_outside_the_directory_are_refused() {
        let zipped = zip_of(&[("../etc/passwd", b"x")]);
        let err = unpack(ArchiveFormat::Zip, &zipped, &LIMITS).unwrap_err().to_string();
        assert!(err.contains("`../etc/passwd`, which would land outside"), "{err}");
        let err = unpack(ArchiveFormat::Zip, b"not a zip", &LIMITS)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("is not a valid zip archive"), "{err}");
    }

    /// One tar entry to write: name, type, mode, contents or link target.
    type TarEntry<'a> = (&'a str, tar::EntryType, u32, &'a [u8]);

    fn tar_of(entries: &[TarEntry<'_>]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, kind, mode, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(*mode);
            if matches!(kind, tar::EntryType::Symlink | tar::EntryType::Link) {
                header.set_size(0);
                builder
                    .append_link(&mut header, name, std::str::from_utf8(data).unwrap())
                    .unwrap();
            } else {
                header.set_size(data.len() as u64);
                builder.append_data(&mut header, name, *data).unwrap();
            }
        }
        builder.into_inner().unwrap()
    }

    fn refusal(format: ArchiveFormat, bytes: &[u8]) -> ArchiveError {
        match unpack(format, bytes, &LIMITS) {
            Ok(entries) => panic!("unpacked: {entries:?}"),
            Err(e) => e,
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn bombs_are_refused_by_unpacked_size_and_entry_count() {
        use tar::EntryType::Regular;
        let zeros = vec![0u8; 1 << 20];
        // A megabyte of zeros packs to a kilobyte: over the 64 KiB unpacked.
        let tar_bomb = gzip(&tar_of(&[("zeros", Regular, 0o644, &zeros)]));
        assert!(tar_bomb.len() < 4096, "{}", tar_bomb.len());
        assert_eq!(
            refusal(ArchiveFormat::TarGz, &tar_bomb),
            ArchiveError::TooLarge { limit: 64 * 1024 }
        );
        let zip_bomb = zip_of(&[("a", &zeros[..40_000]), ("b", &zeros[..40_000])]);
        let err = refusal(ArchiveFormat::Zip, &zip_bomb);
        assert_eq!(err, ArchiveError::TooLarge { limit: 64 * 1024 });
        assert_eq!(err.to_string(), "unpacks to more than 64.0 KiB (an archive bomb?)");

        let names: Vec<String> = (0..11).map(|i| format!("f{i}")).collect();
        let many: Vec<TarEntry<'_>> = names.iter().map(|n| (n.as_str(), Regular, 0o644, &b""[..])).collect();
        assert_eq!(
            refusal(ArchiveFormat::Tar, &tar_of(&many)),
            ArchiveError::TooManyEntries { limit: 10 }
        );
        let many: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        assert_eq!(
            refusal(ArchiveFormat::Zip, &zip_of(&many)),
            ArchiveError::TooManyEntries { limit: 10 }
        );
        // At the limits, it unpacks.
        assert_eq!(
            unpack(ArchiveFormat::Tar, &tar_of(&many_of(&names[..10])), &LIMITS)
                .unwrap()
                .len(),
            10
        );
    }

    #[test]
    fn what_tar_reads_whole_is_bounded_too() {
        // A pax header of a megabyte (tar reads it whole, before any entry):
        // past the 64 KiB unpacked and the room for 11 entries' headers.
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::XHeader);
        header.set_size(1 << 20);
        builder
            .append_data(&mut header, "pax", &vec![b'a'; 1 << 20][..])
            .unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_size(1);
        builder.append_data(&mut header, "f", &b"x"[..]).unwrap();
        let bomb = gzip(&builder.into_inner().unwrap());
        assert!(bomb.len() < 8192, "{}", bomb.len());
        assert_eq!(
            refusal(ArchiveFormat::TarGz, &bomb),
            ArchiveError::TooLarge { limit: 64 * 1024 }
        );
    }

    fn many_of(names: &[String]) -> Vec<TarEntry<'_>> {
        names
            .iter()
            .map(|n| (n.as_str(), tar::EntryType::Regular, 0o644, &b""[..]))
            .collect()
    }

    /// `zip` with the Unix mode of its first central directory entry set to
    /// `mode` (the writer keeps only permission bits).
    fn with_unix_mode(mut zip: Vec<u8>, mode: u32) -> Vec<u8> {
        let at = zip.windows(4).position(|w| w == [0x50, 0x4b, 0x01, 0x02]).unwrap();
        zip[at + 38..at + 42].copy_from_slice(&(mode << 16).to_le_bytes());
        zip
    }

    #[test]
    fn set_id_bits_and_special_files_are_refused() {
        use tar::EntryType::{Block, Char, Fifo, Regular};
        assert_eq!(
            refusal(ArchiveFormat::Tar, &tar_of(&[("bin/su", Regular, 0o4755, b"x")])),
            ArchiveError::SetId {
                path: "bin/su".into(),
                mode: 0o4755
            }
        );
        assert!(matches!(
            refusal(
                ArchiveFormat::Tar,
                &tar_of(&[("shared", tar::EntryType::Directory, 0o2775, b"")])
            ),
            ArchiveError::SetId { .. }
        ));
        for (kind, name) in [(Char, "character device"), (Block, "block device"), (Fifo, "fifo")] {
            assert_eq!(
                refusal(ArchiveFormat::Tar, &tar_of(&[("dev/x", kind, 0o600, b"")])),
                ArchiveError::Special {
                    path: "dev/x".into(),
                    kind: name
                }
            );
        }
        let zipped = zip_of(&[("run", b"x")]);
        let err = refusal(ArchiveFormat::Zip, &with_unix_mode(zipped.clone(), 0o104755));
        assert_eq!(err.to_string(), "holds `run` with the setuid or setgid bit (mode 4755)");
        assert!(matches!(
            refusal(ArchiveFormat::Zip, &with_unix_mode(zipped.clone(), 0o010644)),
            ArchiveError::Special { kind: "fifo", .. }
        ));
        // The sticky bit and plain modes pass.
        let entries = unpack(ArchiveFormat::Zip, &with_unix_mode(zipped, 0o101755), &LIMITS).unwrap();
        assert_eq!(entries[0].mode, 0o1755);
    }

    #[test]
    fn links_out_of_the_directory_and_entries_beneath_links_are_refused() {
        use tar::EntryType::{Directory, Regular, Symlink};
        let outside = |name: &str, target: &str| ArchiveError::LinkOutside {
            path: name.into(),
            target: target.into(),
        };
        for (name, target) in [
            ("etc-passwd", "/etc/passwd"),
            ("a/up", "../../x"),
            ("top", ".."),
            ("a/b/c", "../../../etc"),
        ] {
            let bytes = tar_of(&[(name, Symlink, 0o777, target.as_bytes())]);
            assert_eq!(
                refusal(ArchiveFormat::Tar, &bytes),
                outside(name, target),
                "{name} -> {target}"
            );
        }
        // Climbing out of another link: d/l2 is the top, so l2/.. is above it.
        let through = tar_of(&[
            ("d", Directory, 0o755, b""),
            ("d/l2", Symlink, 0o777, b".."),
            ("d/l3", Symlink, 0o777, b"l2/.."),
        ]);
        assert_eq!(refusal(ArchiveFormat::Tar, &through), outside("d/l3", "l2/.."));
        // Written through a link: refused whether the link comes first or last.
        for entries in [
            [("l", Symlink, 0o777, &b"sub"[..]), ("l/f", Regular, 0o644, &b"x"[..])],
            [("l/f", Regular, 0o644, &b"x"[..]), ("l", Symlink, 0o777, &b"sub"[..])],
        ] {
            assert_eq!(
                refusal(ArchiveFormat::Tar, &tar_of(&entries)),
                ArchiveError::BeneathLink {
                    path: "l/f".into(),
                    link: "l".into()
                }
            );
        }
        // A link listed twice is written through the first.
        let twice = tar_of(&[("l", Symlink, 0o777, b"a"), ("l", Symlink, 0o777, b"/etc")]);
        assert!(matches!(
            refusal(ArchiveFormat::Tar, &twice),
            ArchiveError::BeneathLink { .. }
        ));
        // Links that stay inside are kept.
        let fine = tar_of(&[
            ("a/b", Directory, 0o755, b""),
            ("a/b/up", Symlink, 0o777, b"../c"),
            ("a/self", Symlink, 0o777, b"./b/up"),
        ]);
        let entries = unpack(ArchiveFormat::Tar, &fine, &LIMITS).unwrap();
        assert_eq!(entries[1].kind, EntryKind::Symlink("../c".into()));
    }

    #[test]
    fn hard_links_are_kept_to_a_file_before_them() {
        use tar::EntryType::{Link, Regular};
        let bytes = tar_of(&[
            ("./bin/tool", Regular, 0o755, b"#!/bin/sh\n"),
            ("bin/alias", Link, 0o777, b"./bin/tool"),
        ]);
        let entries = unpack(ArchiveFormat::Tar, &bytes, &LIMITS).unwrap();
        assert_eq!(
            entries[1],
            Entry {
                path: "bin/alias".into(),
                mode: 0o755,
                kind: EntryKind::HardLink("bin/tool".into())
            },
            "a hard link is its file, mode included"
        );
        for target in ["bin/none", "../etc/shadow", "/etc/shadow"] {
            let bytes = tar_of(&[("f", Regular, 0o644, b"x"), ("alias", Link, 0o644, target.as_bytes())]);
            assert_eq!(
                refusal(ArchiveFormat::Tar, &bytes),
                ArchiveError::DanglingHardLink {
                    path: "alias".into(),
                    target: target.into()
                }
            );
        }
        // To a file listed after it: there is nothing to link to yet.
        let early = tar_of(&[("alias", Link, 0o644, b"f"), ("f", Regular, 0o644, b"x")]);
        assert!(matches!(
            refusal(ArchiveFormat::Tar, &early),
            ArchiveError::DanglingHardLink { .. }
        ));
        // To a path a later entry replaced with a link: not the stale file.
        use tar::EntryType::Symlink;
        let replaced = tar_of(&[
            ("a/f", Regular, 0o644, b"x"),
            ("a/f", Symlink, 0o777, b"../b"),
            ("h", Link, 0o644, b"a/f"),
        ]);
        assert!(matches!(
            refusal(ArchiveFormat::Tar, &replaced),
            ArchiveError::DanglingHardLink { .. }
        ));
    }
}
