//! Declarations across a pre-release that must compile and run: `latest` is the release, its parent the candidate.
use base_images::{base_image, sanity_checks, Checks, Recipe};

#[base_image(family = "ui", version = "1.0.0", changelog = "Initial release.")]
fn v1_0_0() -> Recipe {
    Recipe::from("debian:bookworm")
}

#[base_image(version = "2.0.0-rc.1", parent = V1_0_0, changelog = "Release candidate.")]
fn v2_0_0_rc_1(parent: Recipe) -> Recipe {
    parent.with_exec(["true"])
}

#[base_image(family = "ui", version = "2.0.0", parent = V2_0_0_RC_1, changelog = "Release.")]
fn v2_0_0(parent: Recipe) -> Recipe {
    parent
}

#[sanity_checks(V2_0_0)]
fn v2_0_0_checks(checks: Checks) -> Checks {
    checks.command_succeeds("true", ["true"])
}

fn main() {
    assert_eq!(V2_0_0.family(), "ui");
    assert_eq!(V2_0_0.parent().map(|p| p.version_str()), Some("2.0.0-rc.1"));
    assert_eq!(
        base_images::latest("ui").map(|i| i.key().to_string()).ok(),
        Some("ui:2.0.0".to_owned())
    );
}
