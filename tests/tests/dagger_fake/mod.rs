//! A loopback fake of the Dagger engine's GraphQL endpoint for the contract
//! tests: it listens on 127.0.0.1 and hands out its session ([`session`]:
//! the port and token a client connects with, given explicitly, never set
//! in this multithreaded process's environment), checks the basic auth the
//! real `dagger_sdk` sends, records every query and answers it (see
//! `answer`). Queries are compared parsed and normalized: the SDK's
//! argument order is not stable.

// Each test binary uses part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base_images::engine::dagger::{Session, PORT_VAR, TOKEN_VAR};
use graphql_parser::query::{Definition, OperationDefinition, Selection, SelectionSet, TypeCondition};

const TOKEN: &str = "contract-test-token";

/// One field of a query chain: its name and its arguments, printed.
pub(crate) type Call = (String, BTreeMap<String, String>);

/// The fake engine: its port and the queries it received.
struct Fake {
    port: u16,
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
        Fake { port, queries }
    })
}

/// The fake's session: its port and token, as `DAGGER_SESSION_PORT` and
/// `DAGGER_SESSION_TOKEN` would give them.
pub(crate) fn session_vars() -> [(&'static str, String); 2] {
    [(PORT_VAR, fake().port.to_string()), (TOKEN_VAR, TOKEN.to_owned())]
}

/// The fake's session, for a client of the library.
pub(crate) fn session() -> Session {
    let [(_, port), (_, token)] = session_vars();
    Session::from_vars(Some(port), Some(token)).unwrap()
}

static SERIAL: Mutex<()> = Mutex::new(());

/// How the fake answers.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Mode {
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

/// Runs `session` in a Dagger session with the fake answering as `mode`;
/// returns the queries it received, parsed.
pub(crate) fn with_fake<F, Fut>(mode: Mode, session: F) -> Vec<Vec<Call>>
where
    F: FnOnce(dagger_sdk::Query) -> Fut + 'static,
    Fut: std::future::Future<Output = eyre::Result<()>> + 'static,
{
    let (result, queries) = recorded(mode, |runtime| runtime.block_on(session(self::session().client())));
    result.unwrap();
    queries
}

/// Runs `body` alone with the fake answering as `mode`; returns its result
/// and the queries the fake received, parsed.
pub(crate) fn recorded<T>(mode: Mode, body: impl FnOnce(&tokio::runtime::Runtime) -> T) -> (T, Vec<Vec<Call>>) {
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

/// A call of a chain, written by hand: its name and printed arguments.
pub(crate) fn call(name: &str, args: &[(&str, &str)]) -> Call {
    (
        name.to_owned(),
        args.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    )
}
