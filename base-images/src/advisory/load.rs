//! Reading OSV records from what users give: a directory of `*.json`
//! records (searched below it, symbolic links not followed), a `.zip` of
//! them as the OSV project's per-ecosystem exports come, or one record
//! file. Everything read is bounded (a record's size, an archive's entry
//! count and unpacked size); a record that cannot be read is named and
//! skipped, never a crash; a path that is missing or holds no record is an
//! error.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::database::{Database, Skipped};
use crate::Error;

/// The largest record read (OSV records are kilobytes; the largest known
/// ones a few megabytes).
pub const MAX_RECORD_BYTES: u64 = 32 << 20;
/// The most entries an archive may list.
const MAX_ARCHIVE_ENTRIES: usize = 4_000_000;
/// The most bytes an archive may unpack to, all entries together.
const MAX_ARCHIVE_BYTES: u64 = 16 << 30;
/// How deep a directory is searched.
const MAX_DEPTH: usize = 16;

/// Reads every record under `paths` into one database.
pub fn load(paths: &[PathBuf]) -> Result<Database, Error> {
    let mut database = Database::default();
    if paths.is_empty() {
        return Err(Error::Advisories {
            path: PathBuf::new(),
            reason: "none given: pass --advisories PATH (a directory of OSV *.json records, a .zip export, \
                     or one record) or set BASE_IMAGES_ADVISORIES"
                .into(),
        });
    }
    for path in paths {
        let before = database.files + database.skipped.len();
        load_path(&mut database, path)?;
        if database.files + database.skipped.len() == before {
            return Err(Error::Advisories {
                path: path.clone(),
                reason: "holds no OSV record (no *.json file)".into(),
            });
        }
    }
    Ok(database)
}

fn load_path(database: &mut Database, path: &Path) -> Result<(), Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Advisories {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if meta.is_dir() {
        load_dir(database, path, 0)
    } else if is_zip(path)? {
        load_zip(database, path)
    } else {
        let bytes = crate::fsio::read_at_most(path, MAX_RECORD_BYTES)?;
        add_record(database, &path.display().to_string(), bytes);
        Ok(())
    }
}

/// Whether `path` starts as a zip archive does.
fn is_zip(path: &Path) -> Result<bool, Error> {
    let mut magic = [0u8; 4];
    let read = File::open(path)
        .and_then(|mut f| f.read(&mut magic))
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok(read == 4 && magic == *b"PK\x03\x04")
}

fn load_dir(database: &mut Database, dir: &Path, depth: usize) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    let mut entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            if depth + 1 >= MAX_DEPTH {
                database
                    .skipped
                    .push(skipped(&path, format!("deeper than {MAX_DEPTH} directories")));
            } else {
                load_dir(database, &path, depth + 1)?;
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            if kind.is_symlink() {
                database
                    .skipped
                    .push(skipped(&path, "a symbolic link (not followed)".into()));
                continue;
            }
            match crate::fsio::read_at_most(&path, MAX_RECORD_BYTES) {
                Ok(bytes) => add_record(database, &path.display().to_string(), bytes),
                Err(e) => database.skipped.push(skipped(&path, e.to_string())),
            }
        }
    }
    Ok(())
}

fn skipped(path: &Path, why: String) -> Skipped {
    Skipped {
        file: path.display().to_string(),
        why,
    }
}

fn load_zip(database: &mut Database, path: &Path) -> Result<(), Error> {
    let refused = |reason: String| Error::Advisories {
        path: path.to_owned(),
        reason,
    };
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| refused(format!("not a readable zip archive: {e}")))?;
    if archive.len() > MAX_ARCHIVE_ENTRIES {
        return Err(refused(format!(
            "{} entries, more than an advisory archive may list ({MAX_ARCHIVE_ENTRIES})",
            archive.len()
        )));
    }
    let mut unpacked: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| refused(format!("entry {index}: {e}")))?;
        let name = format!("{}!{}", path.display(), entry.name());
        if entry.is_dir() || !entry.name().ends_with(".json") {
            continue;
        }
        if entry.size() > MAX_RECORD_BYTES {
            database.skipped.push(Skipped {
                file: name,
                why: format!(
                    "unpacks to {} bytes, more than a record may have ({MAX_RECORD_BYTES})",
                    entry.size()
                ),
            });
            continue;
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        let read = (&mut entry).take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes);
        unpacked += bytes.len() as u64;
        if unpacked > MAX_ARCHIVE_BYTES {
            return Err(refused(format!(
                "unpacks to more than {MAX_ARCHIVE_BYTES} bytes; refused as an archive bomb"
            )));
        }
        match read {
            Ok(_) if bytes.len() as u64 > MAX_RECORD_BYTES => database.skipped.push(Skipped {
                file: name,
                why: format!(
                    "unpacks to more than {MAX_RECORD_BYTES} bytes (its header said {})",
                    entry.size()
                ),
            }),
            Ok(_) => add_record(database, &name, bytes),
            Err(e) => database.skipped.push(Skipped {
                file: name,
                why: format!("cannot be unpacked: {e}"),
            }),
        }
    }
    Ok(())
}

/// Parses one record file and adds it, or names it as skipped.
fn add_record(database: &mut Database, name: &str, bytes: Vec<u8>) {
    database.files += 1;
    match serde_json::from_slice::<osv::schema::Vulnerability>(&bytes) {
        Ok(record) => database.add(record),
        Err(e) => database.skipped.push(Skipped {
            file: name.to_owned(),
            why: format!("not an OSV record: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    const RECORD: &str = r#"{"id": "DSA-1", "modified": "2026-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "Debian:12", "name": "glibc"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u7"}]}]}]}"#;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("a temporary directory")
    }

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create a directory");
        }
        std::fs::write(path, text).expect("write a file");
    }

    fn zip(path: &Path, entries: &[(&str, &str)]) {
        let mut writer = zip::ZipWriter::new(File::create(path).expect("create a zip"));
        for (name, text) in entries {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .expect("start an entry");
            writer.write_all(text.as_bytes()).expect("write an entry");
        }
        writer.finish().expect("finish the zip");
    }

    #[test]
    fn a_directory_is_searched_below_and_malformed_records_are_named_and_skipped() -> Result<(), Error> {
        let tmp = dir();
        write(&tmp.path().join("a/DSA-1.json"), RECORD);
        write(&tmp.path().join("a/b/broken.json"), "{\"id\": \"X\"");
        write(&tmp.path().join("notes.txt"), "not a record");
        write(&tmp.path().join("wrong-shape.json"), "{\"id\": 7}");
        let db = load(&[tmp.path().to_owned()])?;
        assert_eq!((db.len(), db.files), (1, 3));
        let skipped: Vec<&str> = db.skipped.iter().map(|s| s.file.as_str()).collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped[0].ends_with("a/b/broken.json"), "{skipped:?}");
        assert!(db.skipped[0].why.contains("not an OSV record"), "{:?}", db.skipped);
        assert!(skipped[1].ends_with("wrong-shape.json"), "{skipped:?}");
        Ok(())
    }

    #[test]
    fn a_zip_export_is_read_entry_by_entry() -> Result<(), Error> {
        let tmp = dir();
        let path = tmp.path().join("Debian.zip");
        zip(&path, &[("DSA-1.json", RECORD), ("bad.json", "[]"), ("README", "x")]);
        let db = load(std::slice::from_ref(&path))?;
        assert_eq!((db.len(), db.skipped.len()), (1, 1));
        assert_eq!(db.skipped[0].file, format!("{}!bad.json", path.display()));
        Ok(())
    }

    #[test]
    fn a_missing_or_empty_path_is_an_error_naming_it() {
        let tmp = dir();
        let missing = tmp.path().join("nowhere");
        let error = load(std::slice::from_ref(&missing)).expect_err("missing").to_string();
        assert!(error.contains("nowhere"), "{error}");
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        let error = load(std::slice::from_ref(&empty)).expect_err("empty").to_string();
        assert!(error.contains("holds no OSV record"), "{error}");
        let error = load(&[]).expect_err("none").to_string();
        assert!(error.contains("--advisories"), "{error}");
    }

    #[test]
    fn symbolic_links_are_not_followed() -> Result<(), Error> {
        let tmp = dir();
        write(&tmp.path().join("outside/secret.json"), RECORD);
        let inside = tmp.path().join("inside");
        write(&inside.join("DSA-1.json"), RECORD);
        std::os::unix::fs::symlink(tmp.path().join("outside/secret.json"), inside.join("link.json")).expect("symlink");
        let db = load(std::slice::from_ref(&inside))?;
        assert_eq!(db.len(), 1);
        assert_eq!(db.skipped.len(), 1);
        assert!(db.skipped[0].why.contains("symbolic link"), "{:?}", db.skipped);
        Ok(())
    }

    #[test]
    fn an_entry_larger_than_a_record_is_refused_unread() -> Result<(), Error> {
        let tmp = dir();
        let path = tmp.path().join("bomb.zip");
        let big = " ".repeat(MAX_RECORD_BYTES as usize + 10);
        zip(&path, &[("big.json", &big), ("DSA-1.json", RECORD)]);
        let db = load(std::slice::from_ref(&path))?;
        assert_eq!(db.len(), 1);
        assert!(
            db.skipped[0].why.contains("more than a record may have"),
            "{:?}",
            db.skipped
        );
        Ok(())
    }

    #[test]
    fn a_record_file_larger_than_a_record_and_a_tree_too_deep_are_skipped_and_named() -> Result<(), Error> {
        let tmp = dir();
        write(&tmp.path().join("DSA-1.json"), RECORD);
        let big = std::fs::File::create(tmp.path().join("big.json")).expect("create");
        big.set_len(MAX_RECORD_BYTES + 1).expect("a sparse file");
        let mut deep = tmp.path().to_owned();
        for n in 0..MAX_DEPTH {
            deep.push(format!("d{n}"));
        }
        write(&deep.join("DSA-2.json"), RECORD);
        let db = load(&[tmp.path().to_owned()])?;
        assert_eq!(db.len(), 1);
        let why: Vec<&str> = db.skipped.iter().map(|s| s.why.as_str()).collect();
        assert_eq!(db.skipped.len(), 2, "{why:?}");
        assert!(why.iter().any(|w| w.contains("more than 33554432 bytes")), "{why:?}");
        assert!(why.iter().any(|w| w.contains("deeper than 16 directories")), "{why:?}");
        Ok(())
    }

    #[test]
    fn a_single_record_file_and_a_corrupt_archive() {
        let tmp = dir();
        let one = tmp.path().join("one.json");
        write(&one, RECORD);
        assert_eq!(load(std::slice::from_ref(&one)).map(|d| d.len()).ok(), Some(1));
        let corrupt = tmp.path().join("corrupt.zip");
        std::fs::write(&corrupt, b"PK\x03\x04garbage").expect("write");
        let error = load(std::slice::from_ref(&corrupt)).expect_err("corrupt").to_string();
        assert!(error.contains("not a readable zip archive"), "{error}");
    }
}
