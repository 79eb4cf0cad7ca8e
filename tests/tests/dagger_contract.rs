//! Contract tests of the Dagger lowering against the real `dagger_sdk`:
//! the loopback fake of the engine (`dagger_fake`) records every query the
//! SDK sends, and each test compares the parsed, normalized query with the
//! calls the step must lower to; and the boundary's failure paths (an
//! engine that never answers, malformed answers).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod dagger_fake;

use base_images::engine::dagger::{guarded, CALL_TIMEOUT};
use base_images::{ExecOptions, Recipe};
use dagger_fake::{call, with_fake, Call, Mode};
// Link the crate that declares the test families.
use base_images_tests as _;

/// The queries the SDK sends to resolve `recipe` to a container id.
fn lowered(recipe: Recipe, platform: Option<&'static str>) -> Vec<Vec<Call>> {
    with_fake(Mode::Answer, move |client| async move {
        let container = recipe.to_container(&client, platform)?;
        container.id().await?;
        Ok(())
    })
}

/// The single query of a recipe whose root is `alpine:3`, with `steps` as
/// the calls between `from` and `id`.
fn expect_steps(recipe: Recipe, steps: &[Call]) {
    let queries = lowered(recipe, None);
    let mut expected = vec![call("container", &[]), call("from", &[("address", "\"alpine:3\"")])];
    expected.extend_from_slice(steps);
    expected.push(call("id", &[]));
    assert_eq!(queries.last().unwrap(), &expected);
}

fn base() -> Recipe {
    Recipe::from("alpine:3")
}

#[test]
fn root_only_and_platforms() {
    expect_steps(base(), &[]);
    let queries = lowered(
        Recipe::from_platforms([("linux/arm64", "alpine:3@sha256:".to_owned() + &"a".repeat(64))]),
        Some("linux/arm64"),
    );
    assert_eq!(
        queries[0],
        [
            call("container", &[("platform", "\"linux/arm64\"")]),
            call(
                "from",
                &[("address", &format!("\"alpine:3@sha256:{}\"", "a".repeat(64)))]
            ),
            call("id", &[]),
        ]
    );
}

#[test]
fn exec_with_step_scoped_user_workdir_and_env() {
    expect_steps(
        base().with_exec(["echo", "hi"]),
        &[call("withExec", &[("args", "[\"echo\",\"hi\"]")])],
    );
    expect_steps(
        base().with_workdir("/app").with_exec_opts(
            ["id"],
            ExecOptions::default().user("nobody").workdir("/tmp").env("A", "1"),
        ),
        &[
            call("withWorkdir", &[("path", "\"/app\"")]),
            call("withUser", &[("name", "\"nobody\"")]),
            call("withWorkdir", &[("path", "\"/tmp\"")]),
            call("withExec", &[("args", "[\"env\",\"A=1\",\"id\"]")]),
            call("withWorkdir", &[("path", "\"/app\"")]),
            call("withUser", &[("name", "\"root\"")]),
        ],
    );
}

#[test]
fn configuration_steps() {
    expect_steps(
        base()
            .with_env_variable("LANG", "C.UTF-8")
            .without_env_variable("LANG")
            .with_user("airbyte")
            .with_label("io.airbyte.base_image", "x:1")
            .with_entrypoint(["/airbyte/base.sh"])
            .with_default_args(["--help"]),
        &[
            call("withEnvVariable", &[("name", "\"LANG\""), ("value", "\"C.UTF-8\"")]),
            call("withoutEnvVariable", &[("name", "\"LANG\"")]),
            call("withUser", &[("name", "\"airbyte\"")]),
            call(
                "withLabel",
                &[("name", "\"io.airbyte.base_image\""), ("value", "\"x:1\"")],
            ),
            call("withEntrypoint", &[("args", "[\"/airbyte/base.sh\"]")]),
            call("withDefaultArgs", &[("args", "[\"--help\"]")]),
        ],
    );
}

#[test]
fn new_file_with_its_mode() {
    expect_steps(
        base().with_new_file("/etc/motd", "hello\n", 0o640),
        &[call(
            "withNewFile",
            &[
                ("path", "\"/etc/motd\""),
                ("contents", "\"hello\\n\""),
                ("permissions", "416"),
            ],
        )],
    );
}

#[test]
fn mounted_cache_resolves_its_volume_first() {
    let queries = lowered(base().with_mounted_cache("/root/.cache/pip", "pip"), None);
    assert_eq!(
        queries[0],
        [call("cacheVolume", &[("key", "\"pip\"")]), call("id", &[])]
    );
    assert_eq!(
        queries[1],
        [
            call("container", &[]),
            call("from", &[("address", "\"alpine:3\"")]),
            call(
                "withMountedCache",
                &[("path", "\"/root/.cache/pip\""), ("cache", "\"fake-id\"")]
            ),
            call("id", &[]),
        ]
    );
}

#[test]
fn fetched_files_are_http_files_with_their_checksum_and_archives_unpack_in_a_helper() {
    let digest = format!("sha256:{}", "b".repeat(64));
    let recipe = base()
        .with_fetched_file_opts(
            "/airbyte/base.sh",
            "https://h/base.sh",
            Some(0o755),
            base_images::FetchOptions::default()
                .owner("airbyte")
                .sha256(digest.clone()),
        )
        .with_fetched_archive("/usr/share/nltk_data/taggers", "https://h/tagger.zip");
    let queries = lowered(recipe, None);
    // Each argument that is an object is resolved to its id first.
    assert_eq!(
        queries[0],
        [
            call(
                "http",
                &[
                    ("url", "\"https://h/base.sh\""),
                    ("checksum", &format!("\"{digest}\"")),
                    ("permissions", "493")
                ]
            ),
            call("id", &[])
        ]
    );
    let helper = queries
        .iter()
        .find(|q| q.iter().any(|(name, _)| name == "withMountedFile"))
        .expect("the archive is unpacked in a helper container");
    let names: Vec<&str> = helper.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["container", "from", "withMountedFile", "withExec", "directory", "id"]
    );
    assert_eq!(
        helper[1],
        call("from", &[("address", &format!("\"{}\"", base_images::UNPACK_IMAGE))])
    );
    assert_eq!(
        helper[3],
        call(
            "withExec",
            &[("args", "[\"sh\",\"-c\",\"mkdir -p /out && unzip -q /archive -d /out\"]")]
        )
    );
    let last = queries.last().unwrap();
    let names: Vec<&str> = last.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["container", "from", "withFile", "withDirectory", "id"]);
    assert_eq!(last[2].1["owner"], "\"airbyte\"");
    assert_eq!(last[3].1["path"], "\"/usr/share/nltk_data/taggers\"");
}

/// The calls one step lowers to, written from the Dagger API reference
/// (steps without step-scoped options).
fn expected_calls(step: &base_images::Step) -> Call {
    use base_images::Step;
    let s = |text: &str| serde_json::Value::String(text.to_owned()).to_string();
    let list = |args: &[String]| serde_json::json!(args).to_string();
    match step {
        Step::Exec { args, .. } => call("withExec", &[("args", &list(args))]),
        Step::Env { name, value } => call("withEnvVariable", &[("name", &s(name)), ("value", &s(value))]),
        Step::Label { name, value } => call("withLabel", &[("name", &s(name)), ("value", &s(value))]),
        Step::MountedCache { path, .. } => call("withMountedCache", &[("path", &s(path)), ("cache", "\"fake-id\"")]),
        other => panic!("not in this chain: {other:?}"),
    }
}

#[test]
fn a_full_airbyte_version_chain() {
    let image = base_images::get("airbyte-python-connector-base:1.1.0").unwrap();
    let recipe = image.recipe().unwrap();
    let queries = lowered(recipe.clone(), Some("linux/arm64"));
    let root = recipe.root_for("linux/arm64").unwrap();
    let mut expected = vec![
        call("container", &[("platform", "\"linux/arm64\"")]),
        call(
            "from",
            &[("address", &serde_json::Value::String(root.to_owned()).to_string())],
        ),
    ];
    expected.extend(recipe.steps.iter().map(expected_calls));
    expected.push(call("id", &[]));
    assert_eq!(queries.last().unwrap(), &expected);
    assert_eq!(
        queries[0],
        [call("cacheVolume", &[("key", "\"pip_cache\"")]), call("id", &[])]
    );
}

#[test]
fn an_engine_that_never_answers_is_given_up_on_at_the_limit() {
    with_fake(Mode::Silent, |client| async move {
        let container = base().to_container(&client, None)?;
        let started = std::time::Instant::now();
        let limit = std::time::Duration::from_secs(2);
        let err = guarded("resolve the container", limit, container.id())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("did not answer within 2 s"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        Ok(())
    });
}

#[test]
fn a_malformed_answer_is_an_error_not_a_panic() {
    with_fake(Mode::Malformed, |client| async move {
        let container = base().to_container(&client, None)?;
        let err = guarded("resolve the container", CALL_TIMEOUT, container.id())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("the container engine failed to resolve the container: "),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn a_malformed_answer_inside_a_lazy_argument_is_an_error_not_a_panic() {
    // The cache volume's id is resolved inside the SDK while it builds the
    // container's query; the SDK unwraps that answer.
    with_fake(Mode::Malformed, |client| async move {
        let container = base().with_mounted_cache("/cache", "pip").to_container(&client, None)?;
        let err = guarded("resolve the container", CALL_TIMEOUT, container.id())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("the Dagger SDK failed on the engine's answer"), "{err}");
        Ok(())
    });
}
