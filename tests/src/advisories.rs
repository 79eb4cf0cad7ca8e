//! The OSV advisory fixtures (`tests/fixtures/advisories/`): records in a
//! directory (`osv/`) and more (`zipped/`) packed into a zip at test time,
//! as the OSV project's per-ecosystem exports come.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// `tests/fixtures/advisories`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/advisories")
}

/// The `zipped/` records as a zip in `dir`; returns its path.
pub fn zipped(dir: &Path) -> PathBuf {
    let path = dir.join("advisories-extra.zip");
    let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut zip = zip::ZipWriter::new(file);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(fixtures().join("zipped"))
        .unwrap_or_else(|e| panic!("the zipped fixtures: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(&entry).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .and_then(|()| zip.write_all(&bytes).map_err(Into::into))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    zip.finish().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

/// `--advisories osv/ --advisories zipped.zip` (the zip made in `dir`).
pub fn args(dir: &Path) -> Vec<String> {
    vec![
        "--advisories".into(),
        fixtures().join("osv").display().to_string(),
        "--advisories".into(),
        zipped(dir).display().to_string(),
    ]
}
