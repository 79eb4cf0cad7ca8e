//! The Dagger engine and the build tool on a Dagger session, against the
//! loopback fake of the engine (`dagger_fake`), which runs the chain's
//! `withExec`s on this host: a check set goes through the real SDK, the
//! engine and the check runner, and a failure is reported exactly as on
//! the Docker engine.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod dagger_fake;
mod tool;

use std::collections::BTreeMap;

use base_images::checks::{ResultCache, Status};
use base_images::engine::dagger::DaggerEngine;
use base_images::engine::pipeline::build_and_check;
use dagger_fake::{call, recorded, session, session_vars, Call, Mode};
// Link the crate that declares the test families.
use base_images_tests as _;

/// A family for the Dagger engine's tests: its root is never pulled (the
/// fake runs its commands on this host), its checks pass and fail through
/// every path of the engine (batched commands, a command alone as another
/// user, a label read from the configuration), and 1.0.1 has a step that
/// fails.
mod family {
    use base_images::{base_image, sanity_checks, Check, CheckKind, Checks, Recipe};

    #[base_image(family = "dagger-contract", version = "1.0.0", changelog = "Checks through Dagger.")]
    fn v1_0_0() -> Recipe {
        Recipe::from("alpine:3")
            .with_env_variable("GREETING", "hello")
            .with_label("org.example.kind", "contract")
            .with_exec(["true"])
    }

    #[sanity_checks(V1_0_0)]
    fn v1_0_0_checks(checks: Checks) -> Checks {
        checks
            .output_contains("echo", ["echo", "hi"], "hi")
            .env_var_equals("greeting", "GREETING", "hello")
            .env_var_equals("fail-greeting", "GREETING", "bonjour")
            .label_equals("label", "org.example.kind", "contract")
            .label_equals("fail-label", "org.example.kind", "other")
            .with(
                Check::new(
                    "fail-command",
                    CheckKind::CommandSucceeds {
                        args: ["sh", "-c", "echo out; echo err >&2; exit 3"]
                            .map(String::from)
                            .to_vec(),
                    },
                )
                .as_user("nobody"),
            )
    }

    #[base_image(version = "1.0.1", parent = V1_0_0, changelog = "A step that exits 3.")]
    fn v1_0_1(parent: Recipe) -> Recipe {
        parent.with_exec(["sh", "-c", "echo building; echo this step is broken >&2; exit 3"])
    }

    /// Where `ONCE` leaves its mark (the fake runs commands on this host).
    pub(super) const MARK: &str = "/tmp/base-images-dagger-contract-once";

    /// A command that succeeds once and fails when run again.
    const ONCE: &str = "test ! -e /tmp/base-images-dagger-contract-once && touch /tmp/base-images-dagger-contract-once";

    #[base_image(version = "1.0.2", parent = V1_0_0, changelog = "The same command twice; the second fails.")]
    fn v1_0_2(parent: Recipe) -> Recipe {
        parent.with_exec(["sh", "-c", ONCE]).with_exec(["sh", "-c", ONCE])
    }
}

/// Builds and checks one version on the Dagger engine of the fake's session.
fn on_dagger(key: &str) -> (base_images::engine::pipeline::ImageReport, Vec<Vec<Call>>) {
    let image = base_images::get(key).unwrap();
    recorded(Mode::Answer, |runtime| {
        runtime.block_on(async {
            let engine = DaggerEngine::connect_to(&session()).await.unwrap();
            build_and_check(&engine, image, "linux/amd64", &mut ResultCache::disabled()).await
        })
    })
}

#[test]
fn checks_on_the_dagger_engine_fail_with_the_docker_engines_report() {
    let (report, queries) = on_dagger("dagger-contract:1.0.0");
    assert!(report.error.is_none(), "{:?}", report.error);
    let status: BTreeMap<&str, &Status> = report
        .checks
        .iter()
        .map(|c| (c.check.check.id.as_str(), &c.status))
        .collect();
    for id in ["echo", "greeting", "label"] {
        assert_eq!(status[id], &Status::Passed, "{id}");
    }
    let failure = |id: &str| match status[id] {
        Status::Failed(failure) => failure.clone(),
        other => panic!("{id} should fail, got {other:?}"),
    };
    assert!(failure("fail-greeting")
        .reason
        .contains("GREETING is \"hello\", expected \"bonjour\""));
    assert_eq!(
        failure("fail-label").reason,
        "label org.example.kind is \"contract\", expected \"other\""
    );
    // Alone in its user's group, the command ran as one exec and failed
    // with Dagger's exec error: the same report as on the Docker engine
    // (tests/tests/e2e.rs, `fail-command`).
    assert_eq!(
        failure("fail-command").to_string(),
        "exited with code 3\n    command: sh -c 'echo out; echo err >&2; exit 3'\n    exit code: 3\n    stdout:\n      out\n    stderr:\n      err"
    );
    let as_nobody = queries
        .iter()
        .find(|q| {
            q.iter()
                .any(|(name, args)| name == "withUser" && args["name"] == "\"nobody\"")
        })
        .expect("the check ran as nobody");
    let names: Vec<&str> = as_nobody.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["node", "... on Container", "withUser", "withExec", "stdout"]);
    // The build synced after its one exec step, then the container that
    // sync returned (loaded by its id).
    let builds: Vec<_> = queries.iter().filter(|q| q.last().unwrap().0 == "sync").collect();
    assert_eq!(builds.len(), 2);
    assert_eq!(
        builds[0][..2],
        [
            call("container", &[("platform", "\"linux/amd64\"")]),
            call("from", &[("address", "\"alpine:3\"")])
        ]
    );
    assert_eq!(builds[1][0].0, "node");
}

#[test]
fn of_two_identical_commands_the_one_that_failed_is_named() {
    let _ = std::fs::remove_file(family::MARK);
    let (report, _) = on_dagger("dagger-contract:1.0.2");
    let _ = std::fs::remove_file(family::MARK);
    let message = report.error.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(
        message.contains("step 5 (exec, declared by dagger-contract:1.0.2) failed with exit code 1"),
        "{message}"
    );
}

#[test]
fn a_failing_step_on_the_dagger_engine_names_itself_and_its_version() {
    let (report, _) = on_dagger("dagger-contract:1.0.1");
    let message = report.error.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(message.starts_with("dagger-contract:1.0.1 (declared at"), "{message}");
    assert!(
        message.contains("step 4 (exec, declared by dagger-contract:1.0.1) failed with exit code 3"),
        "{message}"
    );
    assert!(
        message.contains("building") && message.contains("this step is broken"),
        "{message}"
    );
    assert!(report.checks.is_empty());
}

/// `build` by the tool in a fresh workspace, in the fake's session or in none.
fn build_tool(args: &[&str], in_session: bool) -> (std::process::Output, tempfile::TempDir) {
    let workspace = tool::workspace();
    let (output, _) = recorded(Mode::Answer, |_| {
        let mut command = tool::command(workspace.path(), args);
        if in_session {
            command.envs(session_vars());
        }
        command.output().unwrap()
    });
    (output, workspace)
}

#[test]
fn in_a_dagger_session_the_build_tool_builds_on_dagger() {
    let (output, workspace) = build_tool(&["build", "e2e-index"], true);
    let text = tool::text(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("engine: dagger at http://127.0.0.1:"), "{text}");
    assert!(text.contains("were not verified"), "{text}");
    let lock = std::fs::read_to_string(workspace.path().join("versions.lock")).unwrap();
    assert!(lock.contains("e2e-index:1.0.0"), "{lock}");
}

#[test]
fn engine_dagger_without_a_session_fails_at_once_saying_how_to_start_one() {
    let started = std::time::Instant::now();
    let (output, workspace) = build_tool(&["build", "e2e-index", "--engine", "dagger"], false);
    let text = tool::text(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("no Dagger session: DAGGER_SESSION_PORT is not set. Run the tool inside one: `dagger run cargo run -p base-images-build`"),
        "{text}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("versions.lock")).unwrap(),
        "format = 1\n"
    );
}

#[test]
fn rebuild_is_refused_on_the_dagger_engine_before_anything_is_built() {
    let (output, workspace) = build_tool(&["build", "e2e-index", "--rebuild"], true);
    let text = tool::text(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("--rebuild: the Dagger engine decides its own caching; use --engine docker"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("versions.lock")).unwrap(),
        "format = 1\n"
    );
}

#[test]
fn a_mirrored_input_is_downloaded_by_the_dagger_engine_from_its_mirror() {
    use base_images::engine::{BuildRequest, Engine as _};
    use base_images::fetch::{Fetcher, Pins};
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let _ = request.respond(tiny_http::Response::from_data(&b"mirrored\n"[..]));
        }
    });
    let url = "https://upstream.invalid/pub/f.txt";
    let recipe = base_images::Recipe::from("alpine:3").with_fetched_file("/f.txt", url);
    let mirror = format!("https://upstream.invalid/pub/={base}/copy/").parse().unwrap();
    let (built, queries) = recorded(Mode::Answer, |runtime| {
        runtime.block_on(async {
            let inputs = Fetcher::default()
                .with_mirrors(vec![mirror])
                .inputs(&recipe, &Pins::new())
                .await
                .unwrap();
            let engine = DaggerEngine::connect_to(&session()).await.unwrap();
            let declared_by = ["test".to_owned()];
            let request = BuildRequest {
                recipe: &recipe,
                platform: "linux/amd64",
                declared_by: &declared_by,
                inputs: &inputs,
            };
            engine.build(request).await.map(|_| ())
        })
    });
    assert!(built.is_ok(), "{built:?}");
    let http = queries
        .iter()
        .flatten()
        .find(|(name, _)| name == "http")
        .expect("the file is downloaded by the engine");
    assert_eq!(http.1["url"], format!("\"{base}/copy/f.txt\""));
}
