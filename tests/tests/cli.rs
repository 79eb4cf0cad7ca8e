//! The build tool as users run it: the real binary (`e2e-build`, the tool
//! linked with the test families) on a temporary workspace, for every
//! command and its failure paths. Engine-backed cases follow the e2e rule:
//! with `BASE_IMAGES_E2E=1` a missing engine fails them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base_images::{Lock, Recipe};
use base_images_tests::platforms::{AMD64_DIGEST, INDEX_DIGEST, REPOSITORY};
use serde_json::json;
use sha2::{Digest as _, Sha256};
// Link the crate that declares the test families.
use base_images_tests as _;

mod tool;

use tool::{command, engine_up, interrupt, text, tool, workspace};

/// A workspace whose CHANGELOG.md says "before", to see that nothing is written.
fn seeded_workspace() -> tempfile::TempDir {
    let ws = workspace();
    std::fs::write(ws.path().join("CHANGELOG.md"), "before\n").unwrap();
    ws
}

/// Neither versions.lock nor CHANGELOG.md of a `seeded_workspace` changed.
fn assert_untouched(root: &Path) {
    assert_eq!(std::fs::read_to_string(root.join("CHANGELOG.md")).unwrap(), "before\n");
    assert_eq!(
        std::fs::read_to_string(root.join("versions.lock")).unwrap(),
        "format = 1\n"
    );
}

#[test]
fn build_passes_writes_the_files_and_reports() {
    if !engine_up() {
        return;
    }
    let ws = workspace();
    let (json, junit) = (ws.path().join("r.json"), ws.path().join("r.xml"));
    let out = tool(
        ws.path(),
        &[
            "build",
            "e2e-python",
            "--report",
            &format!("json={}", json.display()),
            "--report",
            &format!("junit={}", junit.display()),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("all 4 version(s) passed"), "{}", text(&out));
    let lock = Lock::read(&ws.path().join("versions.lock")).unwrap();
    assert_eq!(lock.entries().len(), 4);
    // The local root cannot be pinned by a registry digest: its id is recorded.
    let root = &lock.entries()[0].local_roots["linux/amd64"];
    assert!(root.starts_with("sha256:") && root.len() == 71, "{root}");
    let changelog = std::fs::read_to_string(ws.path().join("CHANGELOG.md")).unwrap();
    assert!(
        changelog
            .contains("| 2.0.0 | yes | `127.0.0.1:5000/base-images-e2e/python:2.0.0` | - | Run as the airbyte user. |"),
        "{changelog}"
    );
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["versions"].as_array().unwrap().len(), 4);
    assert!(std::fs::read_to_string(&junit)
        .unwrap()
        .contains("name=\"timezone-utc\""));

    // A second build is served from the caches.
    let again = tool(ws.path(), &["build", "e2e-python"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again)
            .contains("e2e-python:1.2.0 [linux/amd64] 18 check(s): 18 passed (18 cached), 0 failed, 0 step(s) built"),
        "{}",
        text(&again)
    );
}

#[test]
fn a_broken_check_exits_1_with_a_junit_failure_and_writes_nothing() {
    if !engine_up() {
        return;
    }
    let ws = seeded_workspace();
    let junit = ws.path().join("r.xml");
    let out = tool(
        ws.path(),
        &[
            "build",
            "e2e-broken:1.0.0",
            "--report",
            &format!("junit={}", junit.display()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("FAIL e2e-broken:1.0.0 [linux/amd64] check `fail-command` (`sh -c 'echo out; echo err >&2; exit 3'` succeeds)"), "{all}");
    assert!(
        all.contains("exit code: 3") && all.contains("stderr:\n      err"),
        "{all}"
    );
    assert!(
        all.contains("check `hangs`") && all.contains("timed out after 2 s"),
        "{all}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("name=\"fail-command\"") && xml.contains("<failure"),
        "{xml}"
    );
    assert_untouched(ws.path());
}

#[test]
fn unknown_selectors_and_keys_are_usage_errors() {
    let ws = workspace();
    let out = tool(ws.path(), &["build", "no-such-family"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("`no-such-family` selects nothing"),
        "{}",
        text(&out)
    );
    let out = tool(ws.path(), &["show", "e2e-python:9.9.9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("family `e2e-python` has versions 1.0.0, 1.1.0, 1.2.0, 2.0.0"),
        "{}",
        text(&out)
    );
    let out = tool(ws.path(), &["build", "--report", "xml=out.xml", "e2e-python"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("write json=PATH or junit=PATH"), "{}", text(&out));
}

#[test]
fn check_names_a_changed_released_version() {
    let ws = workspace();
    let other = format!("sha256:{}", "0".repeat(64));
    std::fs::write(
        ws.path().join("versions.lock"),
        format!("format = 1\n\n[[image]]\nname = \"e2e-python:1.0.0\"\nrecipe = \"{other}\"\n"),
    )
    .unwrap();
    let out = tool(ws.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("e2e-python:1.0.0 is released and must never change; declare a new version instead"),
        "{}",
        text(&out)
    );
}

#[test]
fn check_shows_a_diff_of_a_stale_changelog_and_changelog_fixes_it() {
    let ws = workspace();
    std::fs::write(ws.path().join("CHANGELOG.md"), "# Changelog\n\nold text\n").unwrap();
    let out = tool(ws.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("-old text") && text(&out).contains("+## e2e-python"),
        "{}",
        text(&out)
    );
    assert!(tool(ws.path(), &["changelog"]).status.success());
    assert!(tool(ws.path(), &["check"]).status.success());
}

#[test]
fn list_show_and_dockerfile() {
    let ws = workspace();
    let out = tool(ws.path(), &["list", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &list
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["image"] == "e2e-python:1.1.0")
        .unwrap();
    assert_eq!(first["parent"], "e2e-python:1.0.0");
    assert_eq!(first["released"], false);
    let expected = base_images::get("e2e-python:1.1.0").unwrap().recipe().unwrap().digest();
    assert_eq!(first["recipe"], expected.as_str());

    let out = tool(ws.path(), &["show", "e2e-python:1.2.0"]);
    let shown = text(&out);
    assert!(shown.contains("lineage:   1.0.0 -> 1.1.0 -> 1.2.0"), "{shown}");
    assert!(
        shown.contains("[e2e-python:1.2.0]") && shown.contains("[own, overriding e2e-python:1.0.0]"),
        "{shown}"
    );
    assert!(shown.contains("[inherited from e2e-python:1.1.0]"), "{shown}");

    let out = tool(
        ws.path(),
        &["dockerfile", "test-multi:1.0.0", "--platform", "linux/arm64"],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout)
        .starts_with("FROM --platform=linux/arm64 debian:bookworm-slim@sha256:3333"));
}

#[test]
fn a_second_run_in_the_same_workspace_is_refused_while_the_first_holds_it() {
    let ws = workspace();
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(ws.path().join(".base-images-build.lock"))
        .unwrap();
    held.try_lock().unwrap();
    let out = tool(ws.path(), &["changelog"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("another base-images-build"), "{}", text(&out));
    assert!(!ws.path().join("CHANGELOG.md").exists());
    drop(held);
    assert!(tool(ws.path(), &["changelog"]).status.success());
}

/// The tests that build e2e-broken 1.1.0 (its minute-long step): one at a
/// time, so each interrupts its own step (BuildKit may share one step
/// between two builds of it).
static MINUTE_STEP: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn ctrl_c_during_a_build_leaves_the_files_and_removes_the_containers() {
    let _turn = MINUTE_STEP.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !engine_up() {
        return;
    }
    let ws = seeded_workspace();
    // The step's process (`sleep 60`, in the engine's BuildKit: a process of
    // this machine, not a container) is told by being new: not one of those
    // that ran before this build started.
    let before = processes_running(b"sleep\x0060\x00");
    let child = spawn(ws.path(), &["build", "e2e-broken:1.1.0"]);
    let pid = child.id();
    let step = wait_for("the build's step to start", || {
        processes_running(b"sleep\x0060\x00")
            .into_iter()
            .find(|p| !before.contains(p))
    });
    interrupted(child);
    assert!(!running_containers_of(pid), "the run's containers were removed");
    wait_for("the interrupted step to stop", || {
        (!processes_running(b"sleep\x0060\x00").contains(&step)).then_some(())
    });
    assert_untouched(ws.path());
}

#[test]
fn ctrl_c_while_checks_run_removes_the_check_containers_and_leaves_the_files() {
    if !engine_up() {
        return;
    }
    let ws = seeded_workspace();
    let child = spawn(ws.path(), &["build", "e2e-broken:1.0.0"]);
    let pid = child.id();
    // The `hangs` check runs `sleep 600` in a container of this run: wait
    // until that process is in one of the run's containers.
    wait_for("the run's hanging check to start", || {
        let containers = containers_of(pid);
        processes_running(b"sleep\x00600\x00")
            .into_iter()
            .find(|p| in_one_of(*p, &containers))
    });
    interrupted(child);
    assert!(containers_of(pid).is_empty(), "the run's check containers were removed");
    assert_untouched(ws.path());
}

#[test]
fn a_build_and_a_publish_of_one_workspace_refuse_each_other() {
    let _turn = MINUTE_STEP.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !engine_up() {
        return;
    }
    let ws = seeded_workspace();
    let refused = |out: std::process::Output| {
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains("another base-images-build"), "{}", text(&out));
    };
    // A build holds the workspace while its minute-long step runs.
    let building = spawn(ws.path(), &["build", "e2e-broken:1.1.0"]);
    wait_for("the build to claim the workspace", || {
        claimed_by(ws.path(), building.id()).then_some(())
    });
    refused(tool(ws.path(), &["publish", "e2e-python", "--dry-run"]));
    interrupted(building);

    // A publish holds it while its registry (stopped) does not answer.
    let built = tool(ws.path(), &["build", "e2e-python:1.0.0"]);
    assert!(built.status.success(), "{}", text(&built));
    let registry = base_images_tests::oci_registry::TestRegistry::on_free_port(None);
    registry.pause();
    let publishing = spawn(
        ws.path(),
        &["publish", "e2e-python:1.0.0", "--registry-override", &registry.host()],
    );
    wait_for("the publish to claim the workspace", || {
        claimed_by(ws.path(), publishing.id()).then_some(())
    });
    refused(tool(ws.path(), &["build", "e2e-python:1.0.0"]));
    registry.resume();
    let published = publishing.wait_with_output().unwrap();
    assert!(published.status.success(), "{}", text(&published));
}

/// Whether process `pid` holds the claim on the workspace at `root` (its
/// lock file's flock, as `/proc/locks` lists it: read, never taken, so
/// the look cannot stop the tool from claiming).
fn claimed_by(root: &Path, pid: u32) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(inode) = std::fs::metadata(root.join(".base-images-build.lock")).map(|m| m.ino()) else {
        return false;
    };
    std::fs::read_to_string("/proc/locks").unwrap().lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(1) == Some(&"FLOCK")
            && fields.get(4) == Some(&pid.to_string().as_str())
            && fields
                .get(5)
                .is_some_and(|id| id.rsplit(':').next() == Some(inode.to_string().as_str()))
    })
}

/// The tool on `root` with `args`, started, its output captured.
fn spawn(root: &Path, args: &[&str]) -> std::process::Child {
    command(root, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends Ctrl-C to `child`; it must end as interrupted (exit 130, saying so).
fn interrupted(child: std::process::Child) {
    interrupt(child.id());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(
        text(&out).contains(&base_images::Error::Interrupted.to_string()),
        "{}",
        text(&out)
    );
}

/// Waits (60 s at most, failing the test with `what`) until `found` gives a value.
fn wait_for<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(Instant::now() < deadline, "waited 60 s for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The PIDs of the processes of this machine whose command line is
/// `cmdline` (its arguments, each ended by NUL).
fn processes_running(cmdline: &[u8]) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|p| p.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == cmdline))
        .collect()
}

/// Whether process `pid` runs in one of `containers` (its cgroup names the
/// container's id).
fn in_one_of(pid: u32, containers: &[String]) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .is_ok_and(|cgroup| containers.iter().any(|id| cgroup.contains(id.as_str())))
}

/// The full ids of the containers labelled with a run of process `pid`.
fn containers_of(pid: u32) -> Vec<String> {
    let out = Command::new("/usr/bin/docker")
        .args([
            "ps",
            "-a",
            "--no-trunc",
            "--filter",
            "label=org.base-images.run",
            "--format",
            "{{.ID}} {{.Label \"org.base-images.run\"}}",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(_, run)| run.starts_with(&format!("{pid}-")))
        .map(|(id, _)| id.to_owned())
        .collect()
}

/// Whether containers labelled with a run of process `pid` exist.
fn running_containers_of(pid: u32) -> bool {
    !containers_of(pid).is_empty()
}

#[test]
fn without_a_cache_directory_build_refuses_rather_than_use_a_shared_one() {
    if !engine_up() {
        return;
    }
    let ws = workspace();
    let out = command(ws.path(), &["build", "e2e-python:1.0.0"])
        .env_remove("BASE_IMAGES_CACHE_DIR")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("HOME")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("no cache directory: none of BASE_IMAGES_CACHE_DIR, XDG_CACHE_HOME or HOME is set"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("ok   e2e-python"), "nothing built: {}", text(&out));
    assert_eq!(
        std::fs::read_to_string(ws.path().join("versions.lock")).unwrap(),
        "format = 1\n"
    );
}

#[test]
fn new_appends_a_skeleton_for_every_bump_kind_that_compiles() {
    // A team's own crate: families in its lib, the tool in a three-line bin.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    base_images_tests::team::create(root, "tool");
    // One file per family, as a catalog has them.
    let mut modules = String::new();
    let mut lock = String::from("format = 1\n");
    let pin = "a".repeat(64);
    let digest = Recipe::from(format!("debian:bookworm@sha256:{pin}")).digest();
    for (family, version) in [
        ("patch", "1.0.0"),
        ("minor", "1.0.0"),
        ("major", "1.0.0"),
        ("pre", "1.0.0"),
        ("rc", "2.0.0-rc.1"),
        ("release", "2.0.0-rc.1"),
    ] {
        let name = format!("v{}", version.replace(['.', '-'], "_"));
        modules.push_str(&format!("pub mod {family};\n"));
        std::fs::write(
            root.join(format!("src/{family}.rs")),
            format!(
                "use base_images::{{base_image, Recipe}};\n\n#[base_image(family = \"{family}\", version = \"{version}\", changelog = \"First.\")]\nfn {name}() -> Recipe {{\n    Recipe::from(\"debian:bookworm@sha256:{pin}\")\n}}\n"
            ),
        )
        .unwrap();
        lock.push_str(&format!(
            "\n[[image]]\nname = \"{family}:{version}\"\nrecipe = \"{digest}\"\n"
        ));
    }
    std::fs::write(root.join("src/lib.rs"), modules).unwrap();
    std::fs::write(root.join("versions.lock"), lock).unwrap();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("team-images");
    let cargo = || {
        base_images_tests::team::build(root, &target, "tool")
            .unwrap_or_else(|out| panic!("cargo build: {}", text(&out)))
    };
    let tool_path = cargo();
    // A source file shared with the group keeps its mode when `new` edits it.
    let shared = root.join("src/patch.rs");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o664)).unwrap();
    for (family, bump, expected) in [
        ("patch", "patch", "1.0.1"),
        ("minor", "minor", "1.1.0"),
        ("major", "major", "2.0.0"),
        ("pre", "prerelease", "1.0.1-rc.1"),
        ("rc", "prerelease", "2.0.0-rc.2"),
        ("release", "release", "2.0.0"),
    ] {
        let out = Command::new(&tool_path)
            .args(["--root"])
            .arg(root)
            .args(["new", family, bump, "--changelog", "Next."])
            .output()
            .unwrap();
        assert!(out.status.success(), "new {family} {bump}: {}", text(&out));
        assert!(
            text(&out).contains(&format!("added {family}:{expected}")),
            "{}",
            text(&out)
        );
    }
    assert!(std::fs::read_to_string(&shared).unwrap().contains("1.0.1"));
    assert_eq!(
        std::fs::metadata(&shared).unwrap().permissions().mode() & 0o7777,
        0o664,
        "`new` kept the mode of the file it edited"
    );
    // The generated code compiles, and the tool sees the new versions.
    cargo();
    let out = Command::new(&tool_path)
        .arg("--root")
        .arg(root)
        .args(["list"])
        .output()
        .unwrap();
    let listed = text(&out);
    for key in [
        "patch:1.0.1",
        "minor:1.1.0",
        "major:2.0.0",
        "pre:1.0.1-rc.1",
        "rc:2.0.0-rc.2",
        "release:2.0.0",
    ] {
        assert!(listed.contains(key), "{key} in {listed}");
    }
    // Now the next `new` refuses: the version just added is not released yet.
    let refused = Command::new(&tool_path)
        .arg("--root")
        .arg(root)
        .args(["new", "patch", "patch"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused).contains("patch:1.0.1 is not released yet"),
        "{}",
        text(&refused)
    );
}

#[test]
fn a_catalog_version_runs_on_the_local_root_with_a_root_override() {
    if !engine_up() {
        return;
    }
    let ws = seeded_workspace();
    let json = ws.path().join("r.json");
    let from = base_images::catalog::python::ROOT_3_9_18_SLIM;
    let out = tool(
        ws.path(),
        &[
            "build",
            "airbyte-python-connector-base:1.1.0",
            "--platform",
            "linux/amd64",
            "--root-override",
            &format!("{from}={}", base_images_tests::e2e::ROOT),
            "--report",
            &format!("json={}", json.display()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("a smoke test, not a release"), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let checks = report["versions"][0]["checks"].as_array().unwrap();
    let with = |status: &str| -> Vec<&str> {
        checks
            .iter()
            .filter(|c| c["status"] == status)
            .map(|c| c["id"].as_str().unwrap())
            .collect()
    };
    // What differs between Docker Hub's python:3.9.18-slim and Debian's own
    // Python: the `python` command and the image's Python env vars.
    assert_eq!(
        with("failed"),
        ["python-version", "env-python-version", "env-gpg-key"],
        "{report:#}"
    );
    assert_eq!(
        with("passed"),
        [
            "timezone-utc",
            "bash-version",
            "pip-version",
            "env-home",
            "env-path",
            "env-lang",
            "poetry-version",
            "socat-present",
            "socat-version"
        ]
    );
    assert_untouched(ws.path());

    // For linux/arm64 too: the local root is an amd64 image, said plainly,
    // and left where it is (never untagged to make room for a pull).
    let out = tool(
        ws.path(),
        &[
            "build",
            "airbyte-python-connector-base:1.1.0",
            "--root-override",
            &format!("{from}={}", base_images_tests::e2e::ROOT),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "the root {} here is an image for linux/amd64, not linux/arm64",
            base_images_tests::e2e::ROOT
        )),
        "{}",
        text(&out)
    );
    docker(&["image", "inspect", base_images_tests::e2e::ROOT]);
    assert_untouched(ws.path());

    let out = tool(
        ws.path(),
        &[
            "build",
            "airbyte-python-connector-base:1.1.0",
            "--root-override",
            "nothing:1=debian:12",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("no selected version has the root nothing:1"),
        "{}",
        text(&out)
    );
}

/// Whether the project's local registry answers (the tests' one gate).
fn registry_up() -> bool {
    base_images_tests::gate::local_registry_up()
}

fn docker(args: &[&str]) {
    let out = Command::new("/usr/bin/docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", text(&out));
}

#[test]
fn the_release_policy_refuses_an_unpinned_registry_root_and_names_the_pin() {
    if !engine_up() || !registry_up() {
        return;
    }
    let address = base_images_tests::unpinned::REGISTRY_ROOT;
    docker(&["tag", base_images_tests::e2e::ROOT, address]);
    docker(&["push", address]);
    docker(&["rmi", address]);
    let ws = seeded_workspace();
    let out = tool(ws.path(), &["build", "e2e-unpinned"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("the release policy refuses 1 version(s); nothing was built"),
        "{all}"
    );
    assert!(
        all.contains(&format!("e2e-unpinned:1.0.0: its root {address} is not pinned by digest; a released version must pin its roots: write {address}@sha256:")),
        "{all}"
    );
    assert_untouched(ws.path());
}

#[test]
fn a_released_version_whose_local_root_changed_is_refused() {
    if !engine_up() {
        return;
    }
    let ws = seeded_workspace();
    let digest = base_images::get("e2e-python:1.0.0").unwrap().recipe().unwrap().digest();
    let lock = format!(
        "format = 1\n\n[[image]]\nname = \"e2e-python:1.0.0\"\nrecipe = \"{digest}\"\n\n[image.local_roots]\n\"linux/amd64\" = \"sha256:{}\"\n",
        "0".repeat(64)
    );
    std::fs::write(ws.path().join("versions.lock"), &lock).unwrap();
    let out = tool(ws.path(), &["build", "e2e-python:1.0.0"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "e2e-python:1.0.0 is released on the local root {} = sha256:000",
            base_images_tests::e2e::ROOT
        )),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("but that image is now sha256:"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(ws.path().join("versions.lock")).unwrap(), lock);
}

#[test]
fn check_refuses_a_released_version_with_an_unpinned_root() {
    let ws = workspace();
    let digest = base_images::get("e2e-python:1.0.0").unwrap().recipe().unwrap().digest();
    std::fs::write(
        ws.path().join("versions.lock"),
        format!("format = 1\n\n[[image]]\nname = \"e2e-python:1.0.0\"\nrecipe = \"{digest}\"\n"),
    )
    .unwrap();
    let out = tool(ws.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "e2e-python:1.0.0 is released, but its root {} is not pinned by digest",
            base_images_tests::e2e::ROOT
        )),
        "{}",
        text(&out)
    );
}

// The synthetic images of the `platforms` test families, pushed to the local registry.

const REGISTRY: &str = "http://127.0.0.1:5000";

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// A one-file layer, uncompressed, with fixed metadata.
fn layer() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(3);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder.append_data(&mut header, "hello", &b"hi\n"[..]).unwrap();
    builder.into_inner().unwrap()
}

/// The synthetic images' bytes.
struct Synthetic {
    /// The layer and the configs.
    blobs: Vec<Vec<u8>>,
    /// Each architecture's manifest.
    manifests: Vec<(String, Vec<u8>)>,
    /// The two-platform index.
    index: Vec<u8>,
}

/// The blobs and manifests of the synthetic images.
fn images() -> Synthetic {
    let layer = layer();
    let mut blobs = vec![layer.clone()];
    let mut manifests = Vec::new();
    for arch in ["amd64", "arm64"] {
        let config = serde_json::to_vec(&json!({
            "architecture": arch,
            "os": "linux",
            "config": { "Env": ["PATH=/usr/bin:/bin"] },
            "rootfs": { "type": "layers", "diff_ids": [digest(&layer)] },
        }))
        .unwrap();
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(&config), "size": config.len() },
            "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(&layer), "size": layer.len() }],
        }))
        .unwrap();
        blobs.push(config);
        manifests.push((arch.to_owned(), manifest));
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests.iter().map(|(arch, m)| json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest(m),
            "size": m.len(),
            "platform": { "architecture": arch, "os": "linux" },
        })).collect::<Vec<_>>(),
    }))
    .unwrap();
    Synthetic {
        blobs,
        manifests,
        index,
    }
}

fn curl(args: &[&str], body: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body");
    std::fs::write(&file, body).unwrap();
    let out = Command::new("curl")
        .args(["-fsS", "--max-time", "20"])
        .args(args)
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn push() {
    let name = REPOSITORY.trim_start_matches("127.0.0.1:5000/");
    let Synthetic {
        blobs,
        manifests,
        index,
    } = images();
    for blob in &blobs {
        // Start an upload, then finish it with the blob and its digest.
        let started = Command::new("curl")
            .args(["-fsS", "--max-time", "20", "-X", "POST", "-D", "-", "-o", "/dev/null"])
            .arg(format!("{REGISTRY}/v2/{name}/blobs/uploads/"))
            .output()
            .unwrap();
        let headers = String::from_utf8_lossy(&started.stdout).into_owned();
        let location = headers
            .lines()
            .find_map(|l| l.strip_prefix("Location: ").or_else(|| l.strip_prefix("location: ")))
            .unwrap_or_else(|| panic!("no upload location in {headers}"))
            .trim()
            .to_owned();
        let separator = if location.contains('?') { '&' } else { '?' };
        let target = format!("{location}{separator}digest={}", digest(blob));
        curl(
            &["-X", "PUT", "-H", "Content-Type: application/octet-stream", &target],
            blob,
        );
    }

    for (arch, manifest) in &manifests {
        curl(
            &[
                "-X",
                "PUT",
                "-H",
                "Content-Type: application/vnd.oci.image.manifest.v1+json",
                &format!("{REGISTRY}/v2/{name}/manifests/{arch}"),
            ],
            manifest,
        );
    }
    curl(
        &[
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/vnd.oci.image.index.v1+json",
            &format!("{REGISTRY}/v2/{name}/manifests/index"),
        ],
        &index,
    );
}

#[test]
fn the_pinned_digests_are_those_of_the_synthetic_images() {
    let Synthetic { manifests, index, .. } = images();
    assert_eq!(digest(&index), INDEX_DIGEST);
    assert_eq!(digest(&manifests[0].1), AMD64_DIGEST);
}

#[test]
fn a_two_platform_family_must_pin_an_index_not_one_platforms_manifest() {
    if !engine_up() || !registry_up() {
        return;
    }
    push();
    let ws = seeded_workspace();
    let out = tool(ws.path(), &["build", "e2e-single"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains(&format!(
            "e2e-single:1.0.0: its root {REPOSITORY}:amd64@{AMD64_DIGEST} is a single-platform manifest, but the family builds for linux/amd64, linux/arm64"
        )),
        "{all}"
    );
    assert!(
        all.contains("the mistake of airbyte-python-connector-base 1.2.1"),
        "{all}"
    );
    assert_untouched(ws.path());

    let out = tool(ws.path(), &["build", "e2e-index"]);
    assert!(out.status.success(), "{}", text(&out));
    let lock = Lock::read(&ws.path().join("versions.lock")).unwrap();
    assert!(
        lock.get(&"e2e-index:1.0.0".parse().unwrap())
            .is_some_and(|e| e.local_roots.is_empty()),
        "pinned, so no local root is recorded"
    );
}

#[test]
fn a_tcp_docker_host_reaches_the_engine_through_tls_with_a_client_certificate() {
    if !engine_up() {
        return;
    }
    let private = "the engine is not the project's private one, which scripts/engine.sh run starts";
    let (Some(tcp), Some(certs)) = (
        base_images_tests::gate::var("BASE_IMAGES_ENGINE_TCP", private),
        base_images_tests::gate::var("BASE_IMAGES_ENGINE_CERT_PATH", private),
    ) else {
        return;
    };
    let ws = tool::workspace();
    let build = |tls: Option<&Path>| {
        let mut command = tool::command(ws.path(), &["build", "e2e-python:1.0.0"]);
        command.env("DOCKER_HOST", &tcp);
        if let Some(certs) = tls {
            command.env("DOCKER_TLS_VERIFY", "1").env("DOCKER_CERT_PATH", certs);
        }
        let out = command.output().unwrap();
        (out.status.code(), text(&out))
    };
    // As the docker CLI connects: TLS, the engine's CA, the client certificate.
    let (code, output) = build(Some(Path::new(&certs)));
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains(&format!("engine: docker at {tcp}")), "{output}");

    // No unauthenticated API on the port: plain HTTP is refused...
    let (code, output) = build(None);
    assert_eq!(code, Some(2), "{output}");
    assert!(
        output.contains(&format!("no container engine answers at {tcp}: ")) && output.contains("HTTPS server"),
        "{output}"
    );
    // ... and so is TLS without a client certificate the engine's CA signed.
    let ca_only = ws.path().join("ca-only");
    std::fs::create_dir(&ca_only).unwrap();
    std::fs::copy(Path::new(&certs).join("ca.pem"), ca_only.join("ca.pem")).unwrap();
    let (code, output) = build(Some(&ca_only));
    assert_eq!(code, Some(2), "{output}");
    assert!(
        output.contains(&format!("no container engine answers at {tcp}: ")) && output.contains("fatal alert"),
        "{output}"
    );

    // TLS asked for, as the docker CLI reads it, without certificates.
    let no_certs = ws.path().join("no-certs");
    let (code, output) = build(Some(&no_certs));
    assert_eq!(code, Some(2), "{output}");
    assert!(
        output.contains(&format!("no container engine answers at {tcp}: ")),
        "{output}"
    );
    assert!(
        output.contains(&no_certs.join("ca.pem").display().to_string()),
        "{output}"
    );
}

#[test]
fn a_platform_the_family_does_not_declare_is_refused() {
    let ws = tool::workspace();
    let out = tool(
        ws.path(),
        &[
            "dockerfile",
            "airbyte-python-connector-base:1.0.0",
            "--platform",
            "linux/s390x",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(
            "--platform linux/s390x: airbyte-python-connector-base:1.0.0 is built for linux/amd64, linux/arm64 only"
        ),
        "{}",
        text(&out)
    );
    let out = tool(ws.path(), &["build", "e2e-python:1.0.0", "--platform", "linux/arm64"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("--platform linux/arm64: not a platform of e2e-python:1.0.0 (linux/amd64)"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join("versions.lock")).unwrap(),
        "format = 1\n"
    );
}

/// A loopback TCP port that forwards to the engine's unix socket and, when
/// the tool first connects, runs `writer` before forwarding anything: the
/// moment between a run's start and its claim of the workspace.
fn engine_proxy(writer: impl FnOnce() + Send + 'static) -> String {
    let socket = std::env::var("DOCKER_HOST").unwrap();
    let socket = socket.trim_start_matches("unix://").to_owned();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut writer = Some(writer);
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            if let Some(write) = writer.take() {
                write();
            }
            let Ok(engine) = std::os::unix::net::UnixStream::connect(&socket) else {
                return;
            };
            let (mut client_in, mut engine_out) = (client.try_clone().unwrap(), engine.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut client_in, &mut engine_out));
            let (mut engine_in, mut client_out) = (engine, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut engine_in, &mut client_out);
                let _ = client_out.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    format!("tcp://{address}")
}

#[test]
fn a_lock_written_while_a_build_connects_is_kept() {
    if !engine_up() {
        return;
    }
    let ws = workspace();
    let first = tool(ws.path(), &["build", "e2e-python:1.0.0"]);
    assert!(first.status.success(), "{}", text(&first));
    // Another run records 1.0.0 as published just as this build connects.
    let path = ws.path().join("versions.lock");
    let key: base_images::ImageKey = "e2e-python:1.0.0".parse().unwrap();
    let (lock_path, writer_key) = (path.clone(), key.clone());
    let proxy = engine_proxy(move || {
        let lock = Lock::read(&lock_path).unwrap();
        let published = base_images::lock::Published {
            index: format!("sha256:{}", "e".repeat(64)),
            created: "2024-01-01T00:00:00Z".into(),
            revision: None,
            source: None,
            repositories: vec!["127.0.0.1:1/elsewhere".into()],
            layers: None,
            compressor: Default::default(),
        };
        lock.with_published(&writer_key, &published)
            .unwrap()
            .write(&lock_path)
            .unwrap();
    });
    let out = command(ws.path(), &["build", "e2e-python:1.1.0"])
        .env("DOCKER_HOST", &proxy)
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let lock = Lock::read(&path).unwrap();
    assert!(
        lock.get(&"e2e-python:1.1.0".parse().unwrap()).is_some(),
        "the build is recorded"
    );
    let kept = lock
        .get(&key)
        .and_then(|e| e.published.as_ref())
        .map(|p| p.index.clone());
    assert_eq!(
        kept,
        Some(format!("sha256:{}", "e".repeat(64))),
        "the other run's record is not undone"
    );
}
