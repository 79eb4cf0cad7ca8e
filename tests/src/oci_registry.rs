//! A private OCI registry per test: Debian's `docker-registry` serving its
//! own storage directory on 127.0.0.1:`port`, optionally behind htpasswd
//! basic auth, started by the test and ended by it (by PID) — stopped and
//! restarted on the same storage for the fault tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A registry process the test owns.
#[derive(Debug)]
pub struct TestRegistry {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl TestRegistry {
    /// Starts a registry on 127.0.0.1:`port`; with `user` (name, password),
    /// only that user may pull or push (htpasswd, bcrypt).
    pub fn start(port: u16, user: Option<(&str, &str)>) -> TestRegistry {
        TestRegistry::launch(port, user).unwrap_or_else(|exited| panic!("{exited}"))
    }

    /// Starts a registry on a port the OS says is free; when another
    /// process took that port before the registry bound it (test binaries
    /// run side by side), on another one.
    pub fn on_free_port(user: Option<(&str, &str)>) -> TestRegistry {
        for _ in 0..4 {
            if let Ok(registry) = TestRegistry::launch(free_port(), user) {
                return registry;
            }
        }
        TestRegistry::start(free_port(), user)
    }

    /// A registry on `port`, or why its process exited before it answered.
    fn launch(port: u16, user: Option<(&str, &str)>) -> Result<TestRegistry, String> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a registry directory: {e}"));
        let auth = match user {
            Some((name, password)) => {
                let hash = bcrypt::hash(password, 4).unwrap_or_else(|e| panic!("bcrypt: {e}"));
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, format!("{name}:{hash}\n")).unwrap_or_else(|e| panic!("htpasswd: {e}"));
                format!("auth:\n  htpasswd:\n    realm: test\n    path: {}\n", file.display())
            }
            None => String::new(),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
            dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap_or_else(|e| panic!("registry config: {e}"));
        let mut registry = TestRegistry { dir, port, child: None };
        registry.spawn()?;
        Ok(registry)
    }

    /// `127.0.0.1:port`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The registry's storage directory.
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts the process again on the same storage; waits until it answers.
    pub fn restart(&mut self) {
        self.spawn().unwrap_or_else(|exited| panic!("{exited}"));
    }

    /// Starts the process; waits until it answers, or says why it exited.
    fn spawn(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "the registry is already running");
        let log =
            std::fs::File::create(self.dir.path().join("registry.log")).unwrap_or_else(|e| panic!("registry log: {e}"));
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start docker-registry (scripts/engine.sh installs it): {e}"));
        self.child = Some(child);
        self.wait_until_ready()
    }

    /// Waits until the process this value started says it listens on its
    /// port and the registry API answers there; a process that exited (the
    /// port was taken) is an error with its log; 10 s without both fail the
    /// test.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listening = format!("listening on 127.0.0.1:{}", self.port);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|child| child.try_wait().ok().flatten()) {
                self.child = None;
                return Err(format!(
                    "the registry for port {} exited ({status}):\n{}",
                    self.port,
                    self.log()
                ));
            }
            if self.log().contains(&listening) && answers_v2(self.port) {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "the registry on port {} did not answer within 10 s:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the process without ending it (SIGSTOP): connections are
    /// accepted by the kernel and never answered, until [`Self::resume`].
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused process run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self
            .child
            .as_ref()
            .unwrap_or_else(|| panic!("the registry is not running"));
        let sent = Command::new("kill").args([signal, &child.id().to_string()]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill {signal} the registry");
    }

    /// Ends the process (the one this value started, by its PID).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The directory the test may keep files in beside the registry.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a registry API answers `GET /v2/` on 127.0.0.1:`port` (200, or
/// 401 behind authentication, with the distribution API's header).
pub fn answers_v2(port: u16) -> bool {
    use std::io::{Read as _, Write as _};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut reply = Vec::new();
    let _ = stream.take(64 * 1024).read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply).to_ascii_lowercase();
    let status = reply.lines().next().and_then(|line| line.split(' ').nth(1));
    reply.starts_with("http/1.")
        && matches!(status, Some("200" | "401"))
        && reply.contains("docker-distribution-api-version: registry/2.0")
}

/// A loopback port the OS says is free now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("a free port: {e}"))
}
