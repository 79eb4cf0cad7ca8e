//! The build tool as the tests run it: the real binary (`e2e-build`, the
//! tool linked with the test families) on a fresh temporary workspace, with
//! its own check-result cache, no colour, the e2e family's downloads
//! from this process's fixture server, and no Dagger session unless a
//! test gives it one (so `--engine auto` means the Docker engine even when
//! the tests themselves run under `dagger run`).

// Each test binary uses part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The build tool's binary.
const TOOL: &str = env!("CARGO_BIN_EXE_e2e-build");

/// Whether the engine tests run: the engine answers (the tests' one gate,
/// `base_images_tests::gate`: with `BASE_IMAGES_E2E=1` a missing engine
/// fails the test); the fixture server the e2e family fetches from is
/// started.
pub(crate) fn engine_up() -> bool {
    base_images_tests::fixtures::serve();
    base_images_tests::gate::engine_up()
}

/// A workspace with an empty versions.lock.
pub(crate) fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("versions.lock"), "format = 1\n").unwrap();
    dir
}

/// The tool on the workspace `root` with `args`, not yet run.
pub(crate) fn command(root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(TOOL);
    command
        .arg("--root")
        .arg(root)
        .args(args)
        .env("BASE_IMAGES_CACHE_DIR", root.join("cache"))
        .env("NO_COLOR", "1")
        .env("BASE_IMAGES_FETCH_MIRROR", base_images_tests::fixtures::mirror())
        .env_remove("DAGGER_SESSION_PORT")
        .env_remove("DAGGER_SESSION_TOKEN");
    command
}

/// Runs the tool on `root` with `args`.
pub(crate) fn tool(root: &Path, args: &[&str]) -> Output {
    command(root, args).output().unwrap()
}

/// Both output streams, as text.
pub(crate) fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Sends SIGINT (Ctrl-C) to the process `pid` this test started.
pub(crate) fn interrupt(pid: u32) {
    assert!(Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap()
        .success());
}
