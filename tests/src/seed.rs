//! The seed's example: a root, then 1.0.1 adding ffmpeg with its own check
//! while 1.0.0's checks still run (inherited).

use base_images::{base_image, sanity_checks, Checks, Recipe};

const PYTHON_ROOT: &str =
    "docker.io/python:3.9.18-slim-bookworm@sha256:44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0";

/// The first version: Python on Debian, pip upgraded, a working directory.
#[base_image(
    family = "seed-example",
    version = "1.0.0",
    changelog = "Initial release: Python 3.9.18 on Debian bookworm."
)]
fn v1_0_0() -> Recipe {
    Recipe::from(PYTHON_ROOT)
        .with_env_variable("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .with_exec(["pip", "install", "--upgrade", "pip==23.2.1"])
        .with_workdir("/airbyte/integration_code")
}

#[sanity_checks(V1_0_0)]
fn v1_0_0_checks(checks: Checks) -> Checks {
    checks
        .tool_version("python-version", ["python", "--version"], "3.9.18")
        .tool_version("pip-version", ["pip", "--version"], "23.2.1")
        .env_var_equals("pip-version-check-off", "PIP_DISABLE_PIP_VERSION_CHECK", "1")
}

/// Adds ffmpeg on top of 1.0.0.
#[base_image(version = "1.0.1", parent = V1_0_0, changelog = "Add ffmpeg to the base image.")]
fn v1_0_1(parent: Recipe) -> Recipe {
    parent.with_exec(["sh", "-c", "apt-get update && apt-get install -y ffmpeg"])
}

#[sanity_checks(V1_0_1)] // V1_0_0's checks still run: inherited
fn v1_0_1_checks(checks: Checks) -> Checks {
    checks.command_succeeds("ffmpeg-installed", ["ffmpeg", "-version"])
}
