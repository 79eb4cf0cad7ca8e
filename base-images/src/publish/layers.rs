//! Layers as they are published: each uncompressed layer of the engine's
//! export (`docker save`) gzip-compressed deterministically by the
//! version's compressor (`compress`), so the same layer always gives the
//! same blob digest; a step layer is first rewritten to be reproducible
//! (`reproducible`: its modification times as `Times` says).
//! `LayerStore` keeps, per layer diff id, form and compressor, the compressed file,
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

use super::compress::Encoder;
use super::oci::Blob;
use super::reproducible::Times;
use crate::lock::Compressor;
use crate::sbom::scan::{self, LayerFiles};
use crate::sha256::HashingReader;
use crate::{fsio, Error};

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

/// The layers an export is read for: the forms each diff id is wanted in.
pub type Wanted = BTreeMap<String, BTreeSet<Form>>;

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

/// Compressed layers by diff id, form and compressor:
/// `<dir>/<hex>[.clamped-<epoch>|.settled-<after>-<epoch>][.zlib-rs].tar.gz`
/// and, beside it, `….json` with the [`Stored`] record (written last, so
/// a record always describes a complete file). One value compresses with
/// one compressor ([`LayerStore::compressed_by`] gives another's).
#[derive(Clone, Debug)]
pub struct LayerStore {
    dir: PathBuf,
    compressor: Compressor,
    /// The records this process wrote or verified, by record path (clones
    /// of the store share them).
    verified: Arc<Mutex<BTreeMap<PathBuf, Verified>>>,
}

/// A layer this process compressed or verified: its record, and what the
/// SBOM scanner reads of it (none when the scanner refused it).
#[derive(Clone, Debug)]
struct Verified {
    stored: Stored,
    files: Option<Arc<LayerFiles>>,
}

impl LayerStore {
    /// The store in `dir`, of layers compressed by the original compressor.
    pub fn new(dir: impl Into<PathBuf>) -> LayerStore {
        LayerStore {
            dir: dir.into(),
            compressor: Compressor::default(),
            verified: Arc::default(),
        }
    }

    /// The same store, of the layers `compressor` compressed.
    pub fn compressed_by(&self, compressor: Compressor) -> LayerStore {
        LayerStore {
            compressor,
            ..self.clone()
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
        let form = match form {
            Form::AsIs => String::new(),
            Form::Clamped(epoch) => format!(".clamped-{epoch}"),
            Form::Settled { after, epoch } => format!(".settled-{after}-{epoch}"),
        };
        let compressor = self.compressor.file_suffix();
        self.dir.join(format!("{hex}{form}{compressor}.{extension}"))
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
            .map(|v| v.stored.clone());
        if known.is_some() {
            return known;
        }
        match self.verify(diff_id, form, &record) {
            Ok(None) => None,
            Ok(Some(verified)) => {
                let stored = verified.stored.clone();
                self.remember(record, verified);
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

    /// What the SBOM scanner reads of the stored layer `diff_id` in
    /// `form`, once [`LayerStore::get`] found it (a rewritten layer holds
    /// the engine's files, only their times differ); `None` when the
    /// scanner refused it.
    pub fn files(&self, diff_id: &str, form: Form) -> Option<Arc<LayerFiles>> {
        self.get(diff_id, form)?;
        let record = self.file(diff_id, form, "json");
        let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        verified.get(&record)?.files.clone()
    }

    /// Notes that `record` describes its file, `verified`.
    fn remember(&self, record: PathBuf, verified: Verified) {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(record, verified);
    }

    /// The record at `record` of layer `diff_id` in `form`, checked against
    /// its file: `None` without a record; why they disagree otherwise.
    fn verify(&self, diff_id: &str, form: Form, record: &Path) -> Result<Option<Verified>, String> {
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
        let (blob, diff, files) = digests(&path, stored.blob.size).map_err(|e| format!("{}: {e}", path.display()))?;
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
        Ok(Some(Verified { stored, files }))
    }

    /// The compressed file of the layer `diff_id` in `form`.
    pub fn path(&self, diff_id: &str, form: Form) -> PathBuf {
        self.file(diff_id, form, "tar.gz")
    }

    /// Compresses the layers of the export archive at `archive` whose diff
    /// id is in `wanted` into the store, in each of their forms; returns
    /// them by diff id and form. Layers are found by content (an entry
    /// `…/layer.tar` or under `blobs/` whose sha256 is a wanted diff id),
    /// so both the legacy and the OCI export layouts work.
    pub fn add_from_export(&self, archive: &Path, wanted: &Wanted) -> Result<BTreeMap<(String, Form), Stored>, Error> {
        self.create_dir()?;
        let ids: BTreeSet<String> = wanted.keys().cloned().collect();
        let mut added = BTreeMap::new();
        for (diff_id, (offset, size)) in find_layers(archive, &ids)? {
            let files = scanned(archive, offset, size);
            for form in wanted.get(&diff_id).into_iter().flatten() {
                let stored = self.add_layer(archive, (&diff_id, *form), (offset, size), files.clone())?;
                added.insert((diff_id.clone(), *form), stored);
            }
        }
        Ok(added)
    }

    /// Compresses the layer `diff_id` at `offset` (`size` bytes) of the
    /// export archive at `archive` into the store in `form`; `files` is
    /// what the SBOM scanner read of it.
    fn add_layer(
        &self,
        archive: &Path,
        (diff_id, form): (&str, Form),
        (offset, size): (u64, u64),
        files: Option<Arc<LayerFiles>>,
    ) -> Result<Stored, Error> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Io { path, source }
        };
        let mut file = File::open(archive).map_err(io(archive))?;
        file.seek(SeekFrom::Start(offset)).map_err(io(archive))?;
        // A file of its own: two exports may compress one layer at once
        // (the same bytes); the last rename wins.
        let partial = tempfile::Builder::new()
            .suffix(".partial")
            .tempfile_in(&self.dir)
            .map_err(io(&self.dir))?
            .into_temp_path();
        let stored = match form.times() {
            None => Stored {
                blob: compress(self.compressor, &mut file.take(size), &partial)?,
                diff_id: diff_id.to_owned(),
            },
            Some(times) => rewrite_and_compress(self.compressor, &mut file.take(size), times, &partial)?,
        };
        let target = self.path(diff_id, form);
        partial.persist(&target).map_err(|e| Error::Io {
            path: target,
            source: e.error,
        })?;
        let record = self.file(diff_id, form, "json");
        fsio::write_atomic(&record, &serde_json::to_vec(&stored).unwrap_or_default())?;
        let verified = Verified {
            stored: stored.clone(),
            files,
        };
        self.remember(record, verified);
        Ok(stored)
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

/// Gzip-compresses `input` with `compressor` into the file `path`,
/// deterministically; returns the compressed blob's digest and size.
pub fn compress(compressor: Compressor, input: &mut impl Read, path: &Path) -> Result<Blob, Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let (blob, _) = compressing(compressor, path, |encoder| std::io::copy(input, encoder).map(|_| ())).map_err(io)?;
    Ok(blob)
}

/// Rewrites the layer tar `input` reproducibly (modification times as
/// `times` says) and compresses it with `compressor` into the file `path`;
/// returns the blob and the rewritten layer's diff id.
pub fn rewrite_and_compress(
    compressor: Compressor,
    input: &mut impl Read,
    times: Times,
    path: &Path,
) -> Result<Stored, Error> {
    let (blob, diff_id) = compressing(compressor, path, |encoder| {
        super::reproducible::rewrite(BufReader::new(input), times, encoder)
    })
    .map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(Stored { blob, diff_id })
}

/// What the SBOM scanner reads of the layer at `offset` (`size` bytes)
/// of the export archive at `archive`; `None` when it refuses it.
fn scanned(archive: &Path, offset: u64, size: u64) -> Option<Arc<LayerFiles>> {
    let mut file = File::open(archive).ok()?;
    file.seek(SeekFrom::Start(offset)).ok()?;
    refused_said(scan::layer_files(BufReader::new(file.take(size))), archive)
}

/// `scanned`, with a refusal said: an SBOM of an image with this layer
/// then reads the image through the engine, which names the cause.
fn refused_said(scanned: std::io::Result<LayerFiles>, layer: &Path) -> Option<Arc<LayerFiles>> {
    match scanned {
        Ok(files) => Some(Arc::new(files)),
        Err(e) => {
            tracing::warn!(layer = %layer.display(), "the SBOM scanner refused a layer ({e}); an SBOM of its image reads the image through the engine");
            None
        }
    }
}

/// The blob the file at `path` is (reading at most `size` + 1 bytes of
/// it), the sha256 of what it uncompresses to, and what the SBOM scanner
/// reads of that (`None` when it refuses it).
fn digests(path: &Path, size: u64) -> std::io::Result<(Blob, String, Option<Arc<LayerFiles>>)> {
    let file = File::open(path)?;
    let mut compressed = HashingReader::new(BufReader::new(file.take(size + 1)));
    let mut plain = HashingReader::new(flate2::read::GzDecoder::new(&mut compressed));
    let files = refused_said(scan::layer_files(&mut plain), path);
    std::io::copy(&mut plain, &mut std::io::sink())?;
    let diff_id = plain.digest();
    std::io::copy(&mut compressed, &mut std::io::sink())?;
    let blob = Blob {
        digest: compressed.digest(),
        size: compressed.size(),
    };
    Ok((blob, diff_id, files))
}

/// Runs `write` into `compressor`'s gzip encoder writing the file `path`;
/// returns the compressed blob and the sha256 of what `write` wrote.
fn compressing(
    compressor: Compressor,
    path: &Path,
    write: impl FnOnce(&mut HashingWriter<Encoder<HashingWriter<BufWriter<File>>>>) -> std::io::Result<()>,
) -> std::io::Result<(Blob, String)> {
    let out = HashingWriter::new(BufWriter::new(File::create(path)?));
    let encoder = compressor.encoder(out);
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
    fn compression_is_deterministic_and_each_compressor_has_its_files() -> Result<(), Error> {
        let dir = tempdir();
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let a = compress(Compressor::NEW, &mut &data[..], &dir.path().join("a.gz"))?;
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = compress(Compressor::NEW, &mut &data[..], &dir.path().join("b.gz"))?;
        assert_eq!(a, b, "same bytes, same blob, whatever the time");
        let bytes = std::fs::read(dir.path().join("a.gz")).unwrap_or_default();
        assert_eq!(bytes.len() as u64, a.size);
        let original = compress(Compressor::Miniz6, &mut &data[..], &dir.path().join("c.gz"))?;
        assert_ne!(original, a, "another deflate, other bytes");
        let store = LayerStore::new(dir.path());
        let layer = "sha256:ab";
        assert_eq!(
            store.path(layer, Form::AsIs),
            dir.path().join("ab.tar.gz"),
            "the original names"
        );
        assert_eq!(
            store.compressed_by(Compressor::ZlibRs6).path(layer, Form::Clamped(7)),
            dir.path().join("ab.clamped-7.zlib-rs.tar.gz")
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
        let wanted: Wanted = [(layer.clone(), [Form::AsIs].into())].into();
        let store_dir = dir.path().join("cache/layers");
        // A fresh store each time: what another run of the tool would see.
        let store = || LayerStore::new(&store_dir);
        let added = store().add_from_export(&archive, &wanted)?;
        let mode = std::fs::metadata(&store_dir).map_or(0, |m| m.permissions().mode() & 0o777);
        assert_eq!(mode, 0o700, "the store is the user's alone");
        assert_eq!(
            store().get(&layer, Form::AsIs).as_ref(),
            added.get(&(layer.clone(), Form::AsIs))
        );
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
        let blob = compress(
            Compressor::default(),
            &mut &b"rewritten"[..],
            &store().path(&layer, clamped),
        )?;
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
        compress(
            Compressor::default(),
            &mut &b"rewritten"[..],
            &store().path(&layer, clamped),
        )?;
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
        // The second layer is a tar (one file), as a rewritten form needs.
        let mut layer = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(6);
        header.set_mode(0o644);
        header.set_mtime(5);
        header.set_uid(0);
        header.set_gid(0);
        header.set_cksum();
        layer
            .append_data(&mut header, "etc/os-release", &b"ID=x\n\n"[..])
            .unwrap_or_else(|e| panic!("{e}"));
        let second_layer = layer.into_inner().unwrap_or_else(|e| panic!("{e}"));
        add("manifest.json", b"[]");
        add("aaa/layer.tar", b"first layer");
        add("bbb/layer.tar", &second_layer);
        builder.into_inner().unwrap_or_else(|e| panic!("{e}"));
        let second = super::super::oci::sha256(&second_layer);
        let wanted: Wanted = [(second.clone(), [Form::AsIs, Form::Clamped(1)].into())].into();
        let store = LayerStore::new(dir.path().join("store"));
        assert_eq!(store.get(&second, Form::AsIs), None);
        let blobs = store.add_from_export(&archive, &wanted)?;
        let as_is = (second.clone(), Form::AsIs);
        let clamped = (second.clone(), Form::Clamped(1));
        assert_eq!(
            blobs.keys().collect::<Vec<_>>(),
            [&as_is, &clamped],
            "both forms, from one export"
        );
        assert_eq!(
            store.get(&second, Form::AsIs).as_ref(),
            blobs.get(&as_is),
            "stored with its record"
        );
        assert_eq!(blobs[&as_is].diff_id, second, "as is: the engine's diff id");
        assert_eq!(store.get(&second, Form::Clamped(2)), None, "another form, another file");
        let stored = std::fs::read(store.path(&second, Form::AsIs)).unwrap_or_default();
        assert_eq!(super::super::oci::sha256(&stored), blobs[&as_is].blob.digest);
        assert_ne!(blobs[&clamped].diff_id, second, "rewritten: its time is clamped");
        let os = |form| {
            store
                .files(&second, form)
                .map(|f| crate::sbom::scan::inventory([f.as_ref()]).os)
        };
        assert_eq!(
            os(Form::AsIs),
            os(Form::Clamped(1)),
            "the scanner read the same files of both"
        );
        assert!(os(Form::AsIs).is_some_and(|os| os.is_some_and(|os| os.id == "x")));
        let missing: Wanted = [(super::super::oci::sha256(b"absent"), [Form::AsIs].into())].into();
        let err = store.add_from_export(&archive, &missing).err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("has no layer sha256:"));
        Ok(())
    }
}
