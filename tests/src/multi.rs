//! A family with a per-platform root, a pre-release, a root change that
//! keeps every step, and a check that overrides an inherited one.

use base_images::{base_image, sanity_checks, Checks, ExecOptions, Recipe};

/// Pinned per platform, as Airbyte's first image was.
#[base_image(
    family = "test-multi",
    version = "0.1.0",
    platforms = ["linux/amd64", "linux/arm64"],
    changelog = "Initial release, pinned per platform."
)]
fn v0_1_0() -> Recipe {
    Recipe::from_platforms([
        (
            "linux/amd64",
            "debian:bookworm-slim@sha256:1111111111111111111111111111111111111111111111111111111111111111",
        ),
        (
            "linux/arm64",
            "debian:bookworm-slim@sha256:2222222222222222222222222222222222222222222222222222222222222222",
        ),
    ])
    .with_label("org.opencontainers.image.title", "test-multi")
    .with_new_file("/etc/motd", "hello\n", 0o644)
}

#[sanity_checks(V0_1_0)]
fn v0_1_0_checks(checks: Checks) -> Checks {
    checks
        .file_with("motd", "/etc/motd", Some(0o644), Some("root"))
        .timezone("utc", "UTC")
        .output_contains("os-release", ["cat", "/etc/os-release"], "bookworm")
}

/// A pre-release adding a user.
#[base_image(version = "1.0.0-rc.1", parent = V0_1_0, changelog = "Add the airbyte user (release candidate).")]
fn v1_0_0_rc_1(parent: Recipe) -> Recipe {
    parent
        .with_exec(["useradd", "--uid", "1000", "--create-home", "airbyte"])
        .with_exec_opts(
            ["mkdir", "-p", "/home/airbyte/work"],
            ExecOptions::default().user("airbyte"),
        )
        .with_user("airbyte")
}

#[sanity_checks(V1_0_0_RC_1)]
fn v1_0_0_rc_1_checks(checks: Checks) -> Checks {
    checks
        .user_exists("airbyte-user", "airbyte", 1000, 1000)
        .user_can_write("airbyte-home", "airbyte", "/home/airbyte/work")
}

/// The release: a new root (as a Python upgrade does), every step kept.
#[base_image(version = "1.0.0", parent = V1_0_0_RC_1, changelog = "Release 1.0.0 on a newer Debian root.")]
fn v1_0_0(parent: Recipe) -> Recipe {
    parent
        .with_root("debian:bookworm-slim@sha256:3333333333333333333333333333333333333333333333333333333333333333")
        .with_mounted_cache("/root/.cache/pip", "pip-cache")
        .with_entrypoint(["/bin/sh", "-c"])
        .with_default_args(["echo ready"])
}

#[sanity_checks(V1_0_0)]
fn v1_0_0_checks(checks: Checks) -> Checks {
    // Replaces 0.1.0's check of the same id.
    checks.output_contains("os-release", ["cat", "/etc/os-release"], "VERSION_ID=\"12\"")
}
