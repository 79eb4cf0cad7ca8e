//! End to end on a real Docker engine: the e2e family builds and every check
//! (own and inherited) passes; every check kind fails when it should, with
//! its id, command and output; a failing step names itself and its version;
//! steps and results are served from the caches; an interrupted build
//! removes its containers; a check cut at its time limit leaves no process
//! behind; a missing or silent engine is reported quickly.
//!
//! The engine comes from `DOCKER_HOST` (`scripts/engine.sh run` sets it and
//! `BASE_IMAGES_E2E=1`). With `BASE_IMAGES_E2E=1` a missing engine fails
//! these tests; without it they print why they did not run.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base_images::checks::{ResultCache, Status};
use base_images::engine::docker::{DockerEngine, RUN_LABEL};
use base_images::engine::pipeline::{build_and_check_on, interruptible, ImageReport, Options};
use base_images::engine::{BuildRequest, Engine};
use base_images::fetch::Fetcher;
use base_images::{get, Error, Recipe};
// Link the crate that declares the test families (linkme entries live there).
use base_images_tests as _;

/// The engine, with the fixture server started (the tests' one gate).
async fn engine() -> Option<DockerEngine> {
    base_images_tests::fixtures::serve();
    base_images_tests::gate::docker().await
}

/// Builds and checks `key` for linux/amd64, its downloads from this
/// process's fixture server.
async fn build(engine: &DockerEngine, key: &str, cache: &mut ResultCache) -> ImageReport {
    let mirror = base_images_tests::fixtures::mirror().parse().unwrap();
    let options = Options {
        fetcher: Fetcher::default().with_mirrors(vec![mirror]),
        ..Options::default()
    };
    build_and_check_on(engine, get(key).unwrap(), "linux/amd64", &options, cache).await
}

fn failures(report: &ImageReport) -> String {
    let mut text = String::new();
    for c in &report.checks {
        if !c.status.is_pass() {
            text.push_str(&format!("{}: {:?}\n", c.check.check.id, c.status));
        }
    }
    if let Some(e) = &report.error {
        text.push_str(&e.to_string());
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn the_e2e_family_builds_and_every_check_passes() {
    let Some(engine) = engine().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut cache = ResultCache::open(dir.path());
    let mut previous_steps = 0;
    for key in [
        "e2e-python:1.0.0",
        "e2e-python:1.1.0",
        "e2e-python:1.2.0",
        "e2e-python:2.0.0",
    ] {
        let report = build(&engine, key, &mut cache).await;
        assert!(report.passed(), "{key}:\n{}", failures(&report));
        let image = report.image.as_ref().unwrap();
        assert!(
            image.steps_cached >= previous_steps,
            "{key} reuses its parent's steps: {image:?}"
        );
        previous_steps = image.steps_cached + image.steps_built;
        let resolved = get(key).unwrap().checks().unwrap();
        assert_eq!(report.checks.len(), resolved.len(), "own and inherited checks all ran");
    }
    // 1.2.0 replaced 1.0.0's six check; 2.0.0 inherits the replacement.
    let checks = get("e2e-python:2.0.0").unwrap().checks().unwrap();
    let six = checks.iter().find(|c| c.check.id == "six-version").unwrap();
    assert_eq!(six.declared_in, "e2e-python:1.2.0");
    assert!(checks
        .iter()
        .any(|c| c.check.id == "timezone-utc" && c.declared_in == "e2e-python:1.0.0"));

    // The final image keeps the configuration the recipe declared.
    let built = build(&engine, "e2e-python:2.0.0", &mut cache).await;
    let image = built.image.unwrap();
    assert_eq!(image.steps_built, 0, "an unchanged chain is served from the step cache");
    assert!(built
        .checks
        .iter()
        .all(|c| c.status == Status::Cached || c.check.check.id == "runs-as-airbyte"));
    let config = engine.client().inspect_image(&image.id).await.unwrap().config.unwrap();
    assert_eq!(config.user.as_deref(), Some("airbyte"));
    assert_eq!(config.working_dir.as_deref(), Some("/airbyte"));
    assert_eq!(config.entrypoint, Some(vec!["/airbyte/base.sh".to_owned()]));
    assert_eq!(
        config
            .labels
            .unwrap_or_default()
            .get("io.airbyte.base_image")
            .map(String::as_str),
        Some("e2e-python:1.0.0")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_check_kind_fails_with_its_id_command_and_output() {
    let Some(engine) = engine().await else { return };
    let started = Instant::now();
    let report = build(&engine, "e2e-broken:1.0.0", &mut ResultCache::disabled()).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the hanging check was cut at its 2 s limit"
    );
    let status: HashMap<&str, &Status> = report
        .checks
        .iter()
        .map(|c| (c.check.check.id.as_str(), &c.status))
        .collect();
    assert_eq!(status["passes"], &Status::Passed);
    assert_eq!(status["hangs"], &Status::TimedOut(Duration::from_secs(2)));
    let expected = [
        ("fail-command", "exited with code 3"),
        ("fail-contains", "stdout does not contain \"goodbye\""),
        ("fail-stderr", "stderr does not contain \"different\""),
        ("fail-matches", "stdout does not match /^x/"),
        ("fail-tool-version", "reports version 3.11.2, expected 9.9.9"),
        ("fail-env-exists", "NOT_SET_ANYWHERE is not set"),
        ("fail-env-equals", "LANG is \"C.UTF-8\", expected \"fr_FR.UTF-8\""),
        ("fail-file-missing", "/nope does not exist"),
        ("fail-file-mode", "/etc/broken.txt has mode 600, expected 644"),
        (
            "fail-file-owner",
            "/etc/broken.txt is owned by root:root, expected nobody",
        ),
        ("fail-user-ids", "user nobody is not uid 1000 / gid 1000"),
        ("fail-user-missing", "user ghost does not exist"),
        ("fail-can-write", "user nobody cannot write /etc"),
        ("fail-cannot-write", "user root can write /tmp, but must not"),
        ("fail-timezone", "the time zone is \"UTC\", expected \"CET\""),
        ("fail-custom", "custom says no"),
    ];
    for (id, reason) in expected {
        match status[id] {
            Status::Failed(failure) => assert!(failure.reason.contains(reason), "{id}: {failure:?}"),
            other => panic!("{id} should fail, got {other:?}"),
        }
    }
    let Status::Failed(command) = status["fail-command"] else {
        unreachable!()
    };
    assert_eq!(
        command.command.as_deref().unwrap(),
        ["sh", "-c", "echo out; echo err >&2; exit 3"]
    );
    assert_eq!(command.exit_code, Some(3));
    assert_eq!((command.stdout.as_str(), command.stderr.as_str()), ("out\n", "err\n"));
    assert_eq!(
        command.to_string(),
        "exited with code 3\n    command: sh -c 'echo out; echo err >&2; exit 3'\n    exit code: 3\n    stdout:\n      out\n    stderr:\n      err"
    );
    assert_no_containers_left(&engine).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_step_names_itself_and_its_version_and_is_not_cached() {
    let Some(engine) = engine().await else { return };
    let report = build(&engine, "e2e-broken:1.0.1", &mut ResultCache::disabled()).await;
    let message = report.error.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(message.starts_with("e2e-broken:1.0.1 (declared at"), "{message}");
    assert!(
        message.contains("step 2 (exec, declared by e2e-broken:1.0.1) failed with exit code 3"),
        "{message}"
    );
    assert!(
        message.contains("echo building; echo this step is broken >&2; exit 3"),
        "{message}"
    );
    assert!(message.contains("this step is broken"), "the output tail: {message}");
    assert!(report.checks.is_empty());
    // The failed step left no cached image: a second build fails the same
    // way (the same step, exit code and command; the output's two streams
    // may interleave otherwise).
    let again = build(&engine, "e2e-broken:1.0.1", &mut ResultCache::disabled()).await;
    let again = again.error.as_ref().map(ToString::to_string).unwrap_or_default();
    assert_eq!(again.lines().next(), message.lines().next(), "{again}");
    assert!(
        again.contains("building") && again.contains("this step is broken"),
        "{again}"
    );
    assert_no_containers_left(&engine).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_build_removes_its_containers() {
    let Some(engine) = engine().await else { return };
    // A unique recipe, so its long step is never cached.
    let nonce = format!("{:?}", Instant::now());
    // The shell stays while sleep runs, its command line naming the nonce.
    let script = format!("sleep 60; true # {nonce}");
    let recipe = Recipe::from(base_images_tests::e2e::ROOT).with_exec(["sh", "-c", &script]);
    let declared_by = vec!["test".to_owned()];
    let inputs = base_images::fetch::Inputs::default();
    let work = engine.build(BuildRequest {
        recipe: &recipe,
        platform: "linux/amd64",
        declared_by: &declared_by,
        inputs: &inputs,
    });
    // Interrupted once the step runs: its shell (the engine is local here,
    // and the step runs in the engine's BuildKit, not in a container) is a
    // process of this machine whose command line names the nonce.
    let running = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|p| {
            std::fs::read(p.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&script))
                .unwrap_or(false)
        })
    };
    let step_started = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !running() {
            assert!(Instant::now() < deadline, "the step never started: {script}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let result = interruptible(engine.cleanup(), work, step_started).await;
    assert!(matches!(result, Err(Error::Interrupted)), "{result:?}");
    let stopped = Instant::now();
    assert_no_containers_left(&engine).await;
    // The interrupted step's process is gone too.
    while running() {
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "the interrupted step still runs: {script}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn assert_no_containers_left(engine: &DockerEngine) {
    use bollard::query_parameters::ListContainersOptions;
    let filters = HashMap::from([("label".to_owned(), vec![format!("{RUN_LABEL}={}", engine.run_id())])]);
    let options = ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..Default::default()
    };
    let left = engine.client().list_containers(Some(options)).await.unwrap();
    assert!(left.is_empty(), "containers left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_root_that_cannot_be_pulled_names_its_address_and_registry() {
    let Some(engine) = engine().await else { return };
    // Nothing listens on the discard port of the loopback address.
    let recipe = Recipe::from("127.0.0.1:9/no/such-image:1").with_exec(["true"]);
    let declared_by = vec!["test".to_owned()];
    let err = engine
        .build(BuildRequest {
            recipe: &recipe,
            platform: "linux/amd64",
            declared_by: &declared_by,
            inputs: &base_images::fetch::Inputs::default(),
        })
        .await
        .unwrap_err();
    assert!(
        std::error::Error::source(&err).is_some(),
        "the engine client's error is kept: {err:?}"
    );
    let err = err.to_string();
    assert!(
        err.starts_with("cannot pull root image 127.0.0.1:9/no/such-image:1 from registry 127.0.0.1:9: "),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_engine_is_named_with_the_command_that_starts_one() {
    let started = Instant::now();
    let err = DockerEngine::connect_to("unix:///nonexistent/docker.sock")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unix:///nonexistent/docker.sock") && err.contains("scripts/engine.sh start"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_silent_engine_is_given_up_on_within_five_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silent.sock");
    // Accepts connections and never answers.
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let held = std::thread::spawn(move || {
        let connection = listener.accept();
        std::thread::sleep(Duration::from_secs(8));
        drop(connection);
    });
    let started = Instant::now();
    let err = DockerEngine::connect_to(&format!("unix://{}", path.display()))
        .await
        .unwrap_err()
        .to_string();
    let took = started.elapsed();
    assert!(
        err.contains("no answer within 5 s") && err.contains("silent.sock"),
        "{err}"
    );
    assert!(took < Duration::from_secs(7), "{took:?}");
    drop(held);
}

/// A custom check whose command outlives any limit.
fn hangs_too(target: &dyn base_images::checks::CheckTarget) -> base_images::checks::BoxFuture<'_, Result<(), String>> {
    Box::pin(async move {
        target.exec(&["sleep", "601"]).await?;
        Ok(())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_cut_at_its_limit_leaves_no_process_running() {
    use base_images::checks::{run_checks, Check, CheckKind, ResolvedCheck};
    let Some(engine) = engine().await else { return };
    let recipe = Recipe::from(base_images_tests::e2e::ROOT);
    let inputs = base_images::fetch::Inputs::default();
    let built = engine
        .build(BuildRequest {
            recipe: &recipe,
            platform: "linux/amd64",
            declared_by: &[],
            inputs: &inputs,
        })
        .await
        .unwrap();
    let limit = Duration::from_secs(1);
    let checks: Vec<ResolvedCheck> = [
        // Alone for its user, so it runs on its own, not in a batch.
        Check::new(
            "hangs-alone",
            CheckKind::CommandSucceeds {
                args: vec!["sleep".into(), "600".into()],
            },
        )
        .as_user("nobody")
        .timeout(limit),
        Check::new(
            "hangs-custom",
            CheckKind::Custom {
                function: base_images::checks::CustomCheck(hangs_too),
            },
        )
        .timeout(limit),
    ]
    .into_iter()
    .map(|check| ResolvedCheck {
        check,
        declared_in: "test".into(),
        replaces: None,
    })
    .collect();
    let target = engine.start(&built, false).await.unwrap();
    let started = Instant::now();
    let reports = run_checks(&target, &built.id, &checks, &mut ResultCache::disabled()).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    for report in &reports {
        assert_eq!(report.status, Status::TimedOut(limit), "{}", report.check.check.id);
    }
    let listing = base_images::checks::CheckTarget::exec(
        &target,
        &[
            "sh",
            "-c",
            "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done",
        ],
    )
    .await
    .unwrap();
    engine.stop(target).await;
    assert!(
        listing.stdout.contains("infinity"),
        "the listing works: {}",
        listing.stdout
    );
    assert!(
        !listing.stdout.contains("sleep 600") && !listing.stdout.contains("sleep 601"),
        "processes left running: {}",
        listing.stdout
    );
}
