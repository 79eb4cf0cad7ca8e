use base_images::{sanity_checks, Checks};

#[sanity_checks]
fn checks(checks: Checks) -> Checks {
    checks
}

fn main() {}
