//! Golden files: the recipe digest and the rendered Dockerfile of every test
//! version and of recipes using every step kind are checked in under
//! `tests/golden/`. A recorded digest is a fact: it never changes when the
//! tool is upgraded (a new encoding version is the only way), and it is
//! never dropped, so `UPDATE_GOLDEN=1 cargo test --test golden` records new
//! versions' digests but fails on a changed or missing one, naming both
//! digests. A Dockerfile change must be reviewed, then `UPDATE_GOLDEN=1`
//! rewrites it.

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
    let mut digests = Vec::new();
    let mut mismatches = Vec::new();
    for (name, recipe, platforms) in &cases {
        digests.push((name.clone(), recipe.digest().to_string()));
        for platform in platforms {
            let file = golden_dir().join(format!("{name}.{}.Dockerfile", platform.replace('/', "-")));
            let rendered = dockerfile::render(recipe, platform).unwrap();
            compare(&file, &rendered, update, &mut mismatches);
        }
    }
    let recorded_file = golden_dir().join("digests.txt");
    let recorded = std::fs::read_to_string(&recorded_file).unwrap_or_default();
    match added_digests(&recorded, &digests) {
        Err(changed) => mismatches.push(format!("{}:\n{changed}", recorded_file.display())),
        Ok(added) if added.is_empty() => {}
        Ok(_) if update => base_images::fsio::write_atomic(&recorded_file, lines(&digests).as_bytes()).unwrap(),
        Ok(added) => mismatches.push(format!(
            "{}: not yet recorded:\n{}",
            recorded_file.display(),
            lines(&added)
        )),
    }
    assert!(
        mismatches.is_empty(),
        "golden files differ (review, then UPDATE_GOLDEN=1):\n{}",
        mismatches.join("\n")
    );
}

/// The entries of `now` that `recorded` (the golden file's text) lacks, or,
/// when a recorded entry changed or is gone, each such entry with both
/// digests: those fail whether or not the golden files are being updated.
fn added_digests(recorded: &str, now: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
    let recorded: Vec<(&str, &str)> = recorded.lines().filter_map(|line| line.split_once(' ')).collect();
    let mut refused = String::new();
    for (name, digest) in &recorded {
        match now.iter().find(|(now_name, _)| now_name == name) {
            Some((_, now_digest)) if now_digest != digest => writeln!(
                refused,
                "{name}: recorded {digest}, now {now_digest} (a recorded digest never changes)"
            )
            .unwrap(),
            Some(_) => {}
            None => writeln!(
                refused,
                "{name}: recorded {digest}, now not declared (a recorded digest is never dropped)"
            )
            .unwrap(),
        }
    }
    if !refused.is_empty() {
        return Err(refused);
    }
    Ok(now
        .iter()
        .filter(|(name, _)| !recorded.iter().any(|(r, _)| r == name))
        .cloned()
        .collect())
}

/// `name digest` lines.
fn lines(entries: &[(String, String)]) -> String {
    entries
        .iter()
        .map(|(name, digest)| format!("{name} {digest}\n"))
        .collect()
}

#[test]
fn a_recorded_digest_that_changed_or_is_gone_fails_naming_both_digests_and_a_new_one_is_added() {
    let recorded = "a sha256:aaaa\nb sha256:bbbb\n";
    let entry = |name: &str, digest: &str| (name.to_owned(), digest.to_owned());
    let changed = added_digests(recorded, &[entry("a", "sha256:aaaa"), entry("b", "sha256:cccc")]).unwrap_err();
    assert_eq!(
        changed,
        "b: recorded sha256:bbbb, now sha256:cccc (a recorded digest never changes)\n"
    );
    let gone = added_digests(recorded, &[entry("a", "sha256:aaaa")]).unwrap_err();
    assert_eq!(
        gone,
        "b: recorded sha256:bbbb, now not declared (a recorded digest is never dropped)\n"
    );
    let now = [
        entry("a", "sha256:aaaa"),
        entry("b", "sha256:bbbb"),
        entry("c", "sha256:cccc"),
    ];
    assert_eq!(added_digests(recorded, &now), Ok(vec![entry("c", "sha256:cccc")]));
    assert_eq!(lines(&now), "a sha256:aaaa\nb sha256:bbbb\nc sha256:cccc\n");
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
