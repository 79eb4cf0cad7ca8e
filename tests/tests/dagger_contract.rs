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
use base_images::engine::dagger::{guarded, CALL_TIMEOUT};
use base_images::{ExecOptions, Recipe};
use graphql_parser::query::{Definition, OperationDefinition, Selection, SelectionSet};
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

/// A well-formed answer: the query's chain of fields, nested, ending in a
/// made-up value for the leaf.
fn answer(query: &str) -> serde_json::Value {
    let chain = parse(query);
    let mut value = serde_json::Value::String(format!("fake-{}", chain.last().map_or("", |(name, _)| name.as_str())));
    for (name, _) in chain.iter().rev() {
        value = serde_json::json!({ name.clone(): value });
    }
    serde_json::json!({ "data": value })
}

/// The chain of fields of a single-path query, arguments normalized.
fn parse(query: &str) -> Vec<Call> {
    let document = graphql_parser::parse_query::<String>(query).unwrap_or_else(|e| panic!("{e}: {query}"));
    let mut set: &SelectionSet<'_, String> = match &document.definitions[..] {
        [Definition::Operation(OperationDefinition::Query(q))] => &q.selection_set,
        [Definition::Operation(OperationDefinition::SelectionSet(s))] => s,
        other => panic!("unexpected document {other:?}"),
    };
    let mut chain = Vec::new();
    while let [Selection::Field(field)] = &set.items[..] {
        let args = field
            .arguments
            .iter()
            .map(|(name, value)| (name.clone(), json(value).to_string()))
            .collect();
        chain.push((field.name.clone(), args));
        set = &field.selection_set;
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
    let fake = fake();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    fake.queries.lock().unwrap().clear();
    *MODE.lock().unwrap() = mode;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(dagger_sdk::connect(session));
    *MODE.lock().unwrap() = Mode::Answer;
    result.unwrap();
    let queries = fake.queries.lock().unwrap().clone();
    queries.iter().map(|q| parse(q)).collect()
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
