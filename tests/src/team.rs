//! A team's own crate, as a user of the project has one: families in its
//! lib, the build tool in a three-line bin, built by cargo in a temporary
//! directory against this checkout (every team crate of the tests shares
//! one target directory, so the libraries are compiled once). It resolves
//! its dependencies from this workspace's Cargo.lock, so it compiles the
//! versions the workspace was tested with (and none newer published since),
//! and it builds the library and the tool without the Dagger SDK: the team
//! tests run on the Docker engine, and the SDK's ~70 crates would add a
//! fifth to the build.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A team crate at `root`: its Cargo.toml and the tool as `src/bin/BIN.rs`
/// (`bin` unique per test: it names the package too, since the shared
/// target directory keeps one build of each package name and binary); the
/// caller writes `src/lib.rs` (the library `team_images`) and the family
/// modules.
pub fn create(root: &Path, bin: &str) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new(".."));
    let write = |path: PathBuf, text: String| {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    };
    write(
        root.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{bin}-images\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\nname = \"team_images\"\n\n[dependencies]\n\
             base-images = {{ path = \"{0}/base-images\", default-features = false }}\n\
             base-images-build = {{ path = \"{0}/base-images-build\", default-features = false }}\n\n[workspace]\n",
            repo.display()
        ),
    );
    let lock = repo.join("Cargo.lock");
    write(
        root.join("Cargo.lock"),
        std::fs::read_to_string(&lock).unwrap_or_else(|e| panic!("{}: {e}", lock.display())),
    );
    write(
        root.join(format!("src/bin/{bin}.rs")),
        "use team_images as _;\nfn main() -> std::process::ExitCode { base_images_build::main() }\n".to_owned(),
    );
}

/// Builds the tool `bin` of the team crate at `root` (`target`: the shared
/// target directory); returns its path, or cargo's output on failure.
pub fn build(root: &Path, target: &Path, bin: &str) -> Result<PathBuf, Output> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "-q", "--bin", bin])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap_or_else(|e| panic!("cargo: {e}"));
    if out.status.success() {
        Ok(target.join("debug").join(bin))
    } else {
        Err(out)
    }
}
