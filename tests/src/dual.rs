//! The two-platform end-to-end family, built and checked for real on the
//! local engine for linux/amd64 and linux/arm64 (arm64 under
//! qemu-user-static): its roots are the Debian bookworm minbase images
//! `scripts/root-image.sh` bootstraps for each architecture and imports
//! with their platform. `e2e-dual-broken` has a check that passes on amd64
//! only, so a release fails on one platform and says which.

use base_images::{base_image, sanity_checks, Checks, Recipe};

/// The locally bootstrapped amd64 root (see `scripts/root-image.sh`).
pub const ROOT_AMD64: &str = "base-images-e2e/bookworm-minbase-amd64:1";
/// The locally bootstrapped arm64 root (see `scripts/root-image.sh`).
pub const ROOT_ARM64: &str = "base-images-e2e/bookworm-minbase-arm64:1";

/// Both roots, by platform.
fn roots() -> Recipe {
    Recipe::from_platforms([("linux/amd64", ROOT_AMD64), ("linux/arm64", ROOT_ARM64)])
}

/// Debian bookworm minbase for both platforms, with its root named in an env var.
#[base_image(
    family = "e2e-dual",
    version = "1.0.0",
    platforms = ["linux/amd64", "linux/arm64"],
    repository = "127.0.0.1:5000/base-images-e2e/dual",
    changelog = "Debian bookworm minbase for linux/amd64 and linux/arm64."
)]
fn v1_0_0() -> Recipe {
    roots()
        .with_root_env_variable("E2E_ROOT")
        .with_label("org.opencontainers.image.title", "e2e-dual")
        .with_new_file("/etc/e2e-dual", "1.0.0\n", 0o644)
}

#[sanity_checks(V1_0_0)]
fn v1_0_0_checks(checks: Checks) -> Checks {
    checks
        .output_contains("root-env", ["printenv", "E2E_ROOT"], "{base_image}")
        .output_matches("machine", ["uname", "-m"], "^(x86_64|aarch64)\\n?$")
        .file_with("marker", "/etc/e2e-dual", Some(0o644), Some("root"))
        .output_contains("os-release", ["cat", "/etc/os-release"], "bookworm")
}

/// A non-root user, made by running a command on each platform.
#[base_image(version = "1.1.0", parent = V1_0_0, changelog = "Add the airbyte user (uid 1000).")]
fn v1_1_0(parent: Recipe) -> Recipe {
    parent
        .with_exec(["useradd", "--uid", "1000", "--user-group", "--create-home", "airbyte"])
        .with_exec(["sh", "-c", "dpkg --print-architecture > /etc/e2e-arch"])
        .with_user("airbyte")
}

#[sanity_checks(V1_1_0)]
fn v1_1_0_checks(checks: Checks) -> Checks {
    checks
        .user_exists("airbyte-user", "airbyte", 1000, 1000)
        .user_can_write("airbyte-home", "airbyte", "/home/airbyte")
        .output_matches("arch-file", ["cat", "/etc/e2e-arch"], "^(amd64|arm64)\\n?$")
}

/// A check that holds on linux/amd64 only.
pub mod broken {
    use super::roots;
    use base_images::{base_image, sanity_checks, Checks, Recipe};

    /// Both roots; a check that expects an x86_64 machine.
    #[base_image(
        family = "e2e-dual-broken",
        version = "1.0.0",
        platforms = ["linux/amd64", "linux/arm64"],
        changelog = "A check that passes on linux/amd64 only."
    )]
    fn v1_0_0() -> Recipe {
        roots().with_env_variable("E2E", "broken")
    }

    #[sanity_checks(V1_0_0)]
    fn v1_0_0_checks(checks: Checks) -> Checks {
        checks
            .env_var_equals("env", "E2E", "broken")
            .output_contains("x86-only", ["uname", "-m"], "x86_64")
    }
}

/// A family published to two repositories (of one registry in the tests):
/// pushed to both, verified in both, copied into one that lost it.
pub mod mirrored {
    use super::ROOT_AMD64;
    use base_images::{base_image, Recipe};

    /// The amd64 minbase root with a marker file.
    #[base_image(
        family = "e2e-mirrored",
        version = "1.0.0",
        platforms = ["linux/amd64"],
        repository = ["127.0.0.1:5000/base-images-e2e/mirrored", "127.0.0.1:5000/base-images-e2e/mirrored-copy"],
        changelog = "Debian bookworm minbase, published to two repositories."
    )]
    fn v1_0_0() -> Recipe {
        Recipe::from(ROOT_AMD64).with_new_file("/etc/e2e-mirrored", "1.0.0\n", 0o644)
    }
}
