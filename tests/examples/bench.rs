//! Speed of the Docker engine, as ratios against baselines measured in the
//! same run (figures reported in docs/benchmarks.md):
//! 1. per-check overhead vs a raw `docker exec <container> true`;
//! 2. 30 checks on one image vs 1 check (they run concurrently);
//! 3. rebuilding an unchanged chain of versions vs its first build;
//! 4. re-checking it with cached results vs checking it.
//!
//! `scripts/engine.sh run cargo run --release -p base-images-tests --example bench`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::time::{Duration, Instant};

use base_images::checks::{all_cached, run_checks, Check, CheckKind, ResolvedCheck, ResultCache};
use base_images::engine::docker::DockerEngine;
use base_images::engine::{BuildRequest, BuiltImage, Engine};
use base_images::fetch::{fetch_inputs, Pins};
use base_images::{get, Recipe};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn checks(n: usize) -> Vec<ResolvedCheck> {
    (0..n)
        .map(|i| ResolvedCheck {
            check: Check::new(
                format!("true-{i}"),
                CheckKind::CommandSucceeds {
                    args: vec!["true".into()],
                },
            ),
            declared_in: "bench".into(),
            replaces: None,
        })
        .collect()
}

/// The e2e chain with a fresh first step, so no step of it is cached yet.
fn fresh_chain(nonce: &str) -> Vec<(String, Recipe)> {
    ["e2e-python:1.0.0", "e2e-python:1.1.0", "e2e-python:1.2.0"]
        .into_iter()
        .map(|key| {
            let mut recipe = get(key).unwrap().recipe().unwrap();
            let nonce = base_images::Step::Env {
                name: "BENCH_NONCE".into(),
                value: nonce.into(),
            };
            recipe.steps = std::iter::once(nonce).chain(recipe.steps.to_vec()).collect();
            (key.to_owned(), recipe)
        })
        .collect()
}

async fn build_chain(engine: &DockerEngine, chain: &[(String, Recipe)]) -> (Duration, Vec<BuiltImage>) {
    let start = Instant::now();
    let mut built = Vec::new();
    for (key, recipe) in chain {
        let declared_by = vec![key.clone(); recipe.steps.len()];
        let inputs = fetch_inputs(recipe, &Pins::new()).await.unwrap();
        let request = BuildRequest {
            recipe,
            platform: "linux/amd64",
            declared_by: &declared_by,
            inputs: &inputs,
        };
        built.push(engine.build(request).await.unwrap());
    }
    (start.elapsed(), built)
}

async fn check_chain(
    engine: &DockerEngine,
    built: &[BuiltImage],
    keys: &[String],
    cache: &mut ResultCache,
) -> Duration {
    let start = Instant::now();
    for (image, key) in built.iter().zip(keys) {
        let resolved = get(key).unwrap().checks().unwrap();
        if all_cached(&image.id, &resolved, cache).is_some() {
            continue;
        }
        let target = engine.start(image, false).await.unwrap();
        let reports = run_checks(&target, &image.id, &resolved, cache).await;
        assert!(reports.iter().all(|r| r.status.is_pass()), "{key}: {reports:?}");
        engine.stop(target).await;
    }
    start.elapsed()
}

#[tokio::main]
async fn main() {
    base_images_tests::fixtures::serve_on_declared_port();
    let engine = DockerEngine::connect().await.unwrap();
    let rounds = 30;

    // 3 and 4 first: they also leave a built image for 1 and 2.
    let nonce = format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let chain = fresh_chain(&nonce);
    let keys: Vec<String> = chain.iter().map(|(k, _)| k.clone()).collect();
    let (first_build, built) = build_chain(&engine, &chain).await;
    let (rebuild, rebuilt) = build_chain(&engine, &chain).await;
    assert!(
        built
            .iter()
            .zip(&rebuilt)
            .all(|(a, b)| a.id == b.id && b.steps_built == 0),
        "{rebuilt:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut cache = ResultCache::open(dir.path());
    let first_check = check_chain(&engine, &built, &keys, &mut cache).await;
    let recheck = check_chain(&engine, &built, &keys, &mut cache).await;

    let image = &built[0];
    let target = engine.start(image, false).await.unwrap();
    let id = target.id().to_owned();

    // 1. Per-check overhead: the raw CLI exec vs one check through run_checks.
    let docker_cli = if std::path::Path::new("/usr/bin/docker").exists() {
        "/usr/bin/docker"
    } else {
        "docker"
    };
    let mut raw = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let status = std::process::Command::new(docker_cli)
            .args(["exec", &id, "true"])
            .status()
            .unwrap();
        assert!(status.success());
        raw.push(start.elapsed());
    }
    let one = checks(1);
    let mut ours = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let reports = run_checks(&target, &image.id, &one, &mut ResultCache::disabled()).await;
        assert!(reports[0].status.is_pass());
        ours.push(start.elapsed());
    }
    let (raw, ours) = (median(raw), median(ours));

    // 2. Thirty checks at once vs one.
    let thirty = checks(30);
    let mut many = Vec::new();
    for _ in 0..9 {
        let start = Instant::now();
        let reports = run_checks(&target, &image.id, &thirty, &mut ResultCache::disabled()).await;
        assert!(reports.iter().all(|r| r.status.is_pass()));
        many.push(start.elapsed());
    }
    let many = median(many);
    engine.stop(target).await;

    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("| measure | baseline | ours | ratio | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| per-check overhead (median of {rounds}) | `docker exec C true`: {} | one check: {} | {:.2}x | <= 1.5x |",
        ms(raw),
        ms(ours),
        ratio(ours, raw)
    );
    println!(
        "| 30 concurrent checks vs 1 (median of 9) | 1 check: {} | 30 checks: {} | {:.2}x | <= 3x |",
        ms(ours),
        ms(many),
        ratio(many, ours)
    );
    println!(
        "| rebuild of an unchanged 3-version chain | first build: {} | rebuild: {} | {:.0}x faster | >= 20x |",
        ms(first_build),
        ms(rebuild),
        ratio(first_build, rebuild)
    );
    println!(
        "| re-check of the chain with cached results | first check: {} | re-check: {} | {:.0}x faster | >= 50x |",
        ms(first_check),
        ms(recheck),
        ratio(first_check, recheck)
    );
}
