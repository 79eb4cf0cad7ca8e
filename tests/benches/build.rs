//! The build tool end to end: `build e2e-python` from an empty step cache
//! (our tags untagged, the engine's BuildKit cache pruned) and an empty
//! result cache, then again (everything served from the
//! caches), timed in the same run. Figures go to docs/benchmarks.md.
//!
//! `scripts/engine.sh run cargo bench -p base-images-tests --bench build`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use base_images::engine::docker::{DockerEngine, CACHE_REPOSITORY};
use bollard::query_parameters::{ListImagesOptions, PruneBuildOptions, RemoveImageOptions};

fn build(root: &std::path::Path) -> Duration {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_e2e-build"))
        .arg("--root")
        .arg(root)
        .args(["--quiet", "build", "e2e-python"])
        .env("BASE_IMAGES_CACHE_DIR", root.join("cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    start.elapsed()
}

#[tokio::main]
async fn main() {
    base_images_tests::fixtures::serve_on_declared_port();
    let engine = DockerEngine::connect().await.unwrap();
    // Forget every cached step, so the first build runs every step.
    let filters = HashMap::from([("reference".to_owned(), vec![CACHE_REPOSITORY.to_owned()])]);
    let options = ListImagesOptions {
        filters: Some(filters),
        ..Default::default()
    };
    for image in engine.client().list_images(Some(options)).await.unwrap() {
        for tag in image.repo_tags {
            let options = RemoveImageOptions {
                force: true,
                ..Default::default()
            };
            engine.client().remove_image(&tag, Some(options), None).await.unwrap();
        }
    }
    // The steps run in the engine's BuildKit, whose own cache goes too.
    let options = PruneBuildOptions {
        all: Some(true),
        ..Default::default()
    };
    engine.client().prune_build(Some(options)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("versions.lock"), "format = 1\n").unwrap();
    let first = build(dir.path());
    let second = build(dir.path());
    println!("| `build e2e-python` (4 versions, 19 steps, 64 check runs) | first build: {:.1} s | second build: {:.2} s | {:.0}x faster | >= 20x |",
        first.as_secs_f64(), second.as_secs_f64(), first.as_secs_f64() / second.as_secs_f64());
}
