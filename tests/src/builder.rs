//! A second private engine on this machine, for the tests of builders per
//! platform: `scripts/engine.sh private` started on an engine directory of
//! its own (its own data root, sockets and containerd), stopped by the
//! same script, by the PIDs it recorded, when the value is dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The script that starts and stops private engines.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/engine.sh");

/// Debian's docker CLI (another one may come first in PATH).
const DOCKER: &str = "/usr/bin/docker";

/// The engine the tests run on, as its `DOCKER_HOST` (as the docker CLI
/// finds it).
pub fn first_engine() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned())
}

/// A running second engine.
pub struct SecondEngine {
    /// Holds the engine directory; removed last.
    _parent: tempfile::TempDir,
    /// The engine directory the script owns.
    dir: PathBuf,
    /// Its `DOCKER_HOST`.
    host: String,
}

impl SecondEngine {
    /// Starts one; `None` (see [`crate::gate::not_run`]) when it could not.
    pub fn start() -> Option<SecondEngine> {
        let parent = tempfile::Builder::new()
            .prefix("base-images-builder.")
            .tempdir_in("/var/tmp")
            .ok()?;
        let dir = parent.path().join("engine");
        let out = script(&dir, "private");
        if !out.status.success() {
            crate::gate::not_run(&format!(
                "a second private engine did not start: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
            return None;
        }
        let host = format!("unix://{}", dir.join("docker.sock").display());
        Some(SecondEngine {
            _parent: parent,
            dir,
            host,
        })
    }

    /// Starts one holding `roots`, copied from the engine the tests run
    /// on ([`first_engine`]); `None` as [`SecondEngine::start`].
    pub fn with_roots(roots: &[&str]) -> Option<SecondEngine> {
        let second = SecondEngine::start()?;
        for root in roots {
            second.copy_image(&first_engine(), root);
        }
        Some(second)
    }

    /// Its `DOCKER_HOST`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Copies `image` from the engine `from` (a `DOCKER_HOST`) into this
    /// one, as `docker save | docker load` does (the same image id).
    pub fn copy_image(&self, from: &str, image: &str) {
        let mut save = Command::new(DOCKER)
            .args(["-H", from, "save", image])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("docker save: {e}"));
        let archive = save
            .stdout
            .take()
            .unwrap_or_else(|| panic!("docker save has no output"));
        let load = Command::new(DOCKER)
            .args(["-H", &self.host, "load", "-q"])
            .stdin(archive)
            .output()
            .unwrap_or_else(|e| panic!("docker load: {e}"));
        let saved = save.wait().unwrap_or_else(|e| panic!("docker save: {e}"));
        assert!(
            saved.success() && load.status.success(),
            "copying {image}: {}",
            String::from_utf8_lossy(&load.stderr)
        );
    }
}

impl Drop for SecondEngine {
    fn drop(&mut self) {
        let out = script(&self.dir, "stop");
        if !out.status.success() {
            eprintln!("stopping {}: {}", self.host, String::from_utf8_lossy(&out.stderr));
        }
    }
}

/// `scripts/engine.sh COMMAND` on the engine directory `dir`.
fn script(dir: &Path, command: &str) -> Output {
    Command::new("bash")
        .arg(SCRIPT)
        .arg(command)
        .env("BASE_IMAGES_ENGINE_DIR", dir)
        .output()
        .unwrap_or_else(|e| panic!("{SCRIPT}: {e}"))
}

/// Runs the docker CLI on the engine at `host` with `args`; panics
/// unless it succeeds.
pub fn docker(host: &str, args: &[&str]) -> String {
    let out = Command::new(DOCKER)
        .args(["-H", host])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("docker {args:?}: {e}"));
    assert!(
        out.status.success(),
        "docker {args:?} on {host}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the engine at `host` says of image `id`'s architecture; `None`
/// when it has no such image.
pub fn architecture_on(host: &str, id: &str) -> Option<String> {
    inspect(host, id, "{{.Architecture}}")
}

/// The image id of `image` on the engine at `host`.
pub fn image_id_on(host: &str, image: &str) -> String {
    inspect(host, image, "{{.Id}}").unwrap_or_else(|| panic!("{image} is not on {host}"))
}

/// `docker image inspect --format FORMAT image` on the engine at `host`;
/// `None` when it has no such image.
fn inspect(host: &str, image: &str, format: &str) -> Option<String> {
    let out = Command::new(DOCKER)
        .args(["-H", host, "image", "inspect", "--format", format, image])
        .output()
        .unwrap_or_else(|e| panic!("docker image inspect: {e}"));
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
