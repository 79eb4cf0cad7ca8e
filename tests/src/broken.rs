//! A family built to fail: each of its checks breaks one built-in kind (and
//! one hangs past its time limit), and its second version has a step that
//! exits non-zero. The end-to-end tests assert each failure is reported with
//! its id, command and output; a check that cannot fail would be a defect.

use std::time::Duration;

use base_images::checks::{BoxFuture, CheckTarget};
use base_images::{base_image, sanity_checks, Check, CheckKind, Checks, Recipe};

/// One file with a known mode, on the local root.
#[base_image(
    family = "e2e-broken",
    version = "1.0.0",
    changelog = "Checks that fail, one per kind."
)]
fn v1_0_0() -> Recipe {
    Recipe::from(crate::e2e::ROOT).with_new_file("/etc/broken.txt", "x\n", 0o600)
}

#[sanity_checks(V1_0_0)]
fn v1_0_0_checks(checks: Checks) -> Checks {
    checks
        .command_succeeds("passes", ["true"])
        .command_succeeds("fail-command", ["sh", "-c", "echo out; echo err >&2; exit 3"])
        .output_contains("fail-contains", ["echo", "hello"], "goodbye")
        .stderr_contains("fail-stderr", ["sh", "-c", "echo oops >&2"], "different")
        .output_matches("fail-matches", ["echo", "abc"], "^x")
        .tool_version("fail-tool-version", ["python3", "--version"], "9.9.9")
        .env_var_exists("fail-env-exists", "NOT_SET_ANYWHERE")
        .env_var_equals("fail-env-equals", "LANG", "fr_FR.UTF-8")
        .file_exists("fail-file-missing", "/nope")
        .file_with("fail-file-mode", "/etc/broken.txt", Some(0o644), None)
        .file_with("fail-file-owner", "/etc/broken.txt", None, Some("nobody"))
        .user_exists("fail-user-ids", "nobody", 1000, 1000)
        .user_exists("fail-user-missing", "ghost", 1, 1)
        .user_can_write("fail-can-write", "nobody", "/etc")
        .user_cannot_write("fail-cannot-write", "root", "/tmp")
        .timezone("fail-timezone", "CET")
        .custom("fail-custom", "a custom check that refuses", refuses)
        .with(
            Check::new(
                "hangs",
                CheckKind::CommandSucceeds {
                    args: vec!["sleep".into(), "600".into()],
                },
            )
            .timeout(Duration::from_secs(2)),
        )
}

fn refuses(target: &dyn CheckTarget) -> BoxFuture<'_, Result<(), String>> {
    Box::pin(async move {
        let out = target.exec(&["echo", "custom says no"]).await?;
        Err(out.stdout.trim().to_owned())
    })
}

/// A step that takes a minute, to interrupt (never completes in tests, so never cached).
#[base_image(version = "1.1.0", parent = V1_0_0, changelog = "A step that takes a minute.")]
fn v1_1_0(parent: Recipe) -> Recipe {
    parent.with_exec(["sleep", "60"])
}

/// A step that fails.
#[base_image(version = "1.0.1", parent = V1_0_0, changelog = "A step that exits 3.")]
fn v1_0_1(parent: Recipe) -> Recipe {
    parent.with_exec(["sh", "-c", "echo building; echo this step is broken >&2; exit 3"])
}
