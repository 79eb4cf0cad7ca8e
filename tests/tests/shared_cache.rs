//! A step and check cache shared through a registry: two runners (two
//! engines, two check result caches) and one cache registry. The first
//! runner writes; the second builds no step and runs no check the first
//! ran, and writes the same versions.lock and CHANGELOG.md. A cache entry
//! whose recipe label is not its key's is ignored; a cache registry killed
//! mid-build leaves a build that finishes without it, said once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod tool;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base_images_tests::builder::{docker, first_engine, SecondEngine};
use base_images_tests::dual::{ROOT_AMD64, ROOT_ARM64};
use base_images_tests::oci_registry::TestRegistry;
use tool::{command, engine_up, text};

/// The cache repository's path in each test's registry.
const PATH: &str = "ci/cache";

/// The tool on `root` with `args`, on the engine at `host`, every runner
/// given the same release time.
fn runner(root: &Path, host: &str, args: &[&str]) -> Command {
    let mut command = command(root, args);
    command.env("DOCKER_HOST", host).env("SOURCE_DATE_EPOCH", "1700000000");
    command
}

/// A fresh workspace.
fn workspace() -> tempfile::TempDir {
    tool::workspace()
}

/// The JSON report at `path`.
fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The tags the registry holds in the cache repository.
fn tags(registry: &TestRegistry) -> Vec<String> {
    let dir = registry
        .storage()
        .join("docker/registry/v2/repositories")
        .join(PATH)
        .join("_manifests/tags");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_second_runner_sharing_the_cache_builds_and_checks_nothing_the_first_did() {
    if !engine_up() {
        return;
    }
    let Some(second) = SecondEngine::with_roots(&[ROOT_AMD64, ROOT_ARM64, base_images_tests::e2e::ROOT]) else {
        return;
    };
    let first = first_engine();
    let registry = TestRegistry::on_free_port(None);
    let cache = format!("{}/{PATH}", registry.host());
    let families = ["e2e-dual", "e2e-python"];

    let one = workspace();
    let json = format!("json={}", one.path().join("r.json").display());
    let mut args = vec!["build", "--cache", &cache, "--cache-write", "--report", &json];
    args.extend(families);
    let out = runner(one.path(), &first, &args).output().unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        tags(&registry).iter().any(|t| t.starts_with("checks-")),
        "results were shared"
    );

    let two = workspace();
    let json = format!("json={}", two.path().join("r.json").display());
    let mut args = vec!["build", "--cache", &cache, "--report", &json];
    args.extend(families);
    let out = runner(two.path(), second.host(), &args).output().unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    let versions = report(&two.path().join("r.json"))["versions"]
        .as_array()
        .unwrap()
        .clone();
    assert!(versions.len() >= 5, "{versions:?}");
    for version in &versions {
        assert_eq!(version["steps_built"], 0, "{version}");
        assert_eq!(version["engine"], format!("docker at {}", second.host()), "{version}");
        for check in version["checks"].as_array().unwrap() {
            assert_eq!(check["status"], "cached", "{} {check}", version["image"]);
        }
    }
    for file in ["versions.lock", "CHANGELOG.md"] {
        assert_eq!(
            std::fs::read_to_string(two.path().join(file)).unwrap(),
            std::fs::read_to_string(one.path().join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn a_cache_entry_whose_label_is_not_its_keys_is_ignored() {
    if !engine_up() {
        return;
    }
    let Some(second) = SecondEngine::with_roots(&[ROOT_AMD64]) else {
        return;
    };
    let first = first_engine();
    let registry = TestRegistry::on_free_port(None);
    let cache = format!("{}/{PATH}", registry.host());
    let args = ["build", "e2e-dual", "--platform", "linux/amd64", "--cache", &cache];

    let one = workspace();
    let mut write = args.to_vec();
    write.push("--cache-write");
    let out = runner(one.path(), &first, &write).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // Every step image in the cache is replaced by the root image, which
    // has no recipe label.
    let steps: Vec<String> = tags(&registry)
        .into_iter()
        .filter(|t| !t.starts_with("checks-"))
        .collect();
    assert_eq!(steps.len(), 2, "one image per version: {steps:?}");
    for tag in &steps {
        let name = format!("{cache}:{tag}");
        docker(&first, &["tag", ROOT_AMD64, &name]);
        docker(&first, &["push", "-q", &name]);
        docker(&first, &["rmi", &name]);
    }

    let two = workspace();
    let json = format!("json={}", two.path().join("r.json").display());
    let mut read = args.to_vec();
    read.extend(["--report", &json]);
    let out = runner(two.path(), second.host(), &read).output().unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("ignored a cache entry whose recipe label"), "{said}");
    for version in report(&two.path().join("r.json"))["versions"].as_array().unwrap() {
        assert!(
            version["steps_built"].as_u64().unwrap() > 0,
            "built, not pulled: {version}"
        );
    }
}

#[test]
fn a_cache_registry_killed_mid_build_leaves_a_build_that_finishes_without_it() {
    if !engine_up() {
        return;
    }
    let Some(second) = SecondEngine::with_roots(&[ROOT_AMD64, ROOT_ARM64]) else {
        return;
    };
    let mut registry = TestRegistry::on_free_port(None);
    let cache = format!("{}/{PATH}", registry.host());
    let ws = workspace();
    let args = ["build", "e2e-dual", "--cache", &cache, "--cache-write", "--jobs", "1"];
    let mut child = runner(ws.path(), second.host(), &args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first step image reaches the registry: the build is under way.
    let start = Instant::now();
    while tags(&registry).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(600), "nothing was pushed");
        assert!(child.try_wait().unwrap().is_none(), "the build ended before pushing");
        std::thread::sleep(Duration::from_millis(20));
    }
    registry.stop();
    let out = child.wait_with_output().unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    let down = format!("the cache registry of {cache} failed");
    assert!(said.contains(&down), "{said}");
    assert_eq!(
        said.matches("this run builds without it").count(),
        1,
        "said once: {said}"
    );
    assert!(
        said.contains("all 2 version(s) passed on linux/amd64, linux/arm64"),
        "{said}"
    );
}
