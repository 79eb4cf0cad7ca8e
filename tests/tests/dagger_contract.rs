//! Contract tests of the Dagger lowering against the real `dagger_sdk`: a
//! loopback fake of the engine's GraphQL endpoint (session port and token,
//! basic auth) records every query the SDK sends and answers it, and each
//! test compares the parsed, normalized query (the SDK's argument order is
//! not stable) with the calls the step must lower to.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base_images::checks::{ResultCache, Status};
use base_images::engine::dagger::{guarded, DaggerEngine, CALL_TIMEOUT, PORT_VAR, TOKEN_VAR};
use base_images::engine::pipeline::build_and_check;
use base_images::{ExecOptions, Recipe};
use graphql_parser::query::{Definition, OperationDefinition, Selection, SelectionSet, TypeCondition};
// Link the crate that declares the test families.
use base_images_tests as _;

const TOKEN: &str = "contract-test-token";

/// One field of a query chain: its name and its arguments, printed.
type Call = (String, BTreeMap<String, String>);

/// The fake engine: the queries it received.
struct Fake {
    queries: Arc<Mutex<Vec<String>>>,
}

/// The fake, started once for this test binary; tests take `SERIAL` so the
/// recorded queries are theirs.
fn fake() -> &'static Fake {
    static FAKE: OnceLock<Fake> = OnceLock::new();
    FAKE.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let queries = Arc::new(Mutex::new(Vec::new()));
        let recorded = queries.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let recorded = recorded.clone();
                std::thread::spawn(move || serve(stream, &recorded));
            }
        });
        // Read by dagger_sdk's connect; set before any test connects.
        std::env::set_var("DAGGER_SESSION_PORT", port.to_string());
        std::env::set_var("DAGGER_SESSION_TOKEN", TOKEN);
        Fake { queries }
    })
}

static SERIAL: Mutex<()> = Mutex::new(());

/// How the fake answers.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Well-formed data for the query's chain.
    Answer,
    /// Accepts the request and never answers.
    Silent,
    /// Answers 200 with a body that is not JSON.
    Malformed,
}

static MODE: Mutex<Mode> = Mutex::new(Mode::Answer);

/// Answers HTTP requests on one connection until the client closes it.
fn serve(stream: std::net::TcpStream, recorded: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            headers.push(line.trim_end().to_owned());
        }
        let header = |name: &str| {
            headers.iter().find_map(|h| {
                let (key, value) = h.split_once(':')?;
                key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
            })
        };
        let length: usize = header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let expected_auth = format!(
            "Basic {}",
            base64::engine::general_purpose::URL_SAFE.encode(format!("{TOKEN}:"))
        );
        let (status, reply) = if header("authorization").as_deref() != Some(expected_auth.as_str()) {
            ("401 Unauthorized", r#"{"errors":[{"message":"bad token"}]}"#.to_owned())
        } else {
            let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let query = request["query"].as_str().unwrap_or_default().to_owned();
            recorded.lock().unwrap().push(query.clone());
            match *MODE.lock().unwrap() {
                Mode::Answer => ("200 OK", answer(&query).to_string()),
                Mode::Malformed => ("200 OK", "{not json".to_owned()),
                Mode::Silent => {
                    std::thread::sleep(std::time::Duration::from_secs(6));
                    return;
                }
            }
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// The fake's containers: what `sync` evaluated, by the id it answered.
static CONTAINERS: Mutex<Vec<Container>> = Mutex::new(Vec::new());

/// A container as far as the fake models one: its environment and labels.
#[derive(Clone, Default)]
struct Container {
    env: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
}

/// A string argument of a call, unquoted.
fn arg(call: &Call, name: &str) -> Option<String> {
    serde_json::from_str(call.1.get(name)?).ok()
}

/// A well-formed answer for the query's chain. Like the engine, the fake
/// evaluates a chain that ends in `sync`, `stdout` or `stderr`: it runs
/// each `withExec` of the chain on this host (the tests' commands are
/// harmless: echo, printenv, sh) with the container's environment, and a
/// non-zero exit is answered with Dagger's exec error. `sync` answers a
/// new container id that `node(id:)` loads again; `envVariable` and
/// `label` answer the container's value or null; other leaves a made-up
/// value.
fn answer(query: &str) -> serde_json::Value {
    let chain = parse(query);
    let leaf = chain.last().map_or("", |(name, _)| name.as_str());
    let mut container = Container::default();
    let mut execs: Vec<(Vec<String>, BTreeMap<String, String>)> = Vec::new();
    for call in &chain {
        match call.0.as_str() {
            "node" | "loadContainerFromID" => {
                let id = arg(call, "id").unwrap_or_default();
                let index = id.strip_prefix("fake-container-").and_then(|i| i.parse::<usize>().ok());
                container = index
                    .and_then(|i| CONTAINERS.lock().unwrap().get(i).cloned())
                    .unwrap_or_default();
            }
            "withEnvVariable" => {
                container
                    .env
                    .insert(arg(call, "name").unwrap(), arg(call, "value").unwrap());
            }
            "withoutEnvVariable" => {
                container.env.remove(&arg(call, "name").unwrap());
            }
            "withLabel" => {
                container
                    .labels
                    .insert(arg(call, "name").unwrap(), arg(call, "value").unwrap());
            }
            "withExec" => {
                let args: Vec<String> = serde_json::from_str(&call.1["args"]).unwrap();
                execs.push((args, container.env.clone()));
            }
            _ => {}
        }
    }
    let value = match leaf {
        "sync" | "stdout" | "stderr" => {
            let mut last = None;
            for (args, env) in &execs {
                let out = run_here(args, env);
                if !out.status.success() {
                    return exec_error(&chain, args, &out);
                }
                last = Some(out);
            }
            match (leaf, last) {
                ("stdout", Some(out)) => serde_json::json!(String::from_utf8_lossy(&out.stdout)),
                ("stderr", Some(out)) => serde_json::json!(String::from_utf8_lossy(&out.stderr)),
                ("sync", _) => {
                    let mut containers = CONTAINERS.lock().unwrap();
                    containers.push(container);
                    serde_json::json!(format!("fake-container-{}", containers.len() - 1))
                }
                _ => serde_json::json!(""),
            }
        }
        "envVariable" => serde_json::json!(container.env.get(&arg(chain.last().unwrap(), "name").unwrap())),
        "label" => serde_json::json!(container.labels.get(&arg(chain.last().unwrap(), "name").unwrap())),
        // A synced container's id is the one it was loaded by.
        "id" if chain.len() == 3 && chain[0].0 == "node" => serde_json::json!(arg(&chain[0], "id").unwrap()),
        _ => serde_json::json!(format!("fake-{leaf}")),
    };
    serde_json::json!({ "data": nest(&chain, value) })
}

/// `value` under the chain's fields (inline fragments add no level).
fn nest(chain: &[Call], value: serde_json::Value) -> serde_json::Value {
    chain
        .iter()
        .rev()
        .filter(|(name, _)| !name.starts_with("..."))
        .fold(value, |value, (name, _)| serde_json::json!({ name.clone(): value }))
}

/// Runs a command on this host with `env` on top of the PATH.
fn run_here(args: &[String], env: &BTreeMap<String, String>) -> std::process::Output {
    std::process::Command::new(&args[0])
        .args(&args[1..])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env)
        .output()
        .unwrap_or_else(|e| std::process::Output {
            status: std::os::unix::process::ExitStatusExt::from_raw(127 << 8),
            stdout: Vec::new(),
            stderr: format!("{}: {e}", args[0]).into_bytes(),
        })
}

/// Dagger's answer for a process that exited non-zero.
fn exec_error(chain: &[Call], args: &[String], out: &std::process::Output) -> serde_json::Value {
    let code = out.status.code().unwrap_or(-1);
    serde_json::json!({
        "data": null,
        "errors": [{
            "message": format!("process {:?} did not complete successfully: exit code: {code}", args.join(" ")),
            "path": chain.iter().map(|(name, _)| name.clone()).filter(|n| !n.starts_with("...")).collect::<Vec<_>>(),
            "extensions": {
                "_type": "EXEC_ERROR",
                "cmd": args,
                "exitCode": code,
                "stdout": String::from_utf8_lossy(&out.stdout),
                "stderr": String::from_utf8_lossy(&out.stderr),
            },
        }],
    })
}

/// The chain of fields of a single-path query, arguments normalized (an
/// inline fragment is a call named `... on Type`).
fn parse(query: &str) -> Vec<Call> {
    let document = graphql_parser::parse_query::<String>(query).unwrap_or_else(|e| panic!("{e}: {query}"));
    let mut set: &SelectionSet<'_, String> = match &document.definitions[..] {
        [Definition::Operation(OperationDefinition::Query(q))] => &q.selection_set,
        [Definition::Operation(OperationDefinition::SelectionSet(s))] => s,
        other => panic!("unexpected document {other:?}"),
    };
    let mut chain = Vec::new();
    loop {
        match &set.items[..] {
            [Selection::Field(field)] => {
                let args = field
                    .arguments
                    .iter()
                    .map(|(name, value)| (name.clone(), json(value).to_string()))
                    .collect();
                chain.push((field.name.clone(), args));
                set = &field.selection_set;
            }
            [Selection::InlineFragment(fragment)] => {
                let on = match &fragment.type_condition {
                    Some(TypeCondition::On(name)) => name.as_str(),
                    None => "",
                };
                chain.push((format!("... on {on}"), BTreeMap::new()));
                set = &fragment.selection_set;
            }
            _ => break,
        }
    }
    assert!(set.items.is_empty(), "a query with branches: {query}");
    chain
}

/// A GraphQL value as JSON, so strings compare by content, not by quoting.
fn json(value: &graphql_parser::query::Value<'_, String>) -> serde_json::Value {
    use graphql_parser::query::Value;
    match value {
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Int(i) => serde_json::json!(i.as_i64()),
        Value::Float(f) => serde_json::json!(f),
        Value::Boolean(b) => serde_json::json!(b),
        Value::Null => serde_json::Value::Null,
        Value::Enum(e) | Value::Variable(e) => serde_json::json!({ "enum": e }),
        Value::List(items) => serde_json::Value::Array(items.iter().map(json).collect()),
        Value::Object(map) => serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
    }
}

/// The queries the SDK sends to resolve `recipe` to a container id.
fn lowered(recipe: Recipe, platform: Option<&'static str>) -> Vec<Vec<Call>> {
    with_fake(Mode::Answer, move |client| async move {
        let container = recipe.to_container(&client, platform)?;
        container.id().await?;
        Ok(())
    })
}

/// Runs `session` in a Dagger session with the fake answering as `mode`;
/// returns the queries it received, parsed.
fn with_fake<F, Fut>(mode: Mode, session: F) -> Vec<Vec<Call>>
where
    F: FnOnce(dagger_sdk::Query) -> Fut + 'static,
    Fut: std::future::Future<Output = eyre::Result<()>> + 'static,
{
    let (result, queries) = recorded(mode, |runtime| runtime.block_on(dagger_sdk::connect(session)));
    result.unwrap();
    queries
}

/// Runs `body` alone with the fake answering as `mode`; returns its result
/// and the queries the fake received, parsed.
fn recorded<T>(mode: Mode, body: impl FnOnce(&tokio::runtime::Runtime) -> T) -> (T, Vec<Vec<Call>>) {
    let fake = fake();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    fake.queries.lock().unwrap().clear();
    *MODE.lock().unwrap() = mode;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = body(&runtime);
    *MODE.lock().unwrap() = Mode::Answer;
    let queries = fake.queries.lock().unwrap().clone();
    (result, queries.iter().map(|q| parse(q)).collect())
}

fn call(name: &str, args: &[(&str, &str)]) -> Call {
    (
        name.to_owned(),
        args.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    )
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
        [call("cacheVolume", &[("key", "\"pip-cache\"")]), call("id", &[])]
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
}

/// Builds and checks one version on the Dagger engine of the fake's session.
fn on_dagger(key: &str) -> (base_images::engine::pipeline::ImageReport, Vec<Vec<Call>>) {
    let image = base_images::get(key).unwrap();
    recorded(Mode::Answer, |runtime| {
        runtime.block_on(async {
            let engine = DaggerEngine::connect().await.unwrap();
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
    // The build synced the lowered chain once.
    let builds: Vec<_> = queries.iter().filter(|q| q.last().unwrap().0 == "sync").collect();
    assert_eq!(builds.len(), 1);
    assert_eq!(
        builds[0][..2],
        [
            call("container", &[("platform", "\"linux/amd64\"")]),
            call("from", &[("address", "\"alpine:3\"")])
        ]
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

/// The build tool of the test families, in a fresh workspace.
fn build_tool(args: &[&str], session: bool) -> (std::process::Output, tempfile::TempDir) {
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("versions.lock"), "format = 1\n").unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_e2e-build"));
    command
        .arg("--root")
        .arg(workspace.path())
        .args(args)
        .env("BASE_IMAGES_CACHE_DIR", workspace.path().join("cache"))
        .env("NO_COLOR", "1");
    if !session {
        command.env_remove(PORT_VAR).env_remove(TOKEN_VAR);
    }
    let (output, _) = recorded(Mode::Answer, |_| command.output().unwrap());
    (output, workspace)
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn in_a_dagger_session_the_build_tool_builds_on_dagger() {
    let (output, workspace) = build_tool(&["build", "e2e-index"], true);
    let text = text(&output);
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
    let text = text(&output);
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
