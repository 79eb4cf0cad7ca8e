//! Golden files: the recipe digest and the rendered Dockerfile of every test
//! version and of recipes using every step kind are checked in under
//! `tests/golden/`. A digest must never change when the tool is upgraded
//! (a new encoding version is the only way); a Dockerfile change must be
//! reviewed. Regenerate with `UPDATE_GOLDEN=1 cargo test --test golden`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use std::fmt::Write as _;
use std::path::PathBuf;

use base_images::{dockerfile, ExecOptions, Recipe};
// Link the crate that declares the test families (linkme entries live there).
use base_images_tests as _;

const ROOT: &str = "debian:bookworm-slim@sha256:4444444444444444444444444444444444444444444444444444444444444444";

/// Recipes outside the registry that together use every step kind and option.
fn standalone() -> Vec<(&'static str, Recipe)> {
    vec![
        ("root-only", Recipe::from(ROOT)),
        (
            "every-step",
            Recipe::from(ROOT)
                .with_env_variable("LANG", "C.UTF-8")
                .with_env_variable("QUOTED", "a \"b\" $HOME \\ c")
                .without_env_variable("LANG")
                .with_workdir("/app")
                .with_label("org.opencontainers.image.source", "https://example.invalid/repo")
                .with_exec(["sh", "-c", "echo \"$HOME\" > /tmp/home"])
                .with_exec_opts(
                    ["pip", "install", "requests"],
                    ExecOptions::default()
                        .env("PIP_NO_CACHE_DIR", "1")
                        .workdir("/tmp")
                        .user("nobody"),
                )
                .with_new_file("/app/config.json", "{\"a\": 1}\nline 2 'quoted' %s\n", 0o600)
                .with_mounted_cache("/root/.cache/pip", "pip")
                .with_exec(["pip", "install", "six"])
                .with_user("nobody")
                .with_entrypoint(["python", "-m", "main"])
                .with_default_args(["--help"]),
        ),
    ]
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden")
}

#[test]
fn digests_and_dockerfiles_match_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut cases: Vec<(String, Recipe, Vec<&str>)> = standalone()
        .into_iter()
        .map(|(name, recipe)| (name.to_owned(), recipe, vec!["linux/amd64"]))
        .collect();
    for image in base_images::all() {
        cases.push((
            image.key().to_string().replace(':', "-"),
            image.recipe().unwrap(),
            image.platforms().to_vec(),
        ));
    }
    let mut digests = String::new();
    let mut mismatches = Vec::new();
    for (name, recipe, platforms) in &cases {
        writeln!(digests, "{name} {}", recipe.digest()).unwrap();
        for platform in platforms {
            let file = golden_dir().join(format!("{name}.{}.Dockerfile", platform.replace('/', "-")));
            let rendered = dockerfile::render(recipe, platform).unwrap();
            compare(&file, &rendered, update, &mut mismatches);
        }
    }
    compare(&golden_dir().join("digests.txt"), &digests, update, &mut mismatches);
    assert!(
        mismatches.is_empty(),
        "golden files differ (review, then UPDATE_GOLDEN=1):\n{}",
        mismatches.join("\n")
    );
}

fn compare(path: &PathBuf, actual: &str, update: bool, mismatches: &mut Vec<String>) {
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected == actual {
        return;
    }
    if update {
        std::fs::create_dir_all(golden_dir()).unwrap();
        base_images::fsio::write_atomic(path, actual.as_bytes()).unwrap();
    } else {
        mismatches.push(format!("--- {}\n{expected}\n+++ now\n{actual}", path.display()));
    }
}
