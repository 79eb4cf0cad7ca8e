//! Fetched content end to end, through the build tool on the Docker engine,
//! with the loopback server of `fixtures` (never the internet): a release
//! records the sha256 of every fetched input in versions.lock; a later
//! build that receives other bytes is refused naming the URL and both
//! digests; a server that is down is a clear error; a version released
//! before its inputs were recorded gets them on its next build (trust on
//! first use), which `check` lists until then; `--max-fetch-size` cuts a
//! download; an archive's hard links reach the image as hard links. Each
//! test writes nothing when it is refused. Without an engine these tests
//! say why they did not run; with `BASE_IMAGES_E2E=1` a missing engine
//! fails them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod tool;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use base_images::fetch::sha256_of;
use base_images::Lock;
use base_images_tests::fixtures::{self, DATA_URL, GREETING, GREETING_URL};
use tool::{engine_up, text, tool, workspace};

/// The fixture server is shared by this binary's tests: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn files(root: &Path) -> (String, Option<String>) {
    (
        std::fs::read_to_string(root.join("versions.lock")).unwrap(),
        std::fs::read_to_string(root.join("CHANGELOG.md")).ok(),
    )
}

/// This test's turn with the fixture server (serving the original bytes)
/// and a workspace where e2e-python 1.0.0 and 1.1.0 were just released;
/// `None` without an engine.
fn released() -> Option<(MutexGuard<'static, ()>, tempfile::TempDir)> {
    let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    if !engine_up() {
        return None;
    }
    fixtures::serve();
    let ws = workspace();
    let out = tool(ws.path(), &["build", "e2e-python:1.0.0", "e2e-python:1.1.0"]);
    assert!(out.status.success(), "{}", text(&out));
    Some((serial, ws))
}

#[test]
fn a_release_pins_its_inputs_and_a_changed_byte_is_refused_after() {
    let Some((_serial, ws)) = released() else { return };
    let lock = Lock::read(&ws.path().join("versions.lock")).unwrap();
    let pins = lock.pins(&"e2e-python:1.1.0".parse().unwrap());
    assert_eq!(pins.get(GREETING_URL), Some(&sha256_of(GREETING.as_bytes())));
    assert_eq!(pins.get(DATA_URL), Some(&sha256_of(&fixtures::data_zip())));
    assert!(
        lock.pins(&"e2e-python:1.0.0".parse().unwrap()).is_empty(),
        "1.0.0 fetches nothing"
    );

    // The Dockerfile names the recorded digest.
    let out = tool(ws.path(), &["dockerfile", "e2e-python:1.1.0"]);
    let dockerfile = text(&out);
    assert!(
        dockerfile.contains(&format!(
            "ADD --checksum={} --chown=airbyte --chmod=640 {GREETING_URL} /airbyte/greeting.txt",
            sha256_of(GREETING.as_bytes())
        )),
        "{dockerfile}"
    );

    let before = files(ws.path());
    fixtures::serve_changed();
    refused_as_changed(
        ws.path(),
        GREETING_URL,
        GREETING.as_bytes(),
        b"someone changed this file\n",
    );
    assert_eq!(files(ws.path()), before, "a refused build writes nothing");
    // The archive changed upstream: refused the same way.
    fixtures::serve_changed_archive();
    refused_as_changed(
        ws.path(),
        DATA_URL,
        &fixtures::data_zip(),
        &fixtures::changed_data_zip(),
    );
    assert_eq!(files(ws.path()), before, "a refused build writes nothing");
}

/// Builds e2e-python 1.1.0 in `root` while the fixture server sends other
/// bytes for `url`, then serves the original ones again: the build must be
/// refused, naming the bytes the lock pins (`pinned`) and those `sent`.
fn refused_as_changed(root: &Path, url: &str, pinned: &[u8], sent: &[u8]) {
    let out = tool(root, &["build", "e2e-python:1.1.0"]);
    fixtures::serve();
    let output = text(&out);
    assert_eq!(out.status.code(), Some(1), "{output}");
    assert!(
        output.contains(&format!(
            "{url} changed: versions.lock pins {}, but the server sent {}",
            sha256_of(pinned),
            sha256_of(sent)
        )),
        "{output}"
    );
}

#[test]
fn a_server_that_is_down_is_a_clear_error_and_nothing_is_written() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    if !engine_up() {
        return;
    }
    fixtures::stop();
    let ws = workspace();
    let out = tool(ws.path(), &["build", "e2e-python:1.1.0"]);
    fixtures::serve();
    let output = text(&out);
    assert_eq!(out.status.code(), Some(1), "{output}");
    assert!(
        output.contains(&format!("cannot fetch {GREETING_URL}: nothing answers there")),
        "{output}"
    );
    assert_eq!(files(ws.path()), ("format = 1\n".to_owned(), None));
}

#[test]
fn inputs_of_a_version_released_before_they_were_recorded_are_trusted_on_first_use() {
    // Released, then the recorded inputs taken out of the lock: a version
    // locked before inputs were recorded, as the catalog's were adopted.
    let Some((_serial, ws)) = released() else { return };
    let lock_path = ws.path().join("versions.lock");
    let released = std::fs::read_to_string(&lock_path).unwrap();
    let mut adopted = String::new();
    let mut in_fetched = false;
    for line in released.lines() {
        if line.starts_with('[') {
            in_fetched = line == "[image.fetched]";
        }
        if !in_fetched {
            adopted.push_str(line);
            adopted.push('\n');
        }
    }
    assert_ne!(adopted, released);
    std::fs::write(&lock_path, adopted).unwrap();

    let out = tool(ws.path(), &["check"]);
    let output = text(&out);
    assert!(out.status.success(), "{output}");
    assert!(
        output.contains("1 released version(s) fetch inputs not pinned yet")
            && output.contains(&format!("e2e-python:1.1.0: {GREETING_URL}, {DATA_URL}")),
        "{output}"
    );

    let out = tool(ws.path(), &["build", "e2e-python:1.1.0"]);
    let output = text(&out);
    assert!(out.status.success(), "{output}");
    assert!(
        output.contains(&format!(
            "trust on first use: e2e-python:1.1.0 was released before its inputs were recorded; recorded {GREETING_URL} = {}",
            sha256_of(GREETING.as_bytes())
        )),
        "{output}"
    );
    let lock = Lock::read(&ws.path().join("versions.lock")).unwrap();
    assert_eq!(lock.pins(&"e2e-python:1.1.0".parse().unwrap()).len(), 2);
    let out = tool(ws.path(), &["check"]);
    assert!(!text(&out).contains("not pinned yet"), "{}", text(&out));
}

#[test]
fn a_download_over_max_fetch_size_is_refused_and_nothing_is_written() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    if !engine_up() {
        return;
    }
    let ws = workspace();
    let out = tool(ws.path(), &["build", "e2e-python:1.1.0", "--max-fetch-size", "16B"]);
    let output = text(&out);
    assert_eq!(out.status.code(), Some(1), "{output}");
    assert!(
        output.contains(&format!(
            "refused to fetch {GREETING_URL}: it sends more than 16 B, the most a download may take (raise it with \
             --max-fetch-size)"
        )),
        "{output}"
    );
    assert_eq!(files(ws.path()), ("format = 1\n".to_owned(), None));
}

/// A tar of `data/tool`, its hard link `data/alias` and a symbolic link
/// `data/link` to it.
fn linked_tar() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o755);
    let tool = b"#!/bin/sh\necho tool\n";
    header.set_size(tool.len() as u64);
    builder.append_data(&mut header, "data/tool", &tool[..]).unwrap();
    for (kind, name, target) in [
        (tar::EntryType::Link, "data/alias", "data/tool"),
        (tar::EntryType::Symlink, "data/link", "tool"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(0o777);
        header.set_size(0);
        builder.append_link(&mut header, name, target).unwrap();
    }
    builder.into_inner().unwrap()
}

#[test]
fn an_archives_hard_links_reach_the_image_as_hard_links() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    if !engine_up() {
        return;
    }
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(hard_links_on_the_engine());
}

async fn hard_links_on_the_engine() {
    use base_images::checks::CheckTarget as _;
    use base_images::engine::{BuildRequest, Engine as _};
    let engine = base_images::engine::docker::DockerEngine::connect().await.unwrap();
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}/linked.tar", server.server_addr().to_ip().unwrap());
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let _ = request.respond(tiny_http::Response::from_data(linked_tar()));
        }
    });
    let recipe = base_images::Recipe::from(base_images_tests::e2e::ROOT).with_fetched_archive("/opt/linked", &url);
    let inputs = base_images::fetch::fetch_inputs(&recipe, &Default::default())
        .await
        .unwrap();
    let built = engine
        .build(BuildRequest {
            recipe: &recipe,
            platform: "linux/amd64",
            declared_by: &["test".to_owned()],
            inputs: &inputs,
        })
        .await
        .unwrap();
    let target = engine.start(&built, false).await.unwrap();
    let listed = target
        .exec(&[
            "sh",
            "-c",
            "cd /opt/linked/data && test alias -ef tool && echo same-file; stat -c '%h %a %n' tool; readlink link; ./alias",
        ])
        .await;
    engine.stop(target).await;
    let listed = listed.unwrap();
    assert_eq!(
        listed.stdout, "same-file\n2 755 tool\ntool\ntool\n",
        "stderr: {}",
        listed.stderr
    );
}
