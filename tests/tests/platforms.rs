//! Every platform of a family is built and checked before a release: the
//! two-platform e2e families on the Docker engine (linux/arm64 under
//! qemu-user-static). A check that fails on one platform only blocks the
//! release and names that platform; `--platform` alone is never a release.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod tool;

use std::path::Path;

use base_images::Lock;
use tool::{engine_up, text, tool, workspace};

fn untouched(root: &Path) {
    assert_eq!(
        std::fs::read_to_string(root.join("versions.lock")).unwrap(),
        "format = 1\n"
    );
    assert!(!root.join("CHANGELOG.md").exists(), "no CHANGELOG.md written");
}

#[test]
fn a_check_that_fails_on_arm64_only_blocks_the_release_and_names_the_platform() {
    if !engine_up() {
        return;
    }
    let ws = workspace();
    let report = ws.path().join("r.json");
    let out = tool(
        ws.path(),
        &[
            "build",
            "e2e-dual-broken",
            "--report",
            &format!("json={}", report.display()),
        ],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("ok   e2e-dual-broken:1.0.0 [linux/amd64]"), "{said}");
    assert!(
        said.contains("FAIL e2e-dual-broken:1.0.0 [linux/arm64] check `x86-only`"),
        "the failure names the platform: {said}"
    );
    assert!(said.contains("      aarch64"), "the arm64 machine's output: {said}");
    assert!(
        said.contains("error: 1 image failed: e2e-dual-broken:1.0.0 [linux/arm64]; nothing was written"),
        "{said}"
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let results: Vec<(String, bool)> = json["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["platform"].as_str().unwrap().to_owned(),
                v["passed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [("linux/amd64".to_owned(), true), ("linux/arm64".to_owned(), false)]
    );
    untouched(ws.path());
}

#[test]
fn both_platforms_are_built_and_checked_and_one_platform_alone_is_not_a_release() {
    if !engine_up() {
        return;
    }
    let ws = workspace();
    let out = tool(ws.path(), &["build", "e2e-dual", "--platform", "linux/arm64"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("e2e-dual:1.1.0 [linux/arm64] 7 check(s)"), "{said}");
    assert!(!said.contains("[linux/amd64]"), "{said}");
    assert!(
        said.contains("built for linux/arm64 only") && said.contains("not a release"),
        "{said}"
    );
    untouched(ws.path());

    let out = tool(ws.path(), &["build", "e2e-dual"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    for platform in ["linux/amd64", "linux/arm64"] {
        for version in ["1.0.0", "1.1.0"] {
            assert!(
                said.contains(&format!("ok   e2e-dual:{version} [{platform}]")),
                "{said}"
            );
        }
    }
    assert!(
        said.contains("all 2 version(s) passed on linux/amd64, linux/arm64"),
        "{said}"
    );
    let lock = Lock::read(&ws.path().join("versions.lock")).unwrap();
    let entry = lock.get(&"e2e-dual:1.1.0".parse().unwrap()).unwrap();
    let platforms: Vec<&String> = entry.local_roots.keys().collect();
    assert_eq!(
        platforms,
        ["linux/amd64", "linux/arm64"],
        "each platform's local root is recorded"
    );
    assert!(entry.released.is_some(), "the release time is recorded");
}
