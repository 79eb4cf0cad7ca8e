//! The loopback server the end-to-end family fetches its content from
//! (never the internet). The family's URLs name 127.0.0.1:[`PORT`]: the demo
//! and the benchmarks serve there ([`serve_on_declared_port`]); every test
//! process serves on a port the OS chose ([`serve`]) and fetches through
//! the mirror [`mirror`] names, so test binaries run side by side. It serves
//! a text file and a zip archive of fixed bytes; a test can make it serve
//! other bytes ([`serve_changed`]) or stop it ([`stop`]) to see the build
//! refuse.

use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

/// The port the e2e family's URLs name.
pub const PORT: u16 = 38471;

/// Where the e2e family's URLs point, the prefix a test's mirror maps.
const DECLARED: &str = "http://127.0.0.1:38471/";

/// The text file the e2e family places at `/airbyte/greeting.txt`.
pub const GREETING_URL: &str = "http://127.0.0.1:38471/e2e/greeting.txt";

/// The zip archive the e2e family unpacks into `/opt/e2e-data`.
pub const DATA_URL: &str = "http://127.0.0.1:38471/e2e/data.zip";

/// What the greeting holds.
pub const GREETING: &str = "fetched from the loopback server\n";

/// The zip archive's bytes: `data/hello.txt` (0644) and an executable
/// `data/bin/run.sh` (0755), with fixed timestamps.
pub fn data_zip() -> Vec<u8> {
    zip_saying("hello from an archive\n")
}

/// The archive with another `data/hello.txt`: what a changed upstream sends.
pub fn changed_data_zip() -> Vec<u8> {
    zip_saying("hello from someone else's archive\n")
}

/// The archive with `hello` in `data/hello.txt`.
fn zip_saying(hello: &str) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let entry = |mode: u32| {
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(mode)
    };
    let files: [(&str, u32, &str); 2] = [
        ("data/hello.txt", 0o644, hello),
        ("data/bin/run.sh", 0o755, "#!/bin/sh\necho run from an archive\n"),
    ];
    let written = (|| -> zip::result::ZipResult<Vec<u8>> {
        writer.add_directory("data/", entry(0o755))?;
        writer.add_directory("data/bin/", entry(0o755))?;
        for (name, mode, text) in files {
            writer.start_file(name, entry(mode))?;
            writer.write_all(text.as_bytes())?;
        }
        Ok(writer.finish()?.into_inner())
    })();
    written.unwrap_or_else(|e| panic!("the fixture archive cannot be written: {e}"))
}

/// The running server, if any; the port it listens or listened on; and
/// whether it serves a changed greeting or archive.
struct State {
    server: Option<Arc<tiny_http::Server>>,
    port: Option<u16>,
    changed: bool,
    archive_changed: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    server: None,
    port: None,
    changed: false,
    archive_changed: false,
});

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts the server (once per process) on a port the OS chooses, serving
/// the original bytes; [`mirror`] says where.
pub fn serve() {
    serve_at(0);
}

/// Starts the server (once per process) on the port the e2e family's URLs
/// name, for a process that fetches them as declared (the demo, the
/// benchmarks); one such process per machine.
pub fn serve_on_declared_port() {
    serve_at(PORT);
}

/// The mirror (`FROM=TO`, the build tool's `--fetch-mirror` and
/// `BASE_IMAGES_FETCH_MIRROR`) that sends the e2e family's URLs to this
/// process's server: where it listens, or listened last after [`stop`]
/// (then nothing answers there); starts it if it never ran.
pub fn mirror() -> String {
    let port = state().port;
    let port = port.unwrap_or_else(|| serve_at(0));
    format!("{DECLARED}=http://127.0.0.1:{port}/")
}

/// Starts the server on `wanted` (0: a port the OS chooses) unless it
/// runs; returns the port it listens on.
fn serve_at(wanted: u16) -> u16 {
    let mut guard = state();
    guard.changed = false;
    guard.archive_changed = false;
    if let (Some(_), Some(port)) = (&guard.server, guard.port) {
        return port;
    }
    let server = match tiny_http::Server::http(("127.0.0.1", wanted)) {
        Ok(server) => Arc::new(server),
        Err(e) => panic!("the fixture server cannot listen on 127.0.0.1:{wanted}: {e}"),
    };
    let port = server.server_addr().to_ip().map_or(wanted, |address| address.port());
    let serving = server.clone();
    std::thread::spawn(move || {
        for request in serving.incoming_requests() {
            let (changed, archive_changed) = {
                let state = state();
                (state.changed, state.archive_changed)
            };
            let body = match request.url() {
                "/e2e/greeting.txt" if changed => b"someone changed this file\n".to_vec(),
                "/e2e/greeting.txt" => GREETING.as_bytes().to_vec(),
                "/e2e/data.zip" if archive_changed => changed_data_zip(),
                "/e2e/data.zip" => data_zip(),
                _ => {
                    let _ = request.respond(tiny_http::Response::empty(404));
                    continue;
                }
            };
            let _ = request.respond(tiny_http::Response::from_data(body));
        }
    });
    guard.server = Some(server);
    guard.port = Some(port);
    port
}

/// Makes the running server send other bytes for the greeting.
pub fn serve_changed() {
    serve();
    state().changed = true;
}

/// Makes the running server send another archive.
pub fn serve_changed_archive() {
    serve();
    state().archive_changed = true;
}

/// Stops the server: its port refuses connections until `serve` again
/// (which listens on another port; [`mirror`] follows it).
pub fn stop() {
    let (server, port) = {
        let mut guard = state();
        (guard.server.take(), guard.port)
    };
    let (Some(server), Some(port)) = (server, port) else {
        return;
    };
    server.unblock();
    // The serving thread holds the last reference until it sees the unblock.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
