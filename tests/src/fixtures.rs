//! The loopback server the end-to-end family fetches its content from: the
//! tests, the demo and the benchmarks start it in their own process on
//! 127.0.0.1:[`PORT`] (never the internet). It serves a text file and a
//! zip archive of fixed bytes; a test can make it serve other bytes
//! ([`serve_changed`]) or stop it ([`stop`]) to see the build refuse.

use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

/// The port the server listens on (the e2e family's URLs name it).
pub const PORT: u16 = 38471;

/// The text file the e2e family places at `/airbyte/greeting.txt`.
pub const GREETING_URL: &str = "http://127.0.0.1:38471/e2e/greeting.txt";

/// The zip archive the e2e family unpacks into `/opt/e2e-data`.
pub const DATA_URL: &str = "http://127.0.0.1:38471/e2e/data.zip";

/// What the greeting holds.
pub const GREETING: &str = "fetched from the loopback server\n";

/// The zip archive's bytes: `data/hello.txt` (0644) and an executable
/// `data/bin/run.sh` (0755), with fixed timestamps.
pub fn data_zip() -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let entry = |mode: u32| {
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(mode)
    };
    let files: [(&str, u32, &str); 2] = [
        ("data/hello.txt", 0o644, "hello from an archive\n"),
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

/// The running server, if any, and whether it serves changed bytes.
struct State {
    server: Option<Arc<tiny_http::Server>>,
    changed: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    server: None,
    changed: false,
});

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts the server (once per process) serving the original bytes.
pub fn serve() {
    let mut guard = state();
    guard.changed = false;
    if guard.server.is_some() {
        return;
    }
    let server = match tiny_http::Server::http(("127.0.0.1", PORT)) {
        Ok(server) => Arc::new(server),
        Err(e) => panic!("the fixture server cannot listen on 127.0.0.1:{PORT}: {e}; is another test run using it?"),
    };
    let serving = server.clone();
    std::thread::spawn(move || {
        for request in serving.incoming_requests() {
            let changed = state().changed;
            let body = match request.url() {
                "/e2e/greeting.txt" if changed => b"someone changed this file\n".to_vec(),
                "/e2e/greeting.txt" => GREETING.as_bytes().to_vec(),
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
}

/// Makes the running server send other bytes for the greeting.
pub fn serve_changed() {
    serve();
    state().changed = true;
}

/// Stops the server: its port refuses connections until `serve` again.
pub fn stop() {
    if let Some(server) = state().server.take() {
        server.unblock();
    }
    // The serving thread holds the last reference until it sees the unblock.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", PORT)).is_err() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
