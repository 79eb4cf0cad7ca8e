//! Generates the synthetic family `scale` into `$OUT_DIR/family.rs`:
//! `BASE_IMAGES_SCALE_VERSIONS` versions (default 0: no family) in one
//! chain, each adding an environment variable, every tenth with a check.
//! `BASE_IMAGES_SCALE_PLAIN=1` generates the same functions without the
//! macros (the baseline of the compile-time benchmark).

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=BASE_IMAGES_SCALE_VERSIONS");
    println!("cargo:rerun-if-env-changed=BASE_IMAGES_SCALE_PLAIN");
    let versions: usize = std::env::var("BASE_IMAGES_SCALE_VERSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let plain = std::env::var("BASE_IMAGES_SCALE_PLAIN").is_ok_and(|v| v == "1");
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        panic!("cargo sets OUT_DIR for build scripts");
    };
    if let Err(e) = std::fs::write(out.join("family.rs"), family(versions, plain)) {
        panic!("cannot write {}: {e}", out.join("family.rs").display());
    }
}

/// The source of the family: version `n` is `1.0.n`.
fn family(versions: usize, plain: bool) -> String {
    let mut code = String::new();
    for n in 0..versions {
        let attribute = match (plain, n) {
            (true, _) => String::new(),
            (false, 0) => {
                format!("#[base_image(family = \"scale\", version = \"1.0.0\", changelog = \"Version {n}.\")]\n")
            }
            (false, _) => format!(
                "#[base_image(version = \"1.0.{n}\", parent = V1_0_{}, changelog = \"Version {n}.\")]\n",
                n - 1
            ),
        };
        let body = match n {
            // Pinned (never pulled: the family is only resolved), so its
            // versions can be released in a lock.
            0 => format!(
                "Recipe::from(\"debian:bookworm-slim@sha256:{}\").with_env_variable(\"V0\", \"0\")",
                "5".repeat(64)
            ),
            _ => format!("parent.with_env_variable(\"V{n}\", \"{n}\")"),
        };
        let argument = if n == 0 { "" } else { "parent: Recipe" };
        let _ = write!(
            code,
            "{attribute}pub fn v1_0_{n}({argument}) -> Recipe {{\n    {body}\n}}\n\n"
        );
        if n % 10 == 0 {
            let attribute = if plain {
                String::new()
            } else {
                format!("#[sanity_checks(V1_0_{n})]\n")
            };
            let _ = write!(
                code,
                "{attribute}pub fn v1_0_{n}_checks(checks: Checks) -> Checks {{\n    checks.env_var_equals(\"v{n}\", \"V{n}\", \"{n}\")\n}}\n\n"
            );
        }
    }
    code
}
