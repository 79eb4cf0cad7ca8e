//! `scripts/engine.sh`, the private engine the tests start: it runs, and
//! kills, what its engine directory names, so it refuses a directory it did
//! not create (no marker), one another user owns, a symbolic link and one
//! others may write to, before it reads or writes anything there; the
//! directory it creates is 0700 and marked.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::{Command, Output};

mod tool;

/// The script.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/engine.sh");

/// The marker the script writes into a directory it creates.
const MARKER: &str = ".base-images-engine";

/// The script with `args` on the engine directory `dir`.
fn engine_sh(dir: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(SCRIPT)
        .args(args)
        .env("BASE_IMAGES_ENGINE_DIR", dir)
        .output()
        .unwrap()
}

/// Asserts the script refused `dir` for `reason`, with exit 2.
fn assert_refused(out: &Output, dir: &Path, reason: &str) {
    let text = tool::text(out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!("refusing the engine directory {}: {reason}", dir.display())),
        "{text}"
    );
}

/// The names in `dir`.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A directory as the script makes it: 0700, with its marker.
fn marked_dir(parent: &Path) -> std::path::PathBuf {
    let dir = parent.join("engine");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(dir.join(MARKER), "made here\n").unwrap();
    dir
}

#[test]
fn a_directory_the_script_did_not_create_is_refused_and_nothing_it_names_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    // A process the directory's pidfile names, as a neighbour could plant it.
    let mut planted = Command::new("sleep").arg("300").spawn().unwrap();
    std::fs::write(dir.path().join("dockerd.launcher.pid"), format!("{}\n", planted.id())).unwrap();
    let before = listing(dir.path());

    let stop = engine_sh(dir.path(), &["stop"]);
    let run = engine_sh(dir.path(), &["run", "true"]);
    let alive = planted.try_wait().unwrap().is_none();
    let _ = planted.kill();
    let _ = planted.wait();

    let reason = format!("scripts/engine.sh did not create it (no {MARKER} marker)");
    for out in [&stop, &run] {
        assert_refused(out, dir.path(), &reason);
    }
    assert!(alive, "stop killed the process a foreign pidfile named");
    assert_eq!(listing(dir.path()), before, "nothing was written into the directory");
}

#[test]
fn a_directory_another_user_owns_is_refused() {
    let parent = tempfile::tempdir().unwrap();
    let dir = marked_dir(parent.path());
    let (dir, owner) = if std::fs::metadata(&dir).unwrap().uid() == 0 {
        // As root: the same directory, given to nobody.
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        let owner = std::fs::metadata(&dir).unwrap().uid();
        (dir, owner)
    } else {
        // As another user: a directory root owns.
        (Path::new("/").to_path_buf(), 0)
    };
    let name = String::from_utf8(
        Command::new("id")
            .args(["-nu", &owner.to_string()])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    for args in [&["stop"][..], &["run", "true"], &["env"]] {
        assert_refused(&engine_sh(&dir, args), &dir, &format!("it is owned by {}", name.trim()));
    }
}

#[test]
fn a_symbolic_link_or_a_directory_others_may_write_to_is_refused() {
    let parent = tempfile::tempdir().unwrap();
    let dir = marked_dir(parent.path());
    let link = parent.path().join("link");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    assert_refused(&engine_sh(&link, &["stop"]), &link, "it is a symbolic link");

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_refused(&engine_sh(&dir, &["stop"]), &dir, "others may write to it (mode 777)");

    // The directory as the script leaves it is accepted (nothing to stop).
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = engine_sh(&dir, &["stop"]);
    assert!(out.status.success(), "{}", tool::text(&out));
}

#[test]
fn the_script_creates_its_directory_private_and_marked() {
    if !tool::engine_up() {
        return;
    }
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("new-engine");
    // Reuses the engine at DOCKER_HOST and the registry already running.
    let out = engine_sh(&dir, &["run", "true"]);
    assert!(out.status.success(), "{}", tool::text(&out));
    let meta = std::fs::symlink_metadata(&dir).unwrap();
    assert!(meta.is_dir());
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    assert!(dir.join(MARKER).is_file());
    // Once made, it is the script's own.
    let out = engine_sh(&dir, &["stop"]);
    assert!(out.status.success(), "{}", tool::text(&out));
}
