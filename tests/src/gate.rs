//! Whether a test that needs the engine or the local registry runs: one
//! rule for every test binary. The engine is the one `DOCKER_HOST` names
//! (found as the docker CLI finds it), and it must answer; the local
//! registry is the one `scripts/engine.sh` starts on 127.0.0.1:5000, and it
//! must answer the registry API. Without `BASE_IMAGES_E2E` a test whose
//! needs are missing says why and passes without running; with
//! `BASE_IMAGES_E2E=1` (what `scripts/engine.sh run` sets) it fails.

use base_images::engine::docker::DockerEngine;

/// Whether missing needs fail the tests (`BASE_IMAGES_E2E` is set).
pub fn required() -> bool {
    std::env::var_os("BASE_IMAGES_E2E").is_some()
}

/// What a test that cannot run returns (`false`): it says `reason`, and
/// fails when the engine tests are required.
pub fn not_run(reason: &str) -> bool {
    if required() {
        panic!("BASE_IMAGES_E2E is set but {reason}");
    }
    eprintln!("engine test not run: {reason}");
    false
}

/// The engine, connected, for a test on the library; `None` when it does
/// not answer (see [`not_run`]).
pub async fn docker() -> Option<DockerEngine> {
    match DockerEngine::connect().await {
        Ok(engine) => Some(engine),
        Err(e) => {
            not_run(&e.to_string());
            None
        }
    }
}

/// Whether the engine answers, for a test that runs the tool's binary (it
/// asks from a thread of its own, so an async test may ask too).
pub fn engine_up() -> bool {
    let answered = std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        runtime.map_err(|e| e.to_string()).and_then(|runtime| {
            runtime
                .block_on(DockerEngine::connect())
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    })
    .join()
    .unwrap_or_else(|_| Err("asking the engine panicked".to_owned()));
    match answered {
        Ok(()) => true,
        Err(reason) => not_run(&reason),
    }
}

/// The port of the local registry `scripts/engine.sh` starts on 127.0.0.1.
pub const LOCAL_REGISTRY_PORT: u16 = 5000;

/// Whether the local registry answers the registry API.
pub fn local_registry_up() -> bool {
    crate::oci_registry::answers_v2(LOCAL_REGISTRY_PORT)
        || not_run(&format!(
            "no registry answers on 127.0.0.1:{LOCAL_REGISTRY_PORT} (scripts/engine.sh run starts one)"
        ))
}

/// The variable `name`, or `None` after [`not_run`] says it is unset.
pub fn var(name: &str, what: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) => Some(value),
        Err(_) => {
            not_run(&format!("{name} is not set ({what})"));
            None
        }
    }
}
