//! Files the tool owns are replaced atomically: written to a temporary file
//! in the same directory, flushed, then renamed over the old one, so an
//! interrupted run leaves the previous contents intact.

use std::io::Write as _;
use std::path::Path;

use crate::Error;

/// Replaces `path` with `contents` atomically.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.as_file().sync_all().map_err(io)?;
    file.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Reads `path`, refusing it past `limit` bytes (whatever its size says: a
/// pipe or a device has none).
pub fn read_at_most(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(limit + 1).read_to_end(&mut bytes))
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(bytes)
}

/// Reads `path` as text; `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_reads_back() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: ".".into(),
            source,
        })?;
        let path = dir.path().join("f.txt");
        assert_eq!(read_optional(&path)?, None);
        write_atomic(&path, b"one")?;
        write_atomic(&path, b"two")?;
        assert_eq!(read_optional(&path)?.as_deref(), Some("two"));
        assert_eq!(
            std::fs::read_dir(dir.path()).map(|d| d.count()).unwrap_or(0),
            1,
            "no temp file left"
        );
        Ok(())
    }

    #[test]
    fn a_read_stops_past_its_limit_even_without_a_size() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: ".".into(),
            source,
        })?;
        let path = dir.path().join("f.json");
        write_atomic(&path, b"12345678")?;
        assert_eq!(read_at_most(&path, 8)?, b"12345678");
        let error = read_at_most(&path, 7).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(
            error,
            Err(format!(
                "{}: more than 7 bytes; refused (nothing of it was used)",
                path.display()
            ))
        );
        let endless = read_at_most(Path::new("/dev/zero"), 1024)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(
            endless,
            Err("/dev/zero: more than 1024 bytes; refused (nothing of it was used)".to_owned())
        );
        Ok(())
    }
}
