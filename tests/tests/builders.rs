//! Builders per platform: e2e-dual built with linux/amd64 on the engine
//! the tests run on and linux/arm64 on a second private engine of this
//! machine, each named by the workspace file or `--builder`; every image
//! is built and checked where its platform is routed, the default engine
//! is not needed when every platform has a builder, and a builder that
//! does not answer stops the run, named, before anything is built.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod tool;

use base_images::Lock;
use base_images_tests::builder::{architecture_on, first_engine, image_id_on, SecondEngine};
use base_images_tests::dual::ROOT_ARM64;
use tool::{command, engine_up, text, tool, workspace};

/// The line of `said` about `version` on `platform`.
fn line_of<'a>(said: &'a str, version: &str, platform: &str) -> &'a str {
    let start = format!("ok   e2e-dual:{version} [{platform}]");
    said.lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("no line `{start}`: {said}"))
}

#[test]
fn each_platform_is_built_and_checked_on_its_own_builder() {
    if !engine_up() {
        return;
    }
    // The arm64 builder resolves its own root: the local one, loaded there.
    let Some(second) = SecondEngine::with_roots(&[ROOT_ARM64]) else {
        return;
    };
    let first = first_engine();
    let ws = workspace();
    let settings = format!(
        "[builders.arm]\nendpoint = \"{}\"\nplatforms = [\"linux/arm64\"]\n",
        second.host()
    );
    std::fs::write(ws.path().join("base-images.toml"), settings).unwrap();
    let report = ws.path().join("r.json");
    let amd64 = format!("linux/amd64={first}");
    let json = format!("json={}", report.display());
    // No default engine: every platform has its builder.
    let out = command(
        ws.path(),
        &["build", "e2e-dual", "--builder", &amd64, "--report", &json],
    )
    .env("DOCKER_HOST", "unix:///nonexistent/no-default-engine.sock")
    .output()
    .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    for version in ["1.0.0", "1.1.0"] {
        let line = line_of(&said, version, "linux/amd64");
        assert!(line.contains(&format!("on docker at {first}")), "{line}");
        let line = line_of(&said, version, "linux/arm64");
        assert!(line.contains(&format!("on docker at {}", second.host())), "{line}");
    }

    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let versions = report["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 4, "{report}");
    for version in versions {
        let id = version["image_id"].as_str().unwrap();
        let (here, there, arch) = match version["platform"].as_str().unwrap() {
            "linux/arm64" => (second.host().to_owned(), first.clone(), "arm64"),
            _ => (first.clone(), second.host().to_owned(), "amd64"),
        };
        assert_eq!(version["engine"], format!("docker at {here}"), "{version}");
        assert_eq!(architecture_on(&here, id).as_deref(), Some(arch), "{id} is on {here}");
        assert_eq!(architecture_on(&there, id), None, "{id} was not built on {there}");
        assert!(version["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "passed"));
    }

    let lock = Lock::read(&ws.path().join("versions.lock")).unwrap();
    let entry = lock.get(&"e2e-dual:1.1.0".parse().unwrap()).unwrap();
    assert_eq!(
        entry.local_roots.get("linux/arm64"),
        Some(&image_id_on(second.host(), ROOT_ARM64)),
        "the arm64 root is the arm64 builder's"
    );
    assert!(ws.path().join("CHANGELOG.md").exists());
}

#[test]
fn a_builder_that_does_not_answer_is_named_before_anything_is_built() {
    if !engine_up() {
        return;
    }
    let ws = workspace();
    let dead = format!("unix://{}", ws.path().join("dead.sock").display());
    let out = tool(
        ws.path(),
        &["build", "e2e-dual", "--builder", &format!("linux/arm64={dead}")],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("builder --builder linux/arm64 for linux/arm64 does not answer; nothing was built")
            && said.contains(&dead),
        "{said}"
    );
    assert!(
        !said.contains("ok   ") && !said.contains("FAIL"),
        "nothing was built: {said}"
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join("versions.lock")).unwrap(),
        "format = 1\n"
    );

    // A builder of a platform the run does not build is never connected.
    let settings = format!("[builders.arm]\nendpoint = \"{dead}\"\nplatforms = [\"linux/arm64\"]\n");
    std::fs::write(ws.path().join("base-images.toml"), settings).unwrap();
    let out = tool(ws.path(), &["build", "e2e-dual", "--platform", "linux/amd64"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("ok   e2e-dual:1.1.0 [linux/amd64]"), "{said}");
    let out = tool(ws.path(), &["build", "e2e-dual"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("builder arm for linux/arm64 does not answer"), "{said}");

    // A workspace file that does not parse is refused, named.
    std::fs::write(ws.path().join("base-images.toml"), "[builders.arm]\nendpoint = 7\n").unwrap();
    let out = tool(ws.path(), &["build", "e2e-dual"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("base-images.toml"), "{said}");
}

#[test]
fn publish_exports_and_scans_each_platform_on_its_own_builder() {
    if !engine_up() {
        return;
    }
    let Some(second) = SecondEngine::with_roots(&[ROOT_ARM64]) else {
        return;
    };
    let ws = workspace();
    let arm64 = format!("linux/arm64={}", second.host());
    let out = tool(ws.path(), &["build", "e2e-dual", "--builder", &arm64]);
    assert!(out.status.success(), "{}", text(&out));
    let registry = base_images_tests::oci_registry::TestRegistry::on_free_port(None);
    let report = ws.path().join("p.json");
    let json = format!("json={}", report.display());
    // A fresh layer store (the workspace's cache): every layer is exported
    // from the engine that built it, every SBOM read there; the arm64
    // images exist on the second engine only.
    let host = registry.host();
    let args = [
        "publish",
        "e2e-dual",
        "--builder",
        &arm64,
        "--registry-override",
        &host,
        "--report",
        &json,
    ];
    let out = tool(ws.path(), &args);
    let said = text(&out);
    assert!(out.status.success(), "{said}\n{}", registry.log());
    assert!(
        said.contains("2 version(s) pushed, 0 copied, 0 already published; 4 SBOM(s) attached"),
        "{said}"
    );
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    for version in report["versions"].as_array().unwrap() {
        let id = version["image_id"].as_str().unwrap();
        if version["platform"] == "linux/arm64" {
            assert_eq!(version["engine"], format!("docker at {}", second.host()), "{version}");
            assert_eq!(
                architecture_on(&first_engine(), id),
                None,
                "{id} is on the arm64 builder only"
            );
        }
    }
}
