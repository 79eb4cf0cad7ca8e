//! The end-to-end family, built for real on the local engine: its root is
//! the Debian bookworm image `scripts/root-image.sh` bootstraps. Its versions
//! do what Airbyte's base images do (UTC time zone, pinned pip packages with
//! a pip cache, an apt package, a non-root `airbyte` user with a writable
//! `/airbyte`, env vars, labels, a file with a mode, a file and an archive
//! fetched from the loopback server of `fixtures`, a switch to that user)
//! and its checks use every built-in kind, inheritance and a same-id
//! override.

use base_images::checks::{BoxFuture, CheckTarget};
use base_images::{base_image, sanity_checks, Checks, FetchOptions, Recipe};

use crate::fixtures;

/// The locally bootstrapped root (see `scripts/root-image.sh`).
pub const ROOT: &str = "base-images-e2e/bookworm-python:2";

/// Python, tzdata from apt, UTC, pip cache, a pinned package from PyPI.
#[base_image(
    family = "e2e-python",
    version = "1.0.0",
    repository = "127.0.0.1:5000/base-images-e2e/python",
    changelog = "Python 3.11 on Debian bookworm, UTC, six 1.16.0."
)]
fn v1_0_0() -> Recipe {
    Recipe::from(ROOT)
        .with_env_variable("AIRBYTE_BASE_IMAGE", "e2e-python:1.0.0")
        .with_env_variable("PIP_BREAK_SYSTEM_PACKAGES", "1")
        .with_label("io.airbyte.base_image", "e2e-python:1.0.0")
        .with_exec([
            "sh",
            "-c",
            "apt-get update && apt-get install -y --no-install-recommends tzdata && rm -rf /var/lib/apt/lists/*",
        ])
        .with_exec(["ln", "-snf", "/usr/share/zoneinfo/Etc/UTC", "/etc/localtime"])
        .with_mounted_cache("/root/.cache/pip", "e2e-pip")
        .with_exec(["pip", "install", "six==1.16.0"])
}

#[sanity_checks(V1_0_0)]
fn v1_0_0_checks(checks: Checks) -> Checks {
    checks
        .timezone("timezone-utc", "UTC")
        .tool_version("python-version", ["python3", "--version"], "3.11.2")
        .output_matches(
            "localtime-link",
            ["readlink", "/etc/localtime"],
            "(?m)zoneinfo/Etc/UTC$",
        )
        .output_contains(
            "six-version",
            ["python3", "-c", "import six; print(six.__version__)"],
            "1.16.0",
        )
        .stderr_contains(
            "python-stderr",
            ["python3", "-c", "import sys; sys.stderr.write('to stderr')"],
            "to stderr",
        )
        .command_succeeds("bash-present", ["bash", "--version"])
        .env_var_equals("base-image-env", "AIRBYTE_BASE_IMAGE", "e2e-python:1.0.0")
        .env_var_exists("path-env", "PATH")
        .file_exists("localtime-exists", "/etc/localtime")
}

/// A non-root user with a writable /airbyte, a read-only cache dir, a script.
#[base_image(version = "1.1.0", parent = V1_0_0, changelog = "Add the airbyte user (uid 1000) and /airbyte.")]
fn v1_1_0(parent: Recipe) -> Recipe {
    parent
        .with_exec(["groupadd", "--gid", "1000", "airbyte"])
        .with_exec(["useradd", "--uid", "1000", "--gid", "1000", "--create-home", "airbyte"])
        .with_exec(["mkdir", "--mode", "755", "/airbyte", "/custom_cache"])
        .with_exec(["chown", "airbyte:airbyte", "/airbyte"])
        .with_new_file("/airbyte/base.sh", "#!/bin/sh\nexec \"$@\"\n", 0o755)
        .with_env_variable("PIP_CACHE_DIR", "/custom_cache/pip")
        .with_fetched_file_opts(
            "/airbyte/greeting.txt",
            fixtures::GREETING_URL,
            Some(0o640),
            FetchOptions::default().owner("airbyte"),
        )
        .with_fetched_archive_opts(
            "/opt/e2e-data",
            fixtures::DATA_URL,
            FetchOptions::default().owner("airbyte"),
        )
}

#[sanity_checks(V1_1_0)]
fn v1_1_0_checks(checks: Checks) -> Checks {
    checks
        .user_exists("airbyte-user", "airbyte", 1000, 1000)
        .user_can_write("airbyte-writes-airbyte", "airbyte", "/airbyte")
        .user_cannot_write("airbyte-cannot-write-cache", "airbyte", "/custom_cache")
        .file_with("base-script", "/airbyte/base.sh", Some(0o755), Some("root"))
        .env_var_equals("pip-cache-dir", "PIP_CACHE_DIR", "/custom_cache/pip")
        .file_with(
            "fetched-file",
            "/airbyte/greeting.txt",
            Some(0o640),
            Some("airbyte:airbyte"),
        )
        .output_contains(
            "fetched-file-text",
            ["cat", "/airbyte/greeting.txt"],
            fixtures::GREETING.trim_end(),
        )
        .file_with(
            "unpacked-script",
            "/opt/e2e-data/data/bin/run.sh",
            Some(0o755),
            Some("airbyte:airbyte"),
        )
        .output_contains(
            "unpacked-script-runs",
            ["/opt/e2e-data/data/bin/run.sh"],
            "run from an archive",
        )
}

/// A newer six: its check replaces the inherited one with the same id.
#[base_image(version = "1.2.0", parent = V1_1_0, changelog = "Upgrade six to 1.17.0.")]
fn v1_2_0(parent: Recipe) -> Recipe {
    parent.with_exec_opts(
        ["pip", "install", "six==1.17.0"],
        base_images::ExecOptions::default().env("PIP_CACHE_DIR", "/root/.cache/pip"),
    )
}

#[sanity_checks(V1_2_0)]
fn v1_2_0_checks(checks: Checks) -> Checks {
    checks.output_contains(
        "six-version",
        ["python3", "-c", "import six; print(six.__version__)"],
        "1.17.0",
    )
}

/// Runs as airbyte in /airbyte with the script as entrypoint.
#[base_image(version = "2.0.0", parent = V1_2_0, changelog = "Run as the airbyte user.")]
fn v2_0_0(parent: Recipe) -> Recipe {
    parent
        .with_user("airbyte")
        .with_workdir("/airbyte")
        .with_entrypoint(["/airbyte/base.sh"])
}

#[sanity_checks(V2_0_0)]
fn v2_0_0_checks(checks: Checks) -> Checks {
    checks.custom(
        "runs-as-airbyte",
        "commands run as airbyte in /airbyte, and base.sh is a script",
        runs_as_airbyte,
    )
}

fn runs_as_airbyte(target: &dyn CheckTarget) -> BoxFuture<'_, Result<(), String>> {
    Box::pin(async move {
        let who = target.exec(&["sh", "-c", "id -un; pwd"]).await?;
        if who.stdout != "airbyte\n/airbyte\n" {
            return Err(format!("expected airbyte in /airbyte, got {:?}", who.stdout));
        }
        let script = target.read_file("/airbyte/base.sh").await?;
        if !script.starts_with(b"#!/bin/sh") {
            return Err("base.sh has no #!/bin/sh line".into());
        }
        match target.env_var("PIP_CACHE_DIR").await? {
            Some(dir) if dir == "/custom_cache/pip" => Ok(()),
            other => Err(format!("PIP_CACHE_DIR is {other:?}")),
        }
    })
}
