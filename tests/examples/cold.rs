//! Cold builds against BuildKit on the same engine: for each subject, with
//! the step cache and the BuildKit cache (cache mounts included) emptied
//! before every run, alternating ours and the baseline (five rounds; which
//! runs first alternates too):
//! - ours: `Engine::build` of the version's recipe (build alone), then its
//!   resolved checks (build plus checks);
//! - BuildKit: `DOCKER_BUILDKIT=1 docker build --network host --no-cache`
//!   of the Dockerfile the tool renders for it. A fetched input is served
//!   to BuildKit from the build context instead (this engine cannot pull
//!   the `dockerfile:1.6` frontend nor busybox), already unpacked.
//!
//! Subjects: e2e-python:1.0.0 (7 steps), e2e-python:1.2.0 (the whole
//! chain, 19 steps, fetched file and archive) and a synthetic recipe of 30
//! RUN steps on the same root.
//!
//! Then whole families as a user runs them, whole processes: the release
//! build of the build tool (`e2e-build build e2e-python`, every version
//! built and checked; then `e2e-build build e2e-python e2e-rpm`, two
//! independent families; then the whole e2e catalog that builds and
//! passes on this machine without a registry, e2e-python, e2e-rpm and
//! e2e-dual, the last for linux/amd64 and linux/arm64) against `docker
//! build` of every version's rendered Dockerfile for each of its platforms
//! one after the other (BuildKit's cache on, so shared prefixes are built
//! once), first from cold (caches emptied, `--no-cache` for the check
//! results), then again with everything cached.
//!
//! `scripts/engine.sh run cargo build --release -p base-images-tests --bin e2e-build --example cold && scripts/engine.sh run target/release/examples/cold`
//! (`… cold families`: the whole families only; `… cold subjects`: the
//! single versions only)

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base_images::checks::{run_checks, ResolvedCheck, ResultCache};
use base_images::engine::docker::DockerEngine;
use base_images::engine::{BuildRequest, Engine};
use base_images::fetch::{fetch_inputs, Pins};
use base_images::{get, Recipe};
use base_images_tests::fixtures;

const ROUNDS: usize = 5;
const PLATFORM: &str = "linux/amd64";
const ROOT: &str = "base-images-e2e/bookworm-python:2";

struct Subject {
    name: String,
    recipe: Recipe,
    declared_by: Vec<String>,
    checks: Vec<ResolvedCheck>,
    dockerfile: String,
}

fn docker() -> Command {
    let cli = if Path::new("/usr/bin/docker").exists() {
        "/usr/bin/docker"
    } else {
        "docker"
    };
    Command::new(cli)
}

fn quiet(command: &mut Command) {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Untags every cached step and prunes BuildKit's cache (its cache mounts
/// too), so the next build starts cold.
fn empty_caches() {
    let listed = docker()
        .args(["images", "--format", "{{.Repository}}:{{.Tag}}", "base-images-cache"])
        .output()
        .unwrap();
    let tags: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    if !tags.is_empty() {
        quiet(docker().arg("rmi").args(&tags));
    }
    quiet(docker().args(["image", "prune", "-f"]));
    quiet(docker().args(["builder", "prune", "-af"]));
}

/// Puts the fetched inputs into the build context, once: the file (0640)
/// and the archive already unpacked.
fn prepare_context(context: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let greeting = context.join("greeting.txt");
    std::fs::write(&greeting, fixtures::GREETING).unwrap();
    std::fs::set_permissions(&greeting, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut unpacked = zip::ZipArchive::new(std::io::Cursor::new(fixtures::data_zip())).unwrap();
    unpacked.extract(context.join("data")).unwrap();
}

/// The Dockerfile rendered for `platform`, with fetched inputs taken from
/// the context `prepare_context` filled.
fn baseline_dockerfile(recipe: &Recipe, platform: &str) -> String {
    let rendered = base_images::dockerfile::render_pinned(recipe, platform, &Pins::new()).unwrap();
    let mut lines = Vec::new();
    let mut in_fetch_stage = false;
    for line in rendered.lines() {
        if line.starts_with("# ") {
            continue;
        }
        if line.starts_with("FROM ") {
            in_fetch_stage = line.contains(" AS fetched-");
        }
        if in_fetch_stage {
            continue;
        }
        let line = match line.strip_prefix("COPY --from=fetched-") {
            Some(rest) => {
                let chown = if rest.contains("--chown=airbyte ") {
                    "--chown=airbyte "
                } else {
                    ""
                };
                format!("COPY {chown}data/ {}", rest.rsplit(' ').next().unwrap_or_default())
            }
            None => line.replace(
                &format!("ADD --chown=airbyte --chmod=640 {} ", fixtures::GREETING_URL),
                "COPY --chown=airbyte greeting.txt ",
            ),
        };
        lines.push(line);
    }
    lines.join("\n") + "\n"
}

fn subject(name: &str, recipe: Recipe, declared_by: Vec<String>, checks: Vec<ResolvedCheck>) -> Subject {
    let dockerfile = baseline_dockerfile(&recipe, PLATFORM);
    Subject {
        name: name.to_owned(),
        recipe,
        declared_by,
        checks,
        dockerfile,
    }
}

fn subjects() -> Vec<Subject> {
    let mut list = Vec::new();
    for key in ["e2e-python:1.0.0", "e2e-python:1.2.0"] {
        let image = get(key).unwrap();
        let recipe = image.recipe().unwrap();
        list.push(subject(
            key,
            recipe,
            image.step_origins(),
            image.checks_for(PLATFORM).unwrap(),
        ));
    }
    let mut synthetic = Recipe::from(ROOT);
    for n in 0..30 {
        synthetic = synthetic.with_exec(["sh", "-c", &format!("echo {n} > /step-{n}")]);
    }
    let steps = synthetic.steps.len();
    list.push(subject(
        "30 RUN steps",
        synthetic,
        vec!["bench:1.0.0".to_owned(); steps],
        Vec::new(),
    ));
    list
}

/// Ours: the build alone, and the build plus the checks.
async fn ours(engine: &DockerEngine, subject: &Subject) -> (Duration, Duration) {
    let start = Instant::now();
    let inputs = fetch_inputs(&subject.recipe, &Pins::new()).await.unwrap();
    let request = BuildRequest {
        recipe: &subject.recipe,
        platform: PLATFORM,
        declared_by: &subject.declared_by,
        inputs: &inputs,
    };
    let built = engine.build(request).await.unwrap();
    let build = start.elapsed();
    if !subject.checks.is_empty() {
        let target = engine.start(&built, false).await.unwrap();
        let reports = run_checks(&target, &built.id, &subject.checks, &mut ResultCache::disabled()).await;
        assert!(
            reports.iter().all(|r| r.status.is_pass()),
            "{}: {reports:?}",
            subject.name
        );
        engine.stop(target).await;
    }
    (build, start.elapsed())
}

/// BuildKit building the rendered Dockerfile (`--no-cache`: cold).
fn buildkit(subject: &Subject, context: &Path) -> Duration {
    let start = Instant::now();
    let id = buildkit_build(&subject.dockerfile, context, true);
    let took = start.elapsed();
    quiet(docker().args(["rmi", &id]));
    took
}

/// `docker build` of `dockerfile` with BuildKit; the image id.
fn buildkit_build(dockerfile: &str, context: &Path, no_cache: bool) -> String {
    let file = context.join("Dockerfile.bench");
    std::fs::write(&file, dockerfile).unwrap();
    let mut command = docker();
    command
        .env("DOCKER_BUILDKIT", "1")
        .args(["build", "--network", "host", "-q", "-f"])
        .arg(&file);
    if no_cache {
        command.arg("--no-cache");
    }
    let output = command.arg(context).output().unwrap();
    assert!(
        output.status.success(),
        "{}\n{dockerfile}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Whole families: the tool (a whole process, building and checking every
/// version of `families`) against BuildKit building every version's
/// Dockerfile in turn, cold then cached; the times.
fn catalog(
    families: &[&str],
    dockerfiles: &[String],
    context: &Path,
    cold: bool,
    round: usize,
) -> (Duration, Duration) {
    let tool = std::env::current_exe().unwrap().with_file_name("../e2e-build");
    let workspace = tempfile::tempdir().unwrap();
    let ours = || {
        let mut ours = Command::new(&tool);
        ours.args(["--root", &workspace.path().display().to_string(), "-q", "build"]);
        ours.args(families);
        if cold {
            empty_caches();
            ours.arg("--no-cache");
        }
        let start = Instant::now();
        let output = ours.output().unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
        let took = start.elapsed();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        took
    };
    let theirs = || {
        if cold {
            empty_caches();
        }
        let start = Instant::now();
        for dockerfile in dockerfiles {
            buildkit_build(dockerfile, context, false);
        }
        start.elapsed()
    };
    // Which runs first alternates, so neither always meets a warmer proxy.
    if round.is_multiple_of(2) {
        let o = ours();
        (o, theirs())
    } else {
        let t = theirs();
        (ours(), t)
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() {
    fixtures::serve_on_declared_port();
    let engine = DockerEngine::connect().await.unwrap();
    let context = tempfile::tempdir().unwrap();
    prepare_context(context.path());
    // `cold families` measures the whole families alone, `cold subjects`
    // the single versions alone.
    let only = |what: &str| std::env::args().any(|a| a == what);
    let subjects = if only("families") { Vec::new() } else { subjects() };
    println!("| subject | BuildKit | ours, build | ratio | ours, build + checks | ratio |");
    println!("|---|---|---|---|---|---|");
    for subject in &subjects {
        let (mut baseline, mut build, mut checked) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            // Which runs first alternates, so neither always meets a
            // warmer proxy.
            if !round.is_multiple_of(2) {
                empty_caches();
                baseline.push(buildkit(subject, context.path()));
            }
            empty_caches();
            let (b, c) = ours(&engine, subject).await;
            build.push(b);
            checked.push(c);
            if round.is_multiple_of(2) {
                empty_caches();
                baseline.push(buildkit(subject, context.path()));
            }
        }
        let (baseline, build, checked) = (median(baseline), median(build), median(checked));
        let s = |d: Duration| format!("{:.2} s", d.as_secs_f64());
        let ratio = |d: Duration| d.as_secs_f64() / baseline.as_secs_f64();
        let checked = if subject.checks.is_empty() {
            "(no checks) | -".to_owned()
        } else {
            format!("{} | {:.2}x", s(checked), ratio(checked))
        };
        println!(
            "| {} | {} | {} | {:.2}x | {checked} |",
            subject.name,
            s(baseline),
            s(build),
            ratio(build)
        );
    }
    if only("subjects") {
        empty_caches();
        return;
    }
    println!(
        "\n| whole families, whole processes | BuildKit, every Dockerfile in turn | the tool: build and check | ratio | target |"
    );
    println!("|---|---|---|---|---|");
    // e2e-python alone is one chain; with e2e-rpm (same root, its own
    // chain) the tool builds the two side by side, as it does any
    // independent families, where `docker build` takes one Dockerfile
    // after another; the catalog adds e2e-dual's two platforms (arm64
    // under qemu), a chain each. The other e2e families fail by design
    // (e2e-broken, e2e-dual-broken, e2e-single, e2e-unpinned) or need the
    // tests' local registry for their root (e2e-index, whose one step is
    // an `ENV`).
    let catalog_families = ["e2e-python", "e2e-rpm", "e2e-dual"];
    for families in [&catalog_families[..1], &catalog_families[..2], &catalog_families[..]] {
        let dockerfiles: Vec<String> = families
            .iter()
            .flat_map(|family| base_images::registry::versions_of(family))
            .flat_map(|image| {
                let recipe = image.recipe().unwrap();
                image
                    .platforms()
                    .iter()
                    .map(move |platform| baseline_dockerfile(&recipe, platform))
            })
            .collect();
        for (cold, what, target) in [(true, "cold", "<= 1.0x"), (false, "everything cached", "<= 1.5x")] {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for round in 0..ROUNDS {
                let (o, t) = catalog(families, &dockerfiles, context.path(), cold, round);
                ours.push(o);
                theirs.push(t);
            }
            let (ours, theirs) = (median(ours), median(theirs));
            println!(
                "| {}, {what} | {:.2} s | {:.2} s | {:.2}x | {target} |",
                families.join(" + "),
                theirs.as_secs_f64(),
                ours.as_secs_f64(),
                ours.as_secs_f64() / theirs.as_secs_f64()
            );
        }
    }
    empty_caches();
}
