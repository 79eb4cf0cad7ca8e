//! Staying current, end to end on the real engine and a registry of the
//! test's own: a team's family whose root lives in that registry is
//! released; `outdated` says its root is current; a new image is pushed
//! under the root's tag and `outdated` says it moved (`--exit-code`: 1);
//! `new --refresh` with a PyPI advisory for the six the release installed
//! scaffolds the patch release (rebased on the new digest, upgrading six to
//! its fix), which compiles, builds with the inherited checks, leaves
//! `outdated` current and `audit` without that finding. Fails, never skips,
//! with `BASE_IMAGES_E2E=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base_images_tests::oci_registry::{free_port, TestRegistry};
use base_images_tests::team;

mod tool;

use tool::{engine_up, text};

/// The e2e Python root, built by scripts/root-image.sh.
const ROOT_IMAGE: &str = "base-images-e2e/bookworm-python:2";

fn docker(args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new("/usr/bin/docker")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The e2e Python root pushed to `registry` as `refresh/root:1`: that tag
/// and the digest the registry gave it.
fn pushed_root(registry: &TestRegistry) -> (String, String) {
    let tag = format!("{}/refresh/root:1", registry.host());
    docker(&["tag", ROOT_IMAGE, &tag], None);
    let digest = push(&tag);
    (tag, digest)
}

/// Pushes `image` and returns the digest the registry gave it.
fn push(image: &str) -> String {
    let out = docker(&["push", image], None);
    out.split_whitespace()
        .skip_while(|w| *w != "digest:")
        .nth(1)
        .unwrap_or_else(|| panic!("no digest in `docker push` output: {out}"))
        .to_owned()
}

struct Team {
    root: PathBuf,
    tool: PathBuf,
    _dir: tempfile::TempDir,
}

impl Team {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.tool)
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .env("BASE_IMAGES_CACHE_DIR", self.root.join("cache"))
            .env("NO_COLOR", "1")
            .env_remove("BASE_IMAGES_ADVISORIES")
            .env_remove("DAGGER_SESSION_PORT")
            .env_remove("DAGGER_SESSION_TOKEN")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        text(&out)
    }

    fn rebuild(&mut self) {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("team-images");
        self.tool = team::build(&self.root, &target, "refresh-tool")
            .unwrap_or_else(|out| panic!("cargo build: {}", text(&out)));
    }
}

/// A team crate with the family `refresh` rooted at `root`, which installs six 1.16.0.
fn team_with_root(root: &str) -> Team {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    team::create(&path, "refresh-tool");
    std::fs::write(
        path.join("src/lib.rs"),
        format!(
            "//! The refresh family.\nuse base_images::{{base_image, sanity_checks, Checks, Recipe}};\n\n\
             #[base_image(family = \"refresh\", version = \"1.0.0\", changelog = \"First.\")]\n\
             fn v1_0_0() -> Recipe {{\n    Recipe::from(\"{root}\")\n        \
                 .with_env_variable(\"PIP_BREAK_SYSTEM_PACKAGES\", \"1\")\n        \
                 .with_exec([\"pip\", \"install\", \"six==1.16.0\"])\n}}\n\n\
             #[sanity_checks(V1_0_0)]\n\
             fn v1_0_0_checks(checks: Checks) -> Checks {{\n    \
                 checks.command_succeeds(\"six-imports\", [\"python3\", \"-c\", \"import six\"])\n}}\n"
        ),
    )
    .unwrap();
    std::fs::write(path.join("versions.lock"), "format = 1\n").unwrap();
    let mut team = Team {
        root: path,
        tool: PathBuf::new(),
        _dir: dir,
    };
    team.rebuild();
    team
}

/// The fixtures' PyPI advisory for six, alone in a directory.
fn six_advisory(dir: &Path) -> String {
    let fixtures = base_images_tests::advisories::fixtures().join("osv");
    let only = dir.join("advisories");
    std::fs::create_dir_all(&only).unwrap();
    std::fs::copy(fixtures.join("PYSEC-E2E-0001.json"), only.join("PYSEC-E2E-0001.json")).unwrap();
    only.display().to_string()
}

#[test]
fn a_moved_root_is_found_refreshed_built_and_current_again() {
    if !engine_up() {
        return;
    }
    let registry = TestRegistry::on_free_port(None);
    let (tag, first) = pushed_root(&registry);
    let mut team = team_with_root(&format!("{tag}@{first}"));

    let built = team.ok(&["build", "refresh"]);
    assert!(built.contains("1 new version(s) locked"), "{built}");
    let out = team.ok(&["outdated", "--exit-code"]);
    assert!(
        out.contains(&format!("refresh:1.0.0  all       {tag}  current")),
        "{out}"
    );

    // The tag moves: another image under it.
    docker(
        &["build", "-q", "-t", &tag, "-"],
        Some(&format!("FROM {tag}@{first}\nLABEL moved=yes\n")),
    );
    let second = push(&tag);
    assert_ne!(first, second);
    let out = team.run(&["outdated"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let moved = format!("moved (pinned {first}, now {second})");
    assert!(text(&out).contains(&moved), "{}", text(&out));
    let out = team.run(&["outdated", "--exit-code"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("refresh:1.0.0 [all platforms] {tag}: {moved}")),
        "{}",
        text(&out)
    );

    // The patch release, rebased and with six upgraded to its fix.
    let advisories = six_advisory(&team.root);
    let out = team.ok(&["new", "refresh", "patch", "--refresh", "--advisories", &advisories]);
    let short = &second[..("sha256:".len() + 12)];
    let line = format!("Rebase on the root's new digest {short}; upgrade six to fix CVE-E2E-0006.");
    assert!(
        out.contains("added refresh:1.0.1 (parent 1.0.0)") && out.contains(&line),
        "{out}"
    );
    let source = std::fs::read_to_string(team.root.join("src/lib.rs")).unwrap();
    assert!(source.contains(&format!(".with_root(\"{tag}@{second}\")")), "{source}");
    assert!(
        source.contains(".with_exec([\"pip\", \"install\", \"six>=1.17.0\"])"),
        "{source}"
    );
    assert!(source.contains(&format!("changelog = \"{line}\"")), "{source}");

    team.rebuild();
    let built = team.ok(&["build", "refresh"]);
    assert!(
        built.contains("refresh:1.0.1 [linux/amd64]") && built.contains("1 new version(s) locked"),
        "{built}"
    );
    let changelog = std::fs::read_to_string(team.root.join("CHANGELOG.md")).unwrap();
    assert!(changelog.contains(&line), "{changelog}");
    let out = team.ok(&["outdated", "--exit-code"]);
    assert!(
        out.contains(&format!("refresh:1.0.1  all       {tag}  current")),
        "{out}"
    );
    let out = team.ok(&["audit", "refresh:1.0.1", "--advisories", &advisories]);
    assert!(out.contains("no finding") && out.contains("1 in PyPI"), "{out}");
    let out = team.run(&["audit", "refresh:1.0.0", "--advisories", &advisories]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the release before still has it: {}",
        text(&out)
    );

    // Nothing moved and nothing to fix: nothing to refresh.
    let out = team.run(&["new", "refresh", "patch", "--refresh", "--advisories", &advisories]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("nothing to refresh in refresh:1.0.1"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_registry_that_cannot_be_asked_is_named_and_the_other_roots_still_checked() {
    if !engine_up() {
        return;
    }
    let registry = TestRegistry::on_free_port(None);
    let (tag, first) = pushed_root(&registry);
    let gone = format!("{}/refresh/gone:1", registry.host());
    let dead = format!("127.0.0.1:{}/refresh/root:1", free_port());
    let digest = format!("sha256:{}", "0".repeat(64));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    team::create(root, "roots-tool");
    std::fs::write(
        root.join("src/lib.rs"),
        format!(
            "//! Three roots.\nuse base_images::{{base_image, Recipe}};\n\
             #[base_image(family = \"here\", version = \"1.0.0\", changelog = \"First.\")]\nfn v1_0_0() -> Recipe {{ Recipe::from(\"{tag}@{first}\") }}\n\
             pub mod gone {{ use base_images::{{base_image, Recipe}};\n\
             #[base_image(family = \"gone\", version = \"1.0.0\", changelog = \"First.\")]\nfn v1_0_0() -> Recipe {{ Recipe::from(\"{gone}@{digest}\") }} }}\n\
             pub mod dead {{ use base_images::{{base_image, Recipe}};\n\
             #[base_image(family = \"dead\", version = \"1.0.0\", changelog = \"First.\")]\nfn v1_0_0() -> Recipe {{ Recipe::from(\"{dead}@{digest}\") }} }}\n"
        ),
    )
    .unwrap();
    std::fs::write(root.join("versions.lock"), "format = 1\n").unwrap();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("team-images");
    let tool = team::build(root, &target, "roots-tool").unwrap_or_else(|out| panic!("cargo build: {}", text(&out)));
    let out = Command::new(&tool)
        .arg("--root")
        .arg(root)
        .args(["outdated", "here", "gone", "dead"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let output = text(&out);
    assert_eq!(out.status.code(), Some(1), "{output}");
    let here = output.lines().find(|l| l.starts_with("here:1.0.0")).unwrap_or_default();
    assert!(here.contains(&tag) && here.ends_with("  current"), "{output}");

    // `new --refresh` of a family whose root cannot be resolved writes nothing.
    let listed = Command::new(&tool)
        .arg("--root")
        .arg(root)
        .args(["list", "--json"])
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let recipe = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["image"] == "dead:1.0.0")
        .unwrap()["recipe"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(
        root.join("versions.lock"),
        format!("format = 1\n\n[[image]]\nname = \"dead:1.0.0\"\nrecipe = \"{recipe}\"\n"),
    )
    .unwrap();
    let source = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let out = Command::new(&tool)
        .arg("--root")
        .arg(root)
        .args(["new", "dead", "patch", "--refresh"])
        .env("NO_COLOR", "1")
        .env_remove("BASE_IMAGES_ADVISORIES")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("1 root(s) could not be resolved; nothing was written"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read_to_string(root.join("src/lib.rs")).unwrap(), source);
    assert!(output.contains(&format!("{gone}  tag gone")), "{output}");
    assert!(
        output.contains("1 root(s) could not be resolved")
            && output.contains("dead:1.0.0 [all platforms] 127.0.0.1:")
            && output.contains("cannot reach the registry"),
        "{output}"
    );
}
