//! The real binary: it writes CHANGELOG.md, `check` fails on a stale one,
//! and bad input gives a message and a non-zero exit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use std::path::Path;
use std::process::{Command, Output};

fn tool(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_base-images-build"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn writes_the_changelog_then_check_passes_and_fails_when_stale() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("versions.lock"), "format = 1\n").unwrap();

    let stale = tool(dir.path(), &["check"]);
    assert_eq!(stale.status.code(), Some(1), "{}", stderr(&stale));
    assert!(
        stderr(&stale).contains("CHANGELOG.md is out of date"),
        "{}",
        stderr(&stale)
    );

    let write = tool(dir.path(), &["changelog"]);
    assert!(write.status.success(), "{}", stderr(&write));
    let changelog = std::fs::read_to_string(dir.path().join("CHANGELOG.md")).unwrap();
    assert!(changelog.starts_with("# Changelog\n"));

    let check = tool(dir.path(), &["check"]);
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn a_malformed_lock_is_named_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("versions.lock"), "format = 7\n").unwrap();
    let output = tool(dir.path(), &["check"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("versions.lock: format 7 is not supported"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn usage_errors_exit_2() {
    let output = tool(Path::new("/nonexistent/dir"), &["check"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--root /nonexistent/dir: no such directory"),
        "{}",
        stderr(&output)
    );
    let output = tool(Path::new("."), &["no-such-command"]);
    assert_eq!(output.status.code(), Some(2));
}

/// What CI asks of every commit: this repository's CHANGELOG.md and
/// versions.lock are what the catalog's declarations say (the binary the
/// test build made, so no second build with other features).
#[test]
fn this_repository_s_generated_files_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output = tool(root, &["check"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("released versions unchanged; generated files up to date"),
        "{stdout}"
    );
}

/// `--platform` is parsed once as a platform: the OCI spec's spelling of
/// arm64 (`linux/arm64/v8`) names the family's `linux/arm64`, and text that
/// is no platform is a usage error that says why.
#[test]
fn platforms_given_on_the_command_line_are_parsed_and_normalised() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let image = "airbyte-python-connector-base:1.0.0";
    let v8 = tool(root, &["dockerfile", image, "--platform", "linux/arm64/v8"]);
    let arm64 = tool(root, &["dockerfile", image, "--platform", "linux/arm64"]);
    assert!(v8.status.success(), "{}", stderr(&v8));
    assert_eq!(v8.stdout, arm64.stdout);
    let bad = tool(root, &["dockerfile", image, "--platform", "linux"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("platform `linux` is not os/arch[/variant]; write e.g. linux/amd64 or linux/arm/v7"),
        "{}",
        stderr(&bad)
    );
}
