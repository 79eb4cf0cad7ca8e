//! Layers as they are published: each uncompressed layer of the engine's
//! export (`docker save`) gzip-compressed deterministically (level 6, no
//! file name, modification time 0 in the header), so the same layer always
//! gives the same blob digest; a step layer is first rewritten to be
//! reproducible (`reproducible`: its modification times as `Times` says).
//! `LayerStore` keeps, per layer diff id and form, the compressed file,
//! its digest and size and the diff id it is published with (in the
//! user's cache directory), so a version is compared with the registry,
//! and its blobs uploaded, without exporting or compressing a layer twice.
//! The store is a cache, not a source of truth: a stored layer is used only
//! once its file matches its record (size, sha256, and the sha256 of its
//! uncompressed tar), checked once per process; one that does not is
//! removed, with a warning, and compressed again from the engine.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::oci::Blob;
use super::reproducible::Times;
use crate::{fsio, Error};

/// The gzip level of every published layer (fixed: another level gives
/// other bytes, hence other digests).
pub const GZIP_LEVEL: u32 = 6;

/// How a layer of the engine is published.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Form {
    /// Byte for byte as the engine has it (the root image's layers).
    AsIs,
    /// Rewritten reproducibly, modification times clamped to this epoch
    /// (seconds; a step's layers, as versions.lock's `reproducible`).
    Clamped(u64),
    /// Rewritten reproducibly, every modification time after `after` (the
    /// root image's creation) set to `epoch`, older ones clamped to it (a
    /// step's layers, as versions.lock's `settled`).
    Settled {
        /// The root image's creation (seconds since 1970).
        after: u64,
        /// The release's `created` (seconds since 1970).
        epoch: u64,
    },
}

impl Form {
    /// The times a rewritten layer records; `None` for one kept as it is.
    pub fn times(self) -> Option<Times> {
        match self {
            Form::AsIs => None,
            Form::Clamped(epoch) => Some(Times {
                epoch,
                settled_after: None,
            }),
            Form::Settled { after, epoch } => Some(Times {
                epoch,
                settled_after: Some(after),
            }),
        }
    }
}

/// A layer in the store: its compressed blob and the diff id (digest of
/// the uncompressed tar) it is published with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// The compressed blob.
    #[serde(flatten)]
    pub blob: Blob,
    /// The published diff id (the engine's for [`Form::AsIs`]).
    pub diff_id: String,
}

/// The most read of a layer's record (a few hundred bytes).
const RECORD_LIMIT: u64 = 64 << 10;

/// Compressed layers by diff id and form: `<dir>/<hex>[.clamped-<epoch>|.settled-<after>-<epoch>].tar.gz`
/// and, beside it, `….json` with the [`Stored`] record (written last, so
/// a record always describes a complete file).
#[derive(Clone, Debug)]
pub struct LayerStore {
    dir: PathBuf,
    /// The records this process wrote or verified, by record path (clones
    /// of the store share them).
    verified: Arc<Mutex<BTreeMap<PathBuf, Stored>>>,
}

impl LayerStore {
    /// The store in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> LayerStore {
        LayerStore {
            dir: dir.into(),
            verified: Arc::default(),
        }
    }

    /// The store in the user's cache directory (`layers/` beside the check
    /// result cache, see [`crate::checks::ResultCache::default_dir`]); an
    /// error when the user has none.
    pub fn default_store() -> Result<LayerStore, Error> {
        Ok(LayerStore::new(
            crate::checks::ResultCache::default_dir()?.join("layers"),
        ))
    }

    /// Creates the store's directory (the user's alone, 0700) if missing.
    pub fn create_dir(&self) -> Result<(), Error> {
        fsio::create_private_dir(&self.dir)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, diff_id: &str, form: Form, extension: &str) -> PathBuf {
        let hex = diff_id.trim_start_matches("sha256:");
        self.dir.join(match form {
            Form::AsIs => format!("{hex}.{extension}"),
            Form::Clamped(epoch) => format!("{hex}.clamped-{epoch}.{extension}"),
            Form::Settled { after, epoch } => format!("{hex}.settled-{after}-{epoch}.{extension}"),
        })
    }

    /// The stored layer `diff_id` (the engine's) in `form`, if stored and
    /// its file matches its record; one that does not is removed (and said
    /// so), to be compressed again.
    pub fn get(&self, diff_id: &str, form: Form) -> Option<Stored> {
        let record = self.file(diff_id, form, "json");
        let known = self
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&record)
            .cloned();
        if known.is_some() {
            return known;
        }
        match self.verify(diff_id, form, &record) {
            Ok(None) => None,
            Ok(Some(stored)) => {
                self.remember(record, &stored);
                Some(stored)
            }
            Err(reason) => {
                tracing::warn!(
                    layer = diff_id,
                    record = %record.display(),
                    reason,
                    "a stored layer does not verify; discarded, it is compressed again"
                );
                let _ = std::fs::remove_file(&record);
                let _ = std::fs::remove_file(self.path(diff_id, form));
                None
            }
        }
    }

    /// Notes that `record` describes its file: `stored`.
    fn remember(&self, record: PathBuf, stored: &Stored) {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(record, stored.clone());
    }

    /// The record at `record` of layer `diff_id` in `form`, checked against
    /// its file: `None` without a record; why they disagree otherwise.
    fn verify(&self, diff_id: &str, form: Form, record: &Path) -> Result<Option<Stored>, String> {
        match std::fs::symlink_metadata(record) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.to_string()),
            Ok(_) => {}
        }
        let bytes = fsio::read_at_most(record, RECORD_LIMIT).map_err(|e| e.to_string())?;
        let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| format!("the record does not parse: {e}"))?;
        if form == Form::AsIs && stored.diff_id != diff_id {
            return Err(format!("the record names diff id {}", stored.diff_id));
        }
        let path = self.path(diff_id, form);
        let (blob, diff) = digests(&path, stored.blob.size).map_err(|e| format!("{}: {e}", path.display()))?;
        if blob != stored.blob {
            return Err(format!(
                "its file is {} ({} bytes), its record says {} ({} bytes)",
                blob.digest, blob.size, stored.blob.digest, stored.blob.size
            ));
        }
        if diff != stored.diff_id {
            return Err(format!(
                "its file uncompresses to {diff}, its record says {}",
                stored.diff_id
            ));
        }
        Ok(Some(stored))
    }

    /// The compressed file of the layer `diff_id` in `form`.
    pub fn path(&self, diff_id: &str, form: Form) -> PathBuf {
        self.file(diff_id, form, "tar.gz")
    }

    /// Compresses the layers of the export archive at `archive` whose diff
    /// id is in `wanted` into the store, each in its form; returns them by
    /// diff id. Layers are found by content (an entry `…/layer.tar` or
    /// under `blobs/` whose sha256 is a wanted diff id), so both the legacy
    /// and the OCI export layouts work.
    pub fn add_from_export(
        &self,
        archive: &Path,
        wanted: &BTreeMap<String, Form>,
    ) -> Result<BTreeMap<String, Stored>, Error> {
        self.create_dir()?;
        let ids: BTreeSet<String> = wanted.keys().cloned().collect();
        let mut added = BTreeMap::new();
        for (diff_id, (offset, size)) in find_layers(archive, &ids)? {
            let form = wanted.get(&diff_id).copied().unwrap_or(Form::AsIs);
            let mut file = File::open(archive).map_err(|source| Error::Io {
                path: archive.to_owned(),
                source,
            })?;
            file.seek(SeekFrom::Start(offset)).map_err(|source| Error::Io {
                path: archive.to_owned(),
                source,
            })?;
            // A file of its own: two exports may compress one layer at once
            // (the same bytes); the last rename wins.
            let partial = tempfile::Builder::new()
                .suffix(".partial")
                .tempfile_in(&self.dir)
                .map_err(|source| Error::Io {
                    path: self.dir.clone(),
                    source,
                })?
                .into_temp_path();
            let stored = match form.times() {
                None => Stored {
                    blob: compress(&mut file.take(size), &partial)?,
                    diff_id: diff_id.clone(),
                },
                Some(times) => rewrite_and_compress(&mut file.take(size), times, &partial)?,
            };
            let target = self.path(&diff_id, form);
            partial.persist(&target).map_err(|e| Error::Io {
                path: target,
                source: e.error,
            })?;
            let record = self.file(&diff_id, form, "json");
            fsio::write_atomic(&record, &serde_json::to_vec(&stored).unwrap_or_default())?;
            self.remember(record, &stored);
            added.insert(diff_id, stored);
        }
        Ok(added)
    }
}

/// Where each wanted layer is in the export archive: (offset, size) by
/// diff id; an error naming the first one missing.
fn find_layers(archive: &Path, wanted: &BTreeSet<String>) -> Result<BTreeMap<String, (u64, u64)>, Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
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
            let digest = crate::sha256::finish(hasher);
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
    Ok(found)
}

/// Gzip-compresses `input` into the file `path`, deterministically;
/// returns the compressed blob's digest and size.
pub fn compress(input: &mut impl Read, path: &Path) -> Result<Blob, Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let (blob, _) = compressing(path, |encoder| std::io::copy(input, encoder).map(|_| ())).map_err(io)?;
    Ok(blob)
}

/// Rewrites the layer tar `input` reproducibly (modification times as
/// `times` says) and compresses it into the file `path`; returns the blob
/// and the rewritten layer's diff id.
pub fn rewrite_and_compress(input: &mut impl Read, times: Times, path: &Path) -> Result<Stored, Error> {
    let (blob, diff_id) = compressing(path, |encoder| {
        super::reproducible::rewrite(BufReader::new(input), times, encoder)
    })
    .map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(Stored { blob, diff_id })
}

/// The blob the file at `path` is (reading at most `size` + 1 bytes of
/// it) and the sha256 of what it uncompresses to.
fn digests(path: &Path, size: u64) -> std::io::Result<(Blob, String)> {
    let file = File::open(path)?;
    let mut compressed = HashingWriter::new(flate2::write::GzDecoder::new(HashingWriter::new(std::io::sink())));
    std::io::copy(&mut file.take(size + 1), &mut compressed)?;
    let plain = compressed.inner.finish()?;
    let blob = Blob {
        digest: crate::sha256::finish(compressed.hasher),
        size: compressed.size,
    };
    Ok((blob, crate::sha256::finish(plain.hasher)))
}

/// Runs `write` into a deterministic gzip encoder writing the file `path`;
/// returns the compressed blob and the sha256 of what `write` wrote.
fn compressing(
    path: &Path,
    write: impl FnOnce(&mut HashingWriter<flate2::write::GzEncoder<HashingWriter<BufWriter<File>>>>) -> std::io::Result<()>,
) -> std::io::Result<(Blob, String)> {
    let out = HashingWriter::new(BufWriter::new(File::create(path)?));
    let encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(out, flate2::Compression::new(GZIP_LEVEL));
    let mut plain = HashingWriter::new(encoder);
    write(&mut plain)?;
    let diff_id = crate::sha256::finish(plain.hasher);
    let mut out = plain.inner.finish()?;
    out.inner.flush()?;
    let blob = Blob {
        digest: crate::sha256::finish(out.hasher),
        size: out.size,
    };
    Ok((blob, diff_id))
}

/// A writer that hashes and counts what goes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }
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
        // The bytes themselves are pinned: another deflate implementation
        // (a flate2 backend switched by feature unification) would change
        // every published digest, and must fail here first.
        assert_eq!(
            a.digest, "sha256:1ed25f492fb0136149afe8f162b3dba8f280d648141a02d845682e6d83f88162",
            "the compressed bytes changed: published layer digests would change"
        );
        Ok(())
    }

    #[test]
    fn a_stored_layer_that_does_not_verify_is_discarded_and_compressed_again() -> Result<(), Error> {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempdir();
        let archive = dir.path().join("export.tar");
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(12);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "aaa/layer.tar", &b"second layer"[..])
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&archive, builder.into_inner().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        let layer = super::super::oci::sha256(b"second layer");
        let wanted: BTreeMap<String, Form> = [(layer.clone(), Form::AsIs)].into();
        let store_dir = dir.path().join("cache/layers");
        // A fresh store each time: what another run of the tool would see.
        let store = || LayerStore::new(&store_dir);
        let added = store().add_from_export(&archive, &wanted)?;
        let mode = std::fs::metadata(&store_dir).map_or(0, |m| m.permissions().mode() & 0o777);
        assert_eq!(mode, 0o700, "the store is the user's alone");
        assert_eq!(store().get(&layer, Form::AsIs).as_ref(), added.get(&layer));
        let blob = store().path(&layer, Form::AsIs);
        let record = store().file(&layer, Form::AsIs, "json");
        let good = std::fs::read(&blob).unwrap_or_default();
        let good_record = std::fs::read(&record).unwrap_or_default();
        let put = |path: &Path, bytes: &[u8]| std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{e}"));

        // The same size, another byte: the size alone used to pass it.
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        put(&blob, &flipped);
        assert_eq!(store().get(&layer, Form::AsIs), None, "a blob that is not its digest");
        assert!(!blob.exists() && !record.exists(), "both discarded");
        let again = store().add_from_export(&archive, &wanted)?;
        assert_eq!(again, added, "compressed again");
        assert_eq!(std::fs::read(&blob).unwrap_or_default(), good);

        // Records that do not describe their file.
        let other = super::super::oci::sha256(b"other");
        let renamed = String::from_utf8_lossy(&good_record).replace(&layer, &other);
        for bad in [&b"{not json"[..], renamed.as_bytes()] {
            put(&blob, &good);
            put(&record, bad);
            assert_eq!(store().get(&layer, Form::AsIs), None);
            assert!(!record.exists(), "discarded");
        }
        // A rewritten layer whose record names another diff id than its
        // file uncompresses to.
        let clamped = Form::Clamped(1);
        let blob = compress(&mut &b"rewritten"[..], &store().path(&layer, clamped))?;
        let lying = Stored {
            blob,
            diff_id: other.clone(),
        };
        put(
            &store().file(&layer, clamped, "json"),
            &serde_json::to_vec(&lying).unwrap_or_default(),
        );
        assert_eq!(store().get(&layer, clamped), None);
        let honest = Stored {
            diff_id: super::super::oci::sha256(b"rewritten"),
            ..lying
        };
        compress(&mut &b"rewritten"[..], &store().path(&layer, clamped))?;
        put(
            &store().file(&layer, clamped, "json"),
            &serde_json::to_vec(&honest).unwrap_or_default(),
        );
        assert_eq!(store().get(&layer, clamped), Some(honest));
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
        let wanted: BTreeMap<String, Form> = [(second.clone(), Form::AsIs)].into();
        let store = LayerStore::new(dir.path().join("store"));
        assert_eq!(store.get(&second, Form::AsIs), None);
        let blobs = store.add_from_export(&archive, &wanted)?;
        assert_eq!(blobs.keys().collect::<Vec<_>>(), [&second]);
        assert_eq!(
            store.get(&second, Form::AsIs).as_ref(),
            blobs.get(&second),
            "stored with its record"
        );
        assert_eq!(blobs[&second].diff_id, second, "as is: the engine's diff id");
        assert_eq!(store.get(&second, Form::Clamped(1)), None, "another form, another file");
        let stored = std::fs::read(store.path(&second, Form::AsIs)).unwrap_or_default();
        assert_eq!(super::super::oci::sha256(&stored), blobs[&second].blob.digest);
        let missing: BTreeMap<String, Form> = [(super::super::oci::sha256(b"absent"), Form::AsIs)].into();
        let err = store.add_from_export(&archive, &missing).err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("has no layer sha256:"));
        Ok(())
    }
}
