//! The demo: builds the end-to-end family on the local engine through the
//! pipeline the build tool uses and prints every check's result.
//!
//! `scripts/engine.sh run cargo run -p base-images-tests --example demo`
//! (or, with an engine already up: `cargo run -p base-images-tests --example demo`).
//! Ctrl-C removes the containers the run started.

use std::process::ExitCode;

use base_images::checks::{ResultCache, Status};
use base_images::engine::docker::DockerEngine;
use base_images::engine::pipeline::{build_and_check, interruptible, ImageReport};
use base_images::engine::Engine as _;

#[tokio::main]
async fn main() -> ExitCode {
    base_images_tests::fixtures::serve_on_declared_port();
    let engine = match DockerEngine::connect().await {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!("engine: {}", engine.endpoint());
    let no_cache = std::env::args().any(|a| a == "--no-cache");
    let mut cache = if no_cache {
        ResultCache::disabled()
    } else {
        match ResultCache::default_dir() {
            Ok(dir) => ResultCache::open(&dir),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let work = async {
        let mut reports = Vec::new();
        for image in base_images::registry::versions_of("e2e-python") {
            let report = build_and_check(&engine, image, "linux/amd64", &mut cache).await;
            print_report(&report);
            reports.push(report);
        }
        reports
    };
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let reports = match interruptible(engine.cleanup(), work, interrupt).await {
        Ok(reports) => reports,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(130);
        }
    };
    if let Err(e) = cache.save() {
        eprintln!("warning: {e}");
    }
    let failed = reports.iter().filter(|r| !r.passed()).count();
    println!("\n{} version(s) built, {failed} failed", reports.len());
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_report(report: &ImageReport) {
    let steps = report.image.as_ref().map_or(String::new(), |i| {
        format!(
            "{} step(s) built, {} cached, image {}",
            i.steps_built,
            i.steps_cached,
            &i.id[..19.min(i.id.len())]
        )
    });
    println!(
        "\n{} [{}] {steps} ({:.1} s)",
        report.key,
        report.platform,
        report.duration.as_secs_f64()
    );
    for check in &report.checks {
        let origin = &check.check.declared_in;
        let (mark, detail) = match &check.status {
            Status::Passed => ("pass", String::new()),
            Status::Cached => ("pass", " (cached)".to_owned()),
            Status::Failed(f) => ("FAIL", format!(":\n    {f}")),
            Status::TimedOut(limit) => ("FAIL", format!(": timed out after {} s", limit.as_secs())),
        };
        println!(
            "  {mark} {:<28} {}{detail}  [{origin}]",
            check.check.check.id, check.check.check.description
        );
    }
    if let Some(e) = &report.error {
        println!("  FAIL {e}");
    }
}
