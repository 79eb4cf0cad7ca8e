//! Layers as they are published: each uncompressed layer of the engine's
//! export (`docker save`) gzip-compressed deterministically (level 6, no
//! file name, modification time 0 in the header), so the same layer always
//! gives the same blob digest. `LayerDigests` remembers, per layer diff id,
//! the digest and size of its compressed blob, so a version whose blobs are
//! all in the registry is compared without exporting or compressing again.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::oci::Blob;
use crate::{fsio, Error};

/// The gzip level of every published layer (fixed: another level gives
/// other bytes, hence other digests).
pub const GZIP_LEVEL: u32 = 6;

/// Compressed-blob facts per layer diff id, kept on disk between runs.
#[derive(Debug, Default)]
pub struct LayerDigests {
    path: Option<PathBuf>,
    blobs: BTreeMap<String, Blob>,
}

impl LayerDigests {
    /// The record in `dir` (`layers.json`); empty when missing or unreadable.
    pub fn open(dir: &Path) -> LayerDigests {
        let path = dir.join("layers.json");
        let blobs = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        LayerDigests {
            path: Some(path),
            blobs,
        }
    }

    /// Where the record is kept: `layers.json` in the check result cache's
    /// directory (`BASE_IMAGES_CACHE_DIR`, else the user's cache directory).
    pub fn default_path() -> PathBuf {
        crate::checks::ResultCache::default_dir().join("layers.json")
    }

    /// The record at its default place.
    pub fn open_default() -> LayerDigests {
        let path = Self::default_path();
        LayerDigests::open(path.parent().unwrap_or(Path::new(".")))
    }

    /// The compressed blob of the layer `diff_id`, if known.
    pub fn get(&self, diff_id: &str) -> Option<&Blob> {
        self.blobs.get(diff_id)
    }

    /// Records the compressed blob of the layer `diff_id`.
    pub fn insert(&mut self, diff_id: &str, blob: Blob) {
        self.blobs.insert(diff_id.to_owned(), blob);
    }

    /// Writes the record back (atomically).
    pub fn save(&self) -> Result<(), Error> {
        let Some(path) = &self.path else { return Ok(()) };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let bytes = serde_json::to_vec_pretty(&self.blobs).unwrap_or_default();
        fsio::write_atomic(path, &bytes)
    }
}

/// A compressed layer on disk.
#[derive(Clone, Debug)]
pub struct CompressedLayer {
    /// Its blob facts.
    pub blob: Blob,
    /// The file holding the compressed bytes.
    pub path: PathBuf,
}

/// Compresses the layers of the export archive at `archive` whose diff id
/// is in `wanted`, into files in `dir`; returns them by diff id. Layers are
/// found by content (an entry `…/layer.tar` or under `blobs/` whose sha256
/// is a wanted diff id), so both the legacy and the OCI export layouts work.
pub fn compress_wanted(
    archive: &Path,
    wanted: &BTreeSet<String>,
    dir: &Path,
) -> Result<BTreeMap<String, CompressedLayer>, Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    // First pass: where each candidate entry is, and its sha256.
    let mut found: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    {
        let mut tar = tar::Archive::new(BufReader::new(File::open(archive).map_err(io(archive))?));
        for entry in tar.entries().map_err(io(archive))? {
            let mut entry = entry.map_err(io(archive))?;
            let name = entry.path().map_err(io(archive))?.to_string_lossy().into_owned();
            if !entry.header().entry_type().is_file() || !(name.ends_with("layer.tar") || name.starts_with("blobs/")) {
                continue;
            }
            let (offset, size) = (entry.raw_file_position(), entry.size());
            let mut hasher = Sha256::new();
            std::io::copy(&mut entry, &mut hasher).map_err(io(archive))?;
            let digest = format!("sha256:{:x}", hasher.finalize());
            if wanted.contains(&digest) {
                found.insert(digest, (offset, size));
            }
        }
    }
    if let Some(missing) = wanted.iter().find(|d| !found.contains_key(*d)) {
        return Err(Error::Io {
            path: archive.to_owned(),
            source: std::io::Error::other(format!("the engine's export has no layer {missing}")),
        });
    }
    // Second pass: compress each wanted layer from its place in the archive.
    let mut file = File::open(archive).map_err(io(archive))?;
    let mut layers = BTreeMap::new();
    for (diff_id, (offset, size)) in found {
        file.seek(SeekFrom::Start(offset)).map_err(io(archive))?;
        let path = dir.join(format!("{}.tar.gz", diff_id.trim_start_matches("sha256:")));
        let blob = compress(&mut (&mut file).take(size), &path)?;
        layers.insert(diff_id, CompressedLayer { blob, path });
    }
    Ok(layers)
}

/// Gzip-compresses `input` into the file `path`, deterministically;
/// returns the compressed blob's digest and size.
pub fn compress(input: &mut impl Read, path: &Path) -> Result<Blob, Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let out = HashingWriter {
        inner: BufWriter::new(File::create(path).map_err(io)?),
        hasher: Sha256::new(),
        size: 0,
    };
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(out, flate2::Compression::new(GZIP_LEVEL));
    std::io::copy(input, &mut encoder).map_err(io)?;
    let mut out = encoder.finish().map_err(io)?;
    out.inner.flush().map_err(io)?;
    Ok(Blob {
        digest: format!("sha256:{:x}", out.hasher.finalize()),
        size: out.size,
    })
}

/// A writer that hashes and counts what goes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn compression_is_deterministic_and_round_trips() -> Result<(), Error> {
        let dir = tempdir();
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let a = compress(&mut &data[..], &dir.path().join("a.gz"))?;
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = compress(&mut &data[..], &dir.path().join("b.gz"))?;
        assert_eq!(a, b, "same bytes, same blob, whatever the time");
        let bytes = std::fs::read(dir.path().join("a.gz")).unwrap_or_default();
        assert_eq!(bytes.len() as u64, a.size);
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "no modification time in the gzip header");
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut back)
            .map_err(|source| Error::Io {
                path: dir.path().into(),
                source,
            })?;
        assert_eq!(back, data);
        Ok(())
    }

    #[test]
    fn wanted_layers_are_found_by_content() -> Result<(), Error> {
        let dir = tempdir();
        let archive = dir.path().join("export.tar");
        let mut builder = tar::Builder::new(File::create(&archive).map_err(|source| Error::Io {
            path: archive.clone(),
            source,
        })?);
        let mut add = |name: &str, data: &[u8]| {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, name, data)
                .unwrap_or_else(|e| panic!("{e}"));
        };
        add("manifest.json", b"[]");
        add("aaa/layer.tar", b"first layer");
        add("bbb/layer.tar", b"second layer");
        builder.into_inner().unwrap_or_else(|e| panic!("{e}"));
        let second = super::super::oci::sha256(b"second layer");
        let wanted: BTreeSet<String> = [second.clone()].into();
        let layers = compress_wanted(&archive, &wanted, dir.path())?;
        assert_eq!(layers.keys().collect::<Vec<_>>(), [&second]);
        let missing: BTreeSet<String> = [super::super::oci::sha256(b"absent")].into();
        let err = compress_wanted(&archive, &missing, dir.path())
            .err()
            .map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("has no layer sha256:"));
        Ok(())
    }
}
