//! `publish` end to end: the two-platform e2e family built and checked on
//! the Docker engine (arm64 under qemu-user-static), then pushed to a real
//! registry (Debian's `docker-registry`, one per test on its own loopback
//! port, started and ended by the test). An independent reader (`skopeo`)
//! and the engine's own `docker pull` read back what was pushed, and the
//! version's whole check set runs on the pulled images. Faults: a registry
//! that is down, one stopped mid-push, Ctrl-C mid-push, a tag that points
//! elsewhere (resolved with every manifest media type: Debian's registry
//! answers 404 for an OCI index otherwise), wrong credentials. The tests
//! run one at a time (they share the engine and the layer store).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

mod tool;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};

use base_images::engine::builders::Builders;
use base_images::engine::docker::DockerEngine;
use base_images::engine::pipeline::check_built;
use std::collections::BTreeMap;

use base_images::engine::BuiltImage;
use base_images::publish::layers::LayerStore;
use base_images::publish::remote::Remote;
use base_images::publish::{
    prepare, push, Event, Observer, Provenance, Publication, PushOptions, RegistryAuth, Target,
};
use base_images::Lock;
use base_images_tests::dual::{ROOT_AMD64, ROOT_ARM64};
use base_images_tests::oci_registry::TestRegistry;
use tool::{command, engine_up, interrupt, text, workspace};

static SERIAL: Mutex<()> = Mutex::new(());

const REPOSITORY: &str = "base-images-e2e/dual";

/// The cache every publish test shares (check results, compressed layers).
fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("publish-cache")
}

/// This test's turn and a workspace where e2e-dual 1.0.0 and 1.1.0 were
/// just released on both platforms; `None` without an engine.
fn released() -> Option<(MutexGuard<'static, ()>, tempfile::TempDir)> {
    let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    if !engine_up() {
        return None;
    }
    let ws = workspace();
    let out = publish_command(ws.path(), &["build", "e2e-dual"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    Some((serial, ws))
}

/// The tool on `root` with the shared cache.
fn publish_command(root: &Path, args: &[&str]) -> Command {
    let mut command = command(root, args);
    command.env("BASE_IMAGES_CACHE_DIR", shared_cache());
    command
}

/// `publish e2e-dual --registry-override HOST` plus `extra`.
fn publish(root: &Path, host: &str, extra: &[&str]) -> Output {
    let mut args = vec!["publish", "e2e-dual", "--registry-override", host];
    args.extend_from_slice(extra);
    publish_command(root, &args).output().unwrap()
}

fn lock_of(root: &Path) -> String {
    std::fs::read_to_string(root.join("versions.lock")).unwrap()
}

fn published_index(root: &Path, version: &str) -> String {
    let lock = Lock::parse(&lock_of(root), Path::new("versions.lock")).unwrap();
    let entry = lock.get(&format!("e2e-dual:{version}").parse().unwrap()).unwrap();
    entry.published.as_ref().expect("recorded as published").index.clone()
}

/// What `host` answers for `REPOSITORY:reference` when asked with `accept`
/// (as `user:password`, if given): (status, Docker-Content-Digest).
fn head_manifest(host: &str, reference: &str, accept: &[&str], user: Option<&str>) -> (u16, Option<String>) {
    let mut args = vec![
        "-s".to_owned(),
        "-o".into(),
        "/dev/null".into(),
        "-D".into(),
        "-".into(),
        "-I".into(),
    ];
    if let Some(user) = user {
        args.extend(["-u".into(), user.to_owned()]);
    }
    for media_type in accept {
        args.push("-H".into());
        args.push(format!("Accept: {media_type}"));
    }
    args.push(format!("http://{host}/v2/{REPOSITORY}/manifests/{reference}"));
    let out = Command::new("curl").args(&args).output().unwrap();
    let headers = String::from_utf8_lossy(&out.stdout).to_string();
    let status = headers
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let digest = headers.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("docker-content-digest")
            .then(|| value.trim().to_owned())
    });
    (status, digest)
}

/// The digest `host` serves for `REPOSITORY:tag`, asking for every type.
fn tag_digest(host: &str, tag: &str) -> Option<String> {
    tag_digest_as(host, tag, None)
}

/// `tag_digest` as `user:password`.
fn tag_digest_as(host: &str, tag: &str, user: Option<&str>) -> Option<String> {
    let (status, digest) = head_manifest(host, tag, &base_images::publish::oci::MANIFEST_MEDIA_TYPES, user);
    match status {
        200 => digest,
        404 => None,
        other => panic!("{host} answered {other} for {REPOSITORY}:{tag}"),
    }
}

/// `skopeo inspect --raw` (or `--config --raw`) of `reference` on `host`.
fn skopeo(host: &str, reference: &str, config: bool) -> serde_json::Value {
    serde_json::from_slice(&skopeo_raw(host, reference, config)).unwrap()
}

/// The exact bytes of the manifest `reference` on `host`.
fn raw(host: &str, reference: &str) -> Vec<u8> {
    skopeo_raw(host, reference, false)
}

fn skopeo_raw(host: &str, reference: &str, config: bool) -> Vec<u8> {
    let separator = if reference.starts_with("sha256:") { "@" } else { ":" };
    let mut args = vec!["inspect", "--tls-verify=false", "--raw"];
    if config {
        args.insert(2, "--config");
    }
    let address = format!("docker://{host}/{REPOSITORY}{separator}{reference}");
    args.push(&address);
    let out = Command::new("skopeo").args(&args).output().unwrap();
    assert!(out.status.success(), "skopeo {args:?}: {}", text(&out));
    out.stdout
}

/// The bytes of the blob `digest` of `REPOSITORY` on `host`.
fn blob(host: &str, digest: &str) -> Vec<u8> {
    let url = format!("http://{host}/v2/{REPOSITORY}/blobs/{digest}");
    let out = Command::new("curl").args(["-sf", &url]).output().unwrap();
    assert!(out.status.success(), "{url}: {}", text(&out));
    out.stdout
}

/// The SBOM attached to the platform manifest `manifest`, found through
/// the referrers tag schema (Debian's registry has no referrers API): its
/// artifact manifest and the SPDX document.
fn attached_sbom(host: &str, manifest: &str) -> (serde_json::Value, serde_json::Value) {
    let referrers = skopeo(host, &manifest.replace(':', "-"), false);
    let listed = referrers["manifests"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "one referrer: {referrers}");
    assert_eq!(listed[0]["artifactType"], "application/spdx+json", "{referrers}");
    let artifact = skopeo(host, listed[0]["digest"].as_str().unwrap(), false);
    assert_eq!(artifact["subject"]["digest"], manifest, "{artifact}");
    assert_eq!(artifact["artifactType"], "application/spdx+json", "{artifact}");
    let sbom = blob(host, artifact["layers"][0]["digest"].as_str().unwrap());
    (artifact, serde_json::from_slice(&sbom).unwrap())
}

/// The digest of the `arch` manifest an image index (as JSON) lists.
fn manifest_of(index: &serde_json::Value, arch: &str) -> String {
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == arch)
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `DELETE` of the manifest `REPOSITORY@digest` (and every tag on it).
fn delete_manifest(host: &str, digest: &str) {
    let url = format!("http://{host}/v2/{REPOSITORY}/manifests/{digest}");
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", &url])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "202", "DELETE {url}");
}

fn docker(args: &[&str]) -> Output {
    let out = Command::new("/usr/bin/docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", text(&out));
    out
}

#[test]
fn publish_round_trip_then_republish_then_a_conflicting_tag_is_refused() {
    let Some((_serial, ws)) = released() else { return };
    let registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let report = ws.path().join("publish.json");
    let report_arg = format!("json={}", report.display());
    let junit = ws.path().join("publish.xml");
    let junit_arg = format!("junit={}", junit.display());
    // A dry run of what is not yet published pushes nothing and writes nothing.
    let (lock_before, changelog_before) = (lock_of(ws.path()), std::fs::read(ws.path().join("CHANGELOG.md")).ok());
    let dry = publish(ws.path(), &host, &["--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(
        text(&dry).contains("dry run: 2 version(s) to push, 0 to copy, 0 already published"),
        "{}",
        text(&dry)
    );
    assert_eq!(catalog(&host), Vec::<String>::new(), "the dry run pushed nothing");
    assert!(
        !registry.storage().join("docker").exists(),
        "no blob was uploaded either"
    );
    assert_eq!(lock_of(ws.path()), lock_before, "versions.lock unchanged");
    assert_eq!(std::fs::read(ws.path().join("CHANGELOG.md")).ok(), changelog_before);

    let out = publish(ws.path(), &host, &["--report", &report_arg, "--report", &junit_arg]);
    let output = text(&out);
    assert!(out.status.success(), "{output}\n{}", registry.log());
    assert!(
        output.contains("2 version(s) pushed, 0 copied, 0 already published; 4 SBOM(s) attached"),
        "{output}"
    );
    assert!(output.contains("uploading"), "progress names each blob: {output}");

    let lock_after = lock_of(ws.path());
    let changelog_after = std::fs::read_to_string(ws.path().join("CHANGELOG.md")).unwrap();
    for version in ["1.0.0", "1.1.0"] {
        let index = published_index(ws.path(), version);
        assert_eq!(tag_digest(&host, version).as_deref(), Some(index.as_str()), "{version}");
        assert!(
            changelog_after.contains(&format!("`{host}/{REPOSITORY}@{index}`")),
            "the Published column names {index}: {changelog_after}"
        );
    }
    let listed = publish_command(ws.path(), &["list", "--json"]).output().unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["image"] == "e2e-dual:1.1.0")
        .unwrap();
    assert_eq!(
        entry["published"]["index"].as_str(),
        Some(published_index(ws.path(), "1.1.0").as_str())
    );
    assert_eq!(entry["published"]["repositories"][0], format!("{host}/{REPOSITORY}"));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["published"][0]["result"], "pushed", "{json}");
    assert_eq!(json["published"].as_array().map(Vec::len), Some(2), "{json}");
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(
        junit.contains("<testsuite name=\"publish\"") && junit.contains("name=\"e2e-dual:1.1.0\""),
        "{junit}"
    );

    // An independent reader: an index of exactly the family's platforms.
    let index = skopeo(&host, "1.1.0", false);
    assert_eq!(index["mediaType"], "application/vnd.oci.image.index.v1+json", "{index}");
    let notes = &index["annotations"];
    assert_eq!(notes["org.opencontainers.image.version"], "1.1.0", "{index}");
    assert_eq!(notes["org.opencontainers.image.title"], "e2e-dual", "{index}");
    assert_eq!(
        notes["org.opencontainers.image.description"],
        "Add the airbyte user (uid 1000)."
    );
    let lock = Lock::parse(&lock_after, Path::new("versions.lock")).unwrap();
    let entry = lock.get(&"e2e-dual:1.1.0".parse().unwrap()).unwrap();
    assert_eq!(
        notes["org.opencontainers.image.created"].as_str(),
        entry.released.as_deref(),
        "created is the release time the lock records, not the wall clock"
    );
    let manifests = index["manifests"].as_array().unwrap();
    let mut platforms: Vec<String> = manifests
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    for child in manifests {
        let digest = child["digest"].as_str().unwrap();
        let arch = child["platform"]["architecture"].as_str().unwrap();
        let manifest = skopeo(&host, digest, false);
        let root = if arch == "amd64" { ROOT_AMD64 } else { ROOT_ARM64 };
        assert_eq!(
            manifest["annotations"]["org.opencontainers.image.base.name"], root,
            "{manifest}"
        );
        assert_eq!(
            manifest["annotations"]["org.opencontainers.image.base.digest"].as_str(),
            entry.local_roots.get(&format!("linux/{arch}")).map(String::as_str),
            "a local root is named by the image id the lock records"
        );
        // Its SBOM: found through the tag schema, about this very manifest.
        let (artifact, sbom) = attached_sbom(&host, digest);
        assert_eq!(
            artifact["annotations"]["org.opencontainers.image.created"].as_str(),
            entry.released.as_deref()
        );
        assert_eq!(sbom["name"], format!("e2e-dual:1.1.0 [linux/{arch}]"), "{sbom}");
        assert_eq!(sbom["creationInfo"]["created"].as_str(), entry.released.as_deref());
        let sbom_packages = sbom["packages"].as_array().unwrap();
        let image = &sbom_packages[0];
        assert_eq!(
            format!("sha256:{}", image["checksums"][0]["checksumValue"].as_str().unwrap()),
            digest,
            "the described element is the platform manifest"
        );
        let purl = image["externalRefs"][0]["referenceLocator"].as_str().unwrap();
        assert!(
            purl.starts_with(&format!(
                "pkg:oci/dual@{digest}?arch={arch}&repository_url={host}/{REPOSITORY}"
            )),
            "{purl}"
        );
        assert!(
            sbom_packages.iter().any(|p| p["externalRefs"][0]["referenceLocator"]
                .as_str()
                .is_some_and(|l| l.starts_with("pkg:deb/debian/libc6@") && l.contains(&format!("arch={arch}")))),
            "{arch}'s own libc6: {sbom}"
        );
        let root_package = &sbom_packages[1];
        assert_eq!(root_package["name"], root, "{sbom}");
        assert_eq!(
            root_package["versionInfo"].as_str(),
            entry.local_roots.get(&format!("linux/{arch}")).map(String::as_str)
        );
        let config = skopeo(&host, digest, true);
        assert_eq!(config["architecture"], arch, "{config}");
        assert_eq!(config["os"], "linux", "{config}");
        assert_eq!(config["config"]["User"], "airbyte", "{config}");
        assert!(
            config["config"]["Labels"].get("org.base-images.run").is_none(),
            "no run label: {config}"
        );
        let blobs = manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .chain(std::iter::once(&manifest["config"]));
        for blob in blobs {
            let url = format!(
                "http://{host}/v2/{REPOSITORY}/blobs/{}",
                blob["digest"].as_str().unwrap()
            );
            let status = Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-I", "-w", "%{http_code}", &url])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&status.stdout), "200", "{url}");
        }
    }

    // What users pull passes the checks, on each platform.
    let index_digest = published_index(ws.path(), "1.1.0");
    let pulled = format!("{host}/{REPOSITORY}@{index_digest}");
    let image = base_images::get("e2e-dual:1.1.0").unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for platform in ["linux/amd64", "linux/arm64"] {
        docker(&["pull", "-q", "--platform", platform, &pulled]);
        let inspect = docker(&[
            "image",
            "inspect",
            "--format",
            "{{.Id}} {{.Os}}/{{.Architecture}}",
            &pulled,
        ]);
        let inspect = String::from_utf8_lossy(&inspect.stdout).trim().to_owned();
        let (id, pulled_platform) = inspect.split_once(' ').unwrap();
        assert_eq!(pulled_platform, platform);
        let reports = runtime.block_on(async {
            let engine = DockerEngine::connect().await.unwrap();
            let built = BuiltImage {
                id: id.to_owned(),
                steps_built: 0,
                steps_cached: 0,
            };
            let mut cache = base_images::checks::ResultCache::disabled();
            check_built(&engine, image, platform, &built, &mut cache).await.unwrap()
        });
        assert_eq!(reports.len(), 7, "the whole check set of 1.1.0");
        for report in &reports {
            assert!(report.status.is_pass(), "{platform}: {report:?}");
        }
        docker(&["image", "rm", "-f", &pulled]);
    }

    // Publishing again: the same digests, skipped, nothing rewritten.
    let again = publish(ws.path(), &host, &[]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("already published as"), "{}", text(&again));
    assert!(
        text(&again).contains("0 version(s) pushed, 0 copied, 2 already published; 0 SBOM(s) attached"),
        "{}",
        text(&again)
    );
    assert_eq!(lock_of(ws.path()), lock_after, "versions.lock unchanged");

    // A lost SBOM (its referrers index deleted) is attached again; the
    // image and its tag are not touched.
    let tag_before = tag_digest(&host, "1.1.0");
    let arm = manifests
        .iter()
        .find(|m| m["platform"]["architecture"] == "arm64")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let referrers = tag_digest(&host, &arm.replace(':', "-")).unwrap();
    delete_manifest(&host, &referrers);
    assert_eq!(tag_digest(&host, &arm.replace(':', "-")), None, "the SBOM is gone");
    let mended = publish(ws.path(), &host, &[]);
    assert!(
        text(&mended).contains("0 version(s) pushed, 0 copied, 2 already published; 1 SBOM(s) attached"),
        "{}",
        text(&mended)
    );
    assert!(text(&mended).contains("sbom [linux/arm64]"), "{}", text(&mended));
    let (artifact, _) = attached_sbom(&host, &arm);
    assert_eq!(artifact["subject"]["digest"], arm.as_str());
    assert_eq!(tag_digest(&host, "1.1.0"), tag_before, "the tag is untouched");
    assert_eq!(lock_of(ws.path()), lock_after, "versions.lock unchanged");
    let dry = publish(ws.path(), &host, &["--dry-run"]);
    assert!(
        text(&dry).contains("dry run: 0 version(s) to push, 0 to copy, 2 already published"),
        "{}",
        text(&dry)
    );

    // The trap: asked without the OCI index type, this registry says 404 —
    // a check that trusted it would overwrite the tag.
    let (status, _) = head_manifest(
        &host,
        "1.0.0",
        &[
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
        ],
        None,
    );
    assert_eq!(
        status, 404,
        "Debian's registry hides an OCI index from a Docker-only Accept"
    );
    // Another created time makes another index: the published version is
    // what its tag holds, so it is skipped, its SBOMs left alone, and the
    // differing rebuild is named.
    let before = tag_digest(&host, "1.0.0").unwrap();
    let rebuilt = publish_command(ws.path(), &["publish", "e2e-dual:1.0.0", "--registry-override", &host])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    let said = text(&rebuilt);
    assert_eq!(rebuilt.status.code(), Some(0), "{said}");
    assert!(
        said.contains("this build prepares sha256:") && said.contains(&format!("not the published {before}")),
        "{said}"
    );
    // A tag moved to other content is never overwritten.
    put_index(&host, "1.0.0", &raw(&host, "1.1.0"));
    let moved = tag_digest(&host, "1.0.0").unwrap();
    let conflict = publish_command(ws.path(), &["publish", "e2e-dual:1.0.0", "--registry-override", &host])
        .output()
        .unwrap();
    let said = text(&conflict);
    assert_eq!(conflict.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "{host}/{REPOSITORY}:1.0.0 already points at {moved}, but this release is {before}"
        )),
        "{said}"
    );
    // versions.lock and the registry decide it: nothing is built first.
    assert!(!said.contains("version(s) to check"), "{said}");
    assert_eq!(tag_digest(&host, "1.0.0"), Some(moved), "the tag is unchanged");
    assert_eq!(lock_of(ws.path()), lock_after, "versions.lock unchanged");
}

#[test]
fn a_registry_that_is_down_is_named_and_nothing_is_written() {
    let Some((_serial, ws)) = released() else { return };
    let lock_before = lock_of(ws.path());
    let down = format!("127.0.0.1:{}", base_images_tests::oci_registry::free_port());
    let out = publish(ws.path(), &down, &[]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("cannot reach the registry at {down}")) && said.contains("nothing answers there"),
        "{said}"
    );
    assert_eq!(lock_of(ws.path()), lock_before);
}

#[test]
fn a_tag_already_holding_other_content_is_refused_before_the_version_is_pushed() {
    let Some((_serial, ws)) = released() else { return };
    let registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let first = publish_command(ws.path(), &["publish", "e2e-dual:1.1.0", "--registry-override", &host])
        .output()
        .unwrap();
    assert!(first.status.success(), "{}", text(&first));
    // 1.0.0 is released, not published, and its tag was taken meanwhile
    // (versions.lock knows nothing of it: only the registry can tell).
    put_index(&host, "1.0.0", &raw(&host, "1.1.0"));
    let taken = tag_digest(&host, "1.0.0").unwrap();
    let lock_before = lock_of(ws.path());
    for extra in [&["--dry-run"][..], &[]] {
        let mut args = vec!["publish", "e2e-dual:1.0.0", "--registry-override", &host];
        args.extend_from_slice(extra);
        let out = publish_command(ws.path(), &args).output().unwrap();
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{said}");
        let refusal = format!("{host}/{REPOSITORY}:1.0.0 already points at {taken}, but this release is ");
        let ours = said
            .split(&refusal)
            .nth(1)
            .and_then(|rest| rest.get(..71))
            .unwrap_or_else(|| panic!("{said}"));
        let (status, _) = head_manifest(&host, ours, &["application/vnd.oci.image.index.v1+json"], None);
        assert_eq!(status, 404, "{ours} was never pushed ({extra:?}): {said}");
    }
    assert_eq!(tag_digest(&host, "1.0.0"), Some(taken), "the tag is unchanged");
    assert_eq!(lock_of(ws.path()), lock_before, "versions.lock unchanged");
}

/// Runs `command` with a JSON report written in `dir`; its output and the
/// report.
fn with_json_report(mut command: Command, dir: &Path) -> (Output, serde_json::Value) {
    let report = dir.join(format!("report-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&report);
    let out = command
        .arg("--report")
        .arg(format!("json={}", report.display()))
        .output()
        .unwrap();
    let json = std::fs::read(&report)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_else(|| panic!("no JSON report: {}", text(&out)));
    (out, json)
}

/// The layer digests of each platform manifest of `REPOSITORY:tag` on `host`.
fn layers_of(host: &str, tag: &str) -> Vec<Vec<String>> {
    let index = skopeo(host, tag, false);
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let manifest: serde_json::Value =
                serde_json::from_slice(&raw(host, entry["digest"].as_str().unwrap())).unwrap();
            manifest["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|layer| layer["digest"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn a_version_rebuilt_from_nothing_is_published_elsewhere_with_the_same_digests() {
    // The step cache holds e2e-dual now (built there or before). A release
    // made in a later second takes its steps from it: their times are older
    // than its release time, as on a runner whose engine kept its cache.
    let Some((_serial, _warm)) = released() else { return };
    let seconds = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let cached_by = seconds();
    while seconds() <= cached_by {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let ws = workspace();
    let (out, json) = with_json_report(publish_command(ws.path(), &["build", "e2e-dual:1.0.0"]), ws.path());
    assert!(out.status.success(), "{}", text(&out));
    for version in json["versions"].as_array().unwrap() {
        assert_eq!(
            version["steps_cached"], 3,
            "the release's steps come from the cache: {json}"
        );
    }
    let mut first = TestRegistry::on_free_port(None);
    let second = TestRegistry::on_free_port(None);
    // Each publish compresses into a layer store of its own, empty.
    let (cache_a, cache_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = publish_command(
        ws.path(),
        &["publish", "e2e-dual:1.0.0", "--registry-override", &first.host()],
    )
    .env("BASE_IMAGES_CACHE_DIR", cache_a.path())
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let index = published_index(ws.path(), "1.0.0");
    let layers = layers_of(&first.host(), "1.0.0");
    // With the recorded registry gone there is nothing to copy from: the
    // version is built again, every step anew, and must come out the same.
    first.stop();
    let mut rebuild = publish_command(
        ws.path(),
        &[
            "publish",
            "e2e-dual:1.0.0",
            "--registry-override",
            &second.host(),
            "--rebuild",
        ],
    );
    rebuild.env("BASE_IMAGES_CACHE_DIR", cache_b.path());
    let (out, json) = with_json_report(rebuild, ws.path());
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("1 version(s) pushed, 0 copied, 0 already published"),
        "{said}"
    );
    let versions = json["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{json}");
    for version in versions {
        assert_eq!(version["steps_cached"], 0, "nothing came from a cache: {json}");
        assert_eq!(version["steps_built"], 3, "{json}");
    }
    assert_eq!(layers_of(&second.host(), "1.0.0"), layers);
    assert_eq!(tag_digest(&second.host(), "1.0.0"), Some(index));
}

/// A loopback stand-in for an HTTP proxy: it keeps the first line of each
/// request it is sent (the request line, or `CONNECT host:port` for a
/// tunnel) and refuses every one with a 403.
fn recording_proxy() -> (String, std::sync::Arc<Mutex<Vec<String>>>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while head.len() < 65_536 && !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let first = String::from_utf8_lossy(&head)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            kept.lock().unwrap().push(first);
            let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, seen)
}

#[test]
fn a_registry_that_is_not_loopback_is_only_ever_spoken_to_over_https() {
    let Some((_serial, ws)) = released() else { return };
    let (proxy, seen) = recording_proxy();
    let lock_before = lock_of(ws.path());
    // Every request to the registry goes through the proxy, which shows
    // how it was sent: a tunnel for HTTPS, a plain request for HTTP.
    let host = "registry.invalid:5000";
    let mut command = publish_command(ws.path(), &["publish", "e2e-dual:1.0.0", "--registry-override", host]);
    for variable in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env(variable, &proxy);
    }
    for variable in ["NO_PROXY", "no_proxy"] {
        command.env(variable, "127.0.0.1,localhost");
    }
    let out = command.output().unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("{host} is not a loopback address: it is reached over HTTPS")),
        "{said}"
    );
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the registry was never asked: {said}");
    for line in &seen {
        assert!(
            line.starts_with(&format!("CONNECT {host} ")),
            "not a tunnel: {line:?} ({said})"
        );
    }
    assert_eq!(lock_of(ws.path()), lock_before);
}

#[test]
fn of_two_versions_only_the_one_whose_tag_was_pushed_is_recorded_and_a_rerun_converges() {
    let Some((_serial, ws)) = released() else { return };
    let mut registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let mut child = publish_command(ws.path(), &["publish", "e2e-dual", "--registry-override", &host])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The registry goes down once 1.0.0's tag is pushed, before 1.1.0's.
    let mut seen = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.trim() == "manifest 1.0.0: pushed" {
            registry.stop();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{seen}");
    assert!(seen.contains("manifest 1.0.0: pushed"), "{seen}");
    let lock = Lock::parse(&lock_of(ws.path()), Path::new("versions.lock")).unwrap();
    let published = |version: &str| {
        lock.get(&format!("e2e-dual:{version}").parse().unwrap())
            .and_then(|entry| entry.published.clone())
    };
    assert!(
        published("1.0.0").is_some(),
        "1.0.0's tag was pushed, so it is recorded"
    );
    assert_eq!(published("1.1.0"), None, "1.1.0 never reached its tag: {seen}");

    registry.restart();
    let first = published_index(ws.path(), "1.0.0");
    let rerun = publish(ws.path(), &host, &[]);
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert!(
        text(&rerun).contains("1 version(s) pushed, 0 copied, 1 already published"),
        "{}",
        text(&rerun)
    );
    assert_eq!(published_index(ws.path(), "1.0.0"), first);
    for version in ["1.0.0", "1.1.0"] {
        assert_eq!(tag_digest(&host, version), Some(published_index(ws.path(), version)));
    }
}

/// Runs `publish` to `registry` and, once the first platform's manifest is
/// pushed (some blobs are in, the index and the tag are not), calls
/// `interrupt` with the tool's PID; returns the tool's exit code and output.
fn publish_interrupted(root: &Path, host: &str, interrupt: impl FnOnce(u32)) -> (Option<i32>, String) {
    let mut child = publish_command(root, &["publish", "e2e-dual:1.0.0", "--registry-override", host])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    let mut interrupt = Some(interrupt);
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("manifest sha256:") && line.ends_with("pushed") {
            if let Some(interrupt) = interrupt.take() {
                interrupt(child.id());
            }
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        interrupt.is_none(),
        "the push never reached its first manifest:\n{seen}"
    );
    (
        out.status.code(),
        format!("{seen}{}", String::from_utf8_lossy(&out.stdout)),
    )
}

/// After an interrupted publish of 1.0.0 to `host`: versions.lock is as it
/// was, the tag does not exist, and publishing again succeeds with the tag
/// at the recorded index.
fn converges(root: &Path, host: &str, lock_before: &str) {
    assert_eq!(lock_of(root), lock_before, "versions.lock unchanged");
    assert_eq!(
        tag_digest(host, "1.0.0"),
        None,
        "the tag never points at a partial index"
    );
    let rerun = publish(root, host, &[]);
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert_eq!(tag_digest(host, "1.0.0"), Some(published_index(root, "1.0.0")));
}

#[test]
fn a_registry_stopped_mid_push_leaves_no_tag_and_a_rerun_converges() {
    let Some((_serial, ws)) = released() else { return };
    let mut registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let lock_before = lock_of(ws.path());
    let registry_ref = std::cell::RefCell::new(&mut registry);
    let (code, said) = publish_interrupted(ws.path(), &host, |_| registry_ref.borrow_mut().stop());
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains(&format!("registry at {host}")), "{said}");
    registry.restart();
    converges(ws.path(), &host, &lock_before);
}

#[test]
fn ctrl_c_mid_push_leaves_no_tag_and_a_rerun_converges() {
    let Some((_serial, ws)) = released() else { return };
    let registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let lock_before = lock_of(ws.path());
    let (code, said) = publish_interrupted(ws.path(), &host, interrupt);
    assert_eq!(code, Some(130), "{said}");
    assert!(said.contains(&base_images::Error::Interrupted.to_string()), "{said}");
    converges(ws.path(), &host, &lock_before);
}

#[test]
fn wrong_credentials_get_a_clear_401_and_no_secret_is_printed() {
    let Some((_serial, ws)) = released() else { return };
    let registry = TestRegistry::on_free_port(Some(("pusher", "right-secret-4711")));
    let host = registry.host();
    let lock_before = lock_of(ws.path());
    // Wrong credentials in `auths`.
    let wrong = registry.dir().join("wrong");
    std::fs::create_dir_all(&wrong).unwrap();
    // base64("pusher:wrong-secret-0815")
    std::fs::write(
        wrong.join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"cHVzaGVyOndyb25nLXNlY3JldC0wODE1"}}}}}}"#),
    )
    .unwrap();
    // At -vv (trace): no secret in what it says.
    let out = publish_command(ws.path(), &["-vv", "publish", "e2e-dual", "--registry-override", &host])
        .env("DOCKER_CONFIG", &wrong)
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("401 unauthorized") && said.contains(&format!("docker login {host}")),
        "{said}"
    );
    assert!(said.contains("user pusher"), "says whose credentials: {said}");
    assert!(
        !said.contains("wrong-secret") && !said.contains("cHVzaGVyOndyb25nLXNlY3JldC0wODE1"),
        "no secret in the output: {said}"
    );
    assert_eq!(lock_of(ws.path()), lock_before);

    // The right ones from a credential helper (`credHelpers`), with every
    // target traced (RUST_LOG=trace) and both reports written: no secret in
    // any of them.
    let helped = registry.dir().join("helped");
    std::fs::create_dir_all(&helped).unwrap();
    std::fs::write(
        helped.join("config.json"),
        format!(r#"{{"credHelpers":{{"{host}":"bitest"}}}}"#),
    )
    .unwrap();
    let helper = helped.join("docker-credential-bitest");
    std::fs::write(
        &helper,
        "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"pusher\",\"Secret\":\"right-secret-4711\"}' \"$server\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", helped.display(), std::env::var("PATH").unwrap_or_default());
    let reports = reports_in(&helped);
    let args = with_reports(&["publish", "e2e-dual", "--registry-override", &host], &reports);
    let out = publish_command(ws.path(), &args.iter().map(String::as_str).collect::<Vec<_>>())
        .env("DOCKER_CONFIG", &helped)
        .env("PATH", path)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}\n{}", registry.log());
    // base64("pusher:right-secret-4711"), as basic auth sends it.
    assert_no_secret(&said, &reports, &["right-secret", "cHVzaGVyOnJpZ2h0LXNlY3JldC00NzEx"]);
    assert_eq!(
        tag_digest_as(&host, "1.0.0", Some("pusher:right-secret-4711")),
        Some(published_index(ws.path(), "1.0.0"))
    );
}

/// A JSON and a JUnit report's paths in `dir`.
fn reports_in(dir: &Path) -> [PathBuf; 2] {
    [dir.join("report.json"), dir.join("report.xml")]
}

/// `args` with `--report json=…` and `--report junit=…` for `reports`.
fn with_reports(args: &[&str], reports: &[PathBuf; 2]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    for (kind, path) in ["json", "junit"].iter().zip(reports) {
        all.extend(["--report".to_owned(), format!("{kind}={}", path.display())]);
    }
    all
}

/// None of `secrets` is in the run's output (`said`) or in its reports,
/// which were written.
fn assert_no_secret(said: &str, reports: &[PathBuf; 2], secrets: &[&str]) {
    for secret in secrets {
        assert!(!said.contains(secret), "{secret} in the output: {said}");
        for report in reports {
            let written = std::fs::read_to_string(report).unwrap_or_else(|e| panic!("{}: {e}", report.display()));
            assert!(!written.contains(secret), "{secret} in {}: {written}", report.display());
        }
    }
}

/// The engine image id of each platform of `key`, built in `root`.
fn built_images(root: &Path, key: &str) -> Vec<(String, String)> {
    let report = root.join("built.json");
    let built = publish_command(root, &["build", key, "--report", &format!("json={}", report.display())])
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    json["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["platform"].as_str().unwrap().to_owned(),
                v["image_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_version_published_before_reproducible_layers_keeps_its_index_and_gains_its_sboms() {
    let Some((_serial, ws)) = released() else { return };
    let registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let image = base_images::get("e2e-dual:1.1.0").unwrap();
    let built = built_images(ws.path(), "e2e-dual:1.1.0");
    let lock = Lock::parse(&lock_of(ws.path()), Path::new("versions.lock")).unwrap();
    let released = lock.get(&image.key()).unwrap().released.clone().unwrap();
    let target = Target {
        registry: host.clone(),
        repository: REPOSITORY.into(),
        tag: "1.1.0".into(),
    };
    // What an earlier release of the tool published: layers as the engine
    // has them, no SBOM.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let index = runtime.block_on(async {
        let engine = Builders::one(DockerEngine::connect().await.unwrap());
        let store = LayerStore::new(shared_cache().join("layers"));
        let provenance = Provenance {
            created: released.clone(),
            revision: None,
            source: None,
        };
        let publication = Publication {
            target: &target,
            provenance: &provenance,
            local_roots: &lock.get(&image.key()).unwrap().local_roots,
            fetched: &BTreeMap::new(),
            layers: None,
            compressor: base_images::lock::Compressor::default(),
        };
        let prepared = prepare(&engine, image, &built, publication, &store).await.unwrap();
        let remote = Remote::new(&host, RegistryAuth::Anonymous, "no credentials");
        let options = PushOptions {
            mount_from: &[],
            store: &store,
            signer: None,
        };
        let quiet: Observer = std::sync::Arc::new(|_| {});
        // `prepare` makes no SBOM (`add_sboms` does): none is attached.
        push(&engine, &remote, &target, &prepared, options, &quiet)
            .await
            .unwrap();
        for (platform_image, _) in &prepared.images {
            let referrers = platform_image.manifest.digest.replace(':', "-");
            assert_eq!(tag_digest(&host, &referrers), None, "no SBOM yet");
        }
        // The library's own last guard: another index (reproducible
        // layers) pushed to the tag is refused, whoever calls it.
        let rewritten = Publication {
            target: &target,
            provenance: &provenance,
            local_roots: &lock.get(&image.key()).unwrap().local_roots,
            fetched: &BTreeMap::new(),
            layers: Some(base_images::lock::LayerRule::NEW),
            compressor: base_images::lock::Compressor::NEW,
        };
        let other = prepare(&engine, image, &built, rewritten, &store).await.unwrap();
        assert_ne!(other.index.digest, prepared.index.digest);
        let options = PushOptions {
            mount_from: &[],
            store: &store,
            signer: None,
        };
        let refused = push(&engine, &remote, &target, &other, options, &quiet)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains(&format!(
                "{host}/{REPOSITORY}:1.1.0 already points at {}, but this release is {}",
                prepared.index.digest, other.index.digest
            )),
            "{refused}"
        );
        assert_eq!(tag_digest(&host, "1.1.0"), Some(prepared.index.digest.clone()));
        prepared.index.digest
    });
    let recorded = base_images::lock::Published {
        index: index.clone(),
        created: released,
        revision: None,
        source: None,
        repositories: vec![format!("{host}/{REPOSITORY}")],
        layers: None,
        compressor: base_images::lock::Compressor::default(),
    };
    lock.with_published(&image.key(), &recorded)
        .unwrap()
        .write(&ws.path().join("versions.lock"))
        .unwrap();
    let lock_before = lock_of(ws.path());

    let out = publish_command(ws.path(), &["publish", "e2e-dual:1.1.0", "--registry-override", &host])
        .output()
        .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("0 version(s) pushed, 0 copied, 1 already published; 2 SBOM(s) attached"),
        "the same index as before, now with its SBOMs: {said}"
    );
    assert_eq!(tag_digest(&host, "1.1.0"), Some(index.clone()), "the tag is untouched");
    assert_eq!(lock_of(ws.path()), lock_before, "versions.lock unchanged");
    let listed = skopeo(&host, "1.1.0", false);
    for manifest in listed["manifests"].as_array().unwrap() {
        attached_sbom(&host, manifest["digest"].as_str().unwrap());
    }
}

#[test]
fn a_blob_another_repository_of_the_registry_has_is_mounted_not_uploaded() {
    let Some((_serial, ws)) = released() else { return };
    let registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let out = publish(ws.path(), &host, &[]);
    assert!(out.status.success(), "{}", text(&out));
    // The same version to another repository of that registry, through the
    // library: every layer comes from the first repository.
    let built = built_images(ws.path(), "e2e-dual:1.1.0");
    let image = base_images::get("e2e-dual:1.1.0").unwrap();
    let events = std::sync::Arc::new(Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&events);
    let observer: Observer = std::sync::Arc::new(move |event| seen.lock().unwrap().push(event));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = Builders::one(DockerEngine::connect().await.unwrap());
        let store = LayerStore::new(shared_cache().join("layers"));
        // The release's time, as the publish above used: the same epoch
        // for the step layers, so the same layer blobs.
        let lock = Lock::parse(&lock_of(ws.path()), Path::new("versions.lock")).unwrap();
        let released = lock.get(&image.key()).unwrap().released.clone().unwrap();
        let provenance = Provenance {
            created: released,
            revision: None,
            source: None,
        };
        let target = Target {
            registry: host.clone(),
            repository: "mirror/dual".into(),
            tag: "1.1.0".into(),
        };
        let publication = Publication {
            target: &target,
            provenance: &provenance,
            local_roots: &BTreeMap::new(),
            fetched: &BTreeMap::new(),
            layers: Some(base_images::lock::LayerRule::NEW),
            compressor: base_images::lock::Compressor::NEW,
        };
        let prepared = prepare(&engine, image, &built, publication, &store).await.unwrap();
        // The SBOM's packages come from the layers as the store holds them
        // (verified by this process, scanned on the way): the same as a
        // scan of the image's whole file system in the engine finds.
        for (platform_image, id) in &prepared.images {
            let engine = engine.on(&platform_image.platform);
            let whole = engine.inventory(id).await.unwrap();
            assert_eq!(
                platform_image.scanned.as_ref(),
                Some(&whole),
                "{}",
                platform_image.platform
            );
            assert!(whole.packages.len() > 80, "{:?}", whole.packages);
        }
        let remote = Remote::new(&host, RegistryAuth::Anonymous, "no credentials");
        let options = PushOptions {
            mount_from: &[REPOSITORY.to_owned()],
            store: &store,
            signer: None,
        };
        push(&engine, &remote, &target, &prepared, options, &observer)
            .await
            .unwrap();
    });
    let events = events.lock().unwrap();
    let mounted = events.iter().filter(|e| matches!(e, Event::Mounted { .. })).count();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Uploading { .. })),
        "nothing uploaded: {events:?}"
    );
    assert!(mounted >= 4, "the layers came from {REPOSITORY}: {events:?}");
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Mounted { from, .. } if from == REPOSITORY)));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Manifest { reference } if reference == "1.1.0")),
        "tagged last: {events:?}"
    );
}

#[test]
fn a_stored_layer_that_does_not_verify_is_said_discarded_and_compressed_again() {
    let Some((_serial, ws)) = released() else { return };
    let registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let image = base_images::get("e2e-dual:1.1.0").unwrap();
    let built = built_images(ws.path(), "e2e-dual:1.1.0");
    let lock = Lock::parse(&lock_of(ws.path()), Path::new("versions.lock")).unwrap();
    let released = lock.get(&image.key()).unwrap().released.clone().unwrap();
    // A layer store of its own, filled as a publish fills it.
    let cache = tempfile::tempdir().unwrap();
    let store = LayerStore::new(cache.path().join("layers"));
    let target = Target {
        registry: host.clone(),
        repository: REPOSITORY.into(),
        tag: "1.1.0".into(),
    };
    let provenance = Provenance {
        created: released,
        revision: None,
        source: None,
    };
    let publication = Publication {
        target: &target,
        provenance: &provenance,
        local_roots: &BTreeMap::new(),
        fetched: &BTreeMap::new(),
        layers: Some(base_images::lock::LayerRule::NEW),
        compressor: base_images::lock::Compressor::NEW,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let prepared = runtime.block_on(async {
        let engine = Builders::one(DockerEngine::connect().await.unwrap());
        prepare(&engine, image, &built, publication, &store).await.unwrap()
    });
    // One byte of a stored blob changes; its size does not.
    let (platform_image, _) = &prepared.images[0];
    let (diff_id, form) = &platform_image.sources[0];
    let blob = store.compressed_by(prepared.compressor).path(diff_id, *form);
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();

    let out = publish_command(ws.path(), &["publish", "e2e-dual:1.1.0", "--registry-override", &host])
        .env("BASE_IMAGES_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}\n{}", registry.log());
    assert!(
        said.contains("a stored layer does not verify; discarded, it is compressed again")
            && said.contains(diff_id.as_str()),
        "the discarded layer is named: {said}"
    );
    let digest = format!(
        "sha256:{:x}",
        <sha2::Sha256 as sha2::Digest>::digest(std::fs::read(&blob).unwrap())
    );
    assert_eq!(
        digest, platform_image.layers[0].digest,
        "compressed again from the engine"
    );
    assert_eq!(
        tag_digest(&host, "1.1.0"),
        Some(published_index(ws.path(), "1.1.0")),
        "the version published is the one recorded"
    );
}

#[test]
fn ctrl_c_while_layers_are_compressed_stops_at_once_and_pushes_nothing() {
    let Some((_serial, ws)) = released() else { return };
    let registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let lock_before = lock_of(ws.path());
    // A layer store of its own, empty: the publish has to compress.
    let cache = tempfile::tempdir().unwrap();
    let log = ws.path().join("publish.log");
    let mut child = publish_command(ws.path(), &["publish", "e2e-dual", "--registry-override", &host])
        .env("BASE_IMAGES_CACHE_DIR", cache.path())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(ws.path().join("publish.err")).unwrap())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let compressing = || {
        std::fs::read_dir(cache.path().join("layers"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            })
            .unwrap_or(false)
    };
    while !compressing() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(300) && child.try_wait().unwrap().is_none(),
            "the publish never compressed a layer"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    interrupt(child.id());
    let status = child.wait().unwrap();
    let said = format!(
        "{}{}",
        std::fs::read_to_string(&log).unwrap(),
        std::fs::read_to_string(ws.path().join("publish.err")).unwrap()
    );
    assert_eq!(status.code(), Some(130), "{said}");
    assert!(
        said.contains(&base_images::Error::Interrupted.to_string()) && !said.contains("uploading"),
        "{said}"
    );
    assert_eq!(lock_of(ws.path()), lock_before, "versions.lock unchanged");
    assert_eq!(tag_digest(&host, "1.0.0"), None, "nothing pushed");
}

/// The repositories the registry at `host` lists (`/v2/_catalog`).
fn catalog(host: &str) -> Vec<String> {
    let out = Command::new("curl")
        .args(["-sf", &format!("http://{host}/v2/_catalog")])
        .output()
        .unwrap();
    assert!(out.status.success(), "the catalog of {host}");
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    listed["repositories"]
        .as_array()
        .map(|r| r.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// `PUT` of `bytes` as the OCI index `REPOSITORY:tag` on `host`.
fn put_index(host: &str, tag: &str, bytes: &[u8]) {
    put_manifest(host, tag, "application/vnd.oci.image.index.v1+json", bytes);
}

/// `PUT` of `bytes` as the manifest of `media_type` `REPOSITORY:reference` on `host`.
fn put_manifest(host: &str, reference: &str, media_type: &str, bytes: &[u8]) {
    let url = format!("http://{host}/v2/{REPOSITORY}/manifests/{reference}");
    let content_type = format!("Content-Type: {media_type}");
    let mut child = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "PUT",
            "-H",
            &content_type,
            "--data-binary",
            "@-",
            &url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "201", "PUT {url}");
}

/// `verify e2e-dual:1.1.0 --key public` against `host`: exit code and output.
fn verify_signed(root: &Path, host: &str, public: &Path) -> (Option<i32>, String) {
    let out = publish_command(
        root,
        &[
            "verify",
            "e2e-dual:1.1.0",
            "--registry-override",
            host,
            "--key",
            public.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    (out.status.code(), text(&out))
}

/// `verify e2e-dual:1.1.0` against `host`: exit code and output.
fn verify(root: &Path, host: &str) -> (Option<i32>, String) {
    verify_with(root, host, &[])
}

#[test]
fn verify_passes_on_a_fresh_publish_and_names_each_tampering() {
    let Some((_serial, ws)) = released() else { return };
    let registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let (code, said) = verify(ws.path(), &host);
    assert_eq!(code, Some(2), "not published yet: {said}");
    assert!(said.contains("e2e-dual:1.1.0 is not published"), "{said}");
    let out = publish(ws.path(), &host, &[]);
    assert!(out.status.success(), "{}", text(&out));

    let (code, said) = verify(ws.path(), &host);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("e2e-dual:1.1.0 verified at"), "{said}");
    for platform in ["linux/amd64", "linux/arm64"] {
        assert!(
            said.contains(&format!("ok    {platform}: all 7 check(s) pass on the pulled image")),
            "{said}"
        );
        assert!(said.contains(&format!("ok    {platform} has an SBOM")), "{said}");
    }

    let released_index = published_index(ws.path(), "1.1.0");
    let original = raw(&host, "1.1.0");
    let index: serde_json::Value = serde_json::from_slice(&original).unwrap();
    let address = format!("{host}/{REPOSITORY}:1.1.0");

    // A changed annotation.
    let mut changed = index.clone();
    changed["annotations"]["org.opencontainers.image.created"] = "2020-01-01T00:00:00Z".into();
    put_index(&host, "1.1.0", &serde_json::to_vec(&changed).unwrap());
    let (code, said) = verify(ws.path(), &host);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains(&format!("{address} resolves to sha256:")), "{said}");
    assert!(
        said.contains(&format!("but versions.lock records {released_index}")),
        "{said}"
    );
    assert!(
        said.contains("the index's annotation org.opencontainers.image.created is \"2020-01-01T00:00:00Z\""),
        "{said}"
    );

    // An index without arm64.
    let mut amd64_only = index.clone();
    amd64_only["manifests"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["platform"]["architecture"] != "arm64");
    put_index(&host, "1.1.0", &serde_json::to_vec(&amd64_only).unwrap());
    let (code, said) = verify(ws.path(), &host);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(
            "the index holds linux/amd64, but the family declares linux/amd64, linux/arm64 (missing linux/arm64)"
        ),
        "{said}"
    );
    assert!(said.contains("2 difference(s)"), "only what differs is named: {said}");

    // Another image pushed under the tag: 1.0.0's index.
    put_index(&host, "1.1.0", &raw(&host, "1.0.0"));
    let (code, said) = verify(ws.path(), &host);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "{address} resolves to {}",
            published_index(ws.path(), "1.0.0")
        )),
        "{said}"
    );
    assert!(
        said.contains(
            "the index's annotation org.opencontainers.image.version is \"1.0.0\", but the declaration says \"1.1.0\""
        ),
        "{said}"
    );
    assert!(
        said.contains("check `"),
        "1.1.0's checks fail on 1.0.0's images: {said}"
    );

    // The released index back, but arm64's SBOM deleted.
    put_index(&host, "1.1.0", &original);
    assert_eq!(verify(ws.path(), &host).0, Some(0), "restored");
    let arm = manifest_of(&index, "arm64");
    delete_manifest(&host, &tag_digest(&host, &arm.replace(':', "-")).unwrap());
    let (code, said) = verify(ws.path(), &host);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&format!("the linux/arm64 manifest ({arm}) has no SBOM")),
        "{said}"
    );
    assert!(said.contains("1 difference(s)"), "{said}");
}

/// `verify e2e-dual:1.1.0` against `host` with `extra` options.
fn verify_with(root: &Path, host: &str, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["verify", "e2e-dual:1.1.0", "--registry-override", host];
    args.extend_from_slice(extra);
    let out = publish_command(root, &args).output().unwrap();
    (out.status.code(), text(&out))
}

#[test]
fn verify_refuses_an_sbom_of_another_manifest_or_platform_and_removes_what_it_pulled() {
    let Some((_serial, ws)) = released() else { return };
    let registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let out = publish(ws.path(), &host, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let index = skopeo(&host, "1.1.0", false);
    let (amd, arm) = (manifest_of(&index, "amd64"), manifest_of(&index, "arm64"));
    let pulled = |digest: &str| format!("{host}/{REPOSITORY}@{digest}");
    let in_engine = |digest: &str| {
        let out = Command::new("/usr/bin/docker")
            .args(["image", "inspect", &pulled(digest)])
            .output()
            .unwrap();
        out.status.success()
    };
    assert!(!in_engine(&amd) && !in_engine(&arm), "not pulled yet");

    // What verify pulled to run the checks is gone when it ends...
    let (code, said) = verify_with(ws.path(), &host, &[]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("removed the pulled image(s) (keep them with --keep): "),
        "{said}"
    );
    for digest in [&amd, &arm] {
        assert!(said.contains(&pulled(digest)), "{said}");
        assert!(!in_engine(digest), "{} is still in the engine", pulled(digest));
    }
    // ... unless asked to keep it.
    let (code, said) = verify_with(ws.path(), &host, &["--keep"]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("kept the pulled image(s) (--keep): "), "{said}");
    for digest in [&amd, &arm] {
        assert!(in_engine(digest), "{} was kept", pulled(digest));
        docker(&["image", "rm", &pulled(digest)]);
    }

    // arm64's referrers list names amd64's SBOM: its subject is another manifest.
    let arm_tag = arm.replace(':', "-");
    let arm_referrers = raw(&host, &arm_tag);
    let amd_referrers = raw(&host, &amd.replace(':', "-"));
    let listed = |referrers: &[u8]| {
        let referrers: serde_json::Value = serde_json::from_slice(referrers).unwrap();
        referrers["manifests"][0]["digest"].as_str().unwrap().to_owned()
    };
    let (amd_artifact, arm_artifact) = (listed(&amd_referrers), listed(&arm_referrers));
    put_index(&host, &arm_tag, &amd_referrers);
    let (code, said) = verify(ws.path(), &host);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "the linux/arm64 manifest ({arm}) has no SBOM that holds: the SBOM artifact {amd_artifact} refers to {amd}, not to this manifest"
        )),
        "{said}"
    );
    assert!(said.contains("1 difference(s)"), "{said}");
    assert!(
        !in_engine(&amd) && !in_engine(&arm),
        "removed after a failing verify too"
    );

    // An artifact about arm64 that carries amd64's document.
    let mut misfiled = skopeo(&host, &amd_artifact, false);
    misfiled["subject"] = skopeo(&host, &arm_artifact, false)["subject"].clone();
    let misfiled = serde_json::to_vec(&misfiled).unwrap();
    let misfiled_digest = base_images::publish::oci::sha256(&misfiled);
    put_manifest(
        &host,
        &misfiled_digest,
        "application/vnd.oci.image.manifest.v1+json",
        &misfiled,
    );
    let mut referrers: serde_json::Value = serde_json::from_slice(&arm_referrers).unwrap();
    referrers["manifests"][0]["digest"] = misfiled_digest.clone().into();
    referrers["manifests"][0]["size"] = misfiled.len().into();
    put_index(&host, &arm_tag, &serde_json::to_vec(&referrers).unwrap());
    let (code, said) = verify(ws.path(), &host);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "the SBOM artifact {misfiled_digest} carries the SBOM \"e2e-dual:1.1.0 [linux/amd64]\" of {amd}, not of this linux/arm64 manifest"
        )),
        "{said}"
    );

    put_index(&host, &arm_tag, &arm_referrers);
    assert_eq!(verify(ws.path(), &host).0, Some(0), "restored");
}

/// A fresh ECDSA P-256 key pair made by openssl in `dir`: (private, public).
fn key_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub"));
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&private)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made));
    let made = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made));
    (private, public)
}

/// `openssl dgst -sha256 -verify PUB` of the first signature under the
/// signature tag of `digest` on `host`.
fn openssl_verifies(host: &str, digest: &str, public: &Path, dir: &Path) -> bool {
    let manifest = skopeo(host, &format!("{}.sig", digest.replace(':', "-")), false);
    let layer = &manifest["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
    let payload = blob(host, layer["digest"].as_str().unwrap());
    let payload_value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(payload_value["critical"]["image"]["docker-manifest-digest"], digest);
    assert_eq!(
        payload_value["critical"]["identity"]["docker-reference"],
        format!("{host}/{REPOSITORY}")
    );
    let signature = layer["annotations"]["dev.cosignproject.cosign/signature"]
        .as_str()
        .unwrap();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, signature).unwrap();
    std::fs::write(dir.join("payload"), &payload).unwrap();
    std::fs::write(dir.join("signature.der"), der).unwrap();
    Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(public)
        .arg("-signature")
        .arg(dir.join("signature.der"))
        .arg(dir.join("payload"))
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn a_signature_made_with_one_key_verifies_with_it_and_fails_with_another() {
    let Some((_serial, ws)) = released() else { return };
    let registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let keys = tempfile::tempdir().unwrap();
    let (one, one_pub) = key_pair(keys.path(), "one");
    let (two, two_pub) = key_pair(keys.path(), "two");

    let bad = publish(ws.path(), &host, &["--sign-key", "/nonexistent/key.pem"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        text(&bad).contains("the key /nonexistent/key.pem cannot be used"),
        "{}",
        text(&bad)
    );

    let out = publish(ws.path(), &host, &["--sign-key", one.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(": signed"), "{}", text(&out));
    let index = published_index(ws.path(), "1.1.0");

    // An independent verifier: openssl, with the right key and the wrong one.
    assert!(openssl_verifies(&host, &index, &one_pub, keys.path()));
    assert!(!openssl_verifies(&host, &index, &two_pub, keys.path()));

    let verify_with = |public: &Path| verify_signed(ws.path(), &host, public);
    let (code, said) = verify_with(&one_pub);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains(&format!("ok    {index} is signed with {}", one_pub.display())),
        "{said}"
    );
    let (code, said) = verify_with(&two_pub);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "none of the 1 signature(s) of {index} verifies with {}",
            two_pub.display()
        )),
        "{said}"
    );

    // The same key again adds nothing; another key adds its signature.
    let again = publish(ws.path(), &host, &["--sign-key", one.to_str().unwrap()]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(!text(&again).contains(": signed"), "{}", text(&again));
    let second = publish(ws.path(), &host, &["--sign-key", two.to_str().unwrap()]);
    assert!(second.status.success(), "{}", text(&second));
    assert!(text(&second).contains(": signed"), "{}", text(&second));
    assert_eq!(verify_with(&two_pub).0, Some(0));
    assert_eq!(verify_with(&one_pub).0, Some(0), "the first signature is kept");
}

#[test]
fn the_audit_gate_refuses_a_fixable_finding_and_audit_reads_the_published_sboms() {
    let Some((_serial, ws)) = released() else { return };
    let registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let sources = base_images_tests::advisories::args(ws.path());
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .map(|a| (*a).to_owned())
            .chain(sources.iter().cloned())
            .collect()
    };
    let lock_before = lock_of(ws.path());

    // glibc has a critical finding with a fix: neither version is pushed.
    for dry_run in [true, false] {
        let mut args = with(&["--audit", "high"]);
        if dry_run {
            args.push("--dry-run".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = publish(ws.path(), &host, &args);
        let output = text(&out);
        assert_eq!(out.status.code(), Some(1), "{output}");
        assert!(
            output.contains(&format!(
                "{host}/{REPOSITORY}:1.0.0: not pushed: the audit gate (--audit high) refuses it"
            )) && output.contains(
                "CVE-E2E-0001, DSA-E2E-0001, GHSA-e2e0-glib-0001 (critical (9.8)), fixed in 2.36-9+deb12u999"
            ),
            "{output}"
        );
        assert!(
            output.contains("e2e-dual:1.1.0 [linux/arm64] glibc"),
            "each platform is judged: {output}"
        );
        assert_eq!(tag_digest(&host, "1.0.0"), None, "nothing pushed");
        assert_eq!(tag_digest(&host, "1.1.0"), None, "nothing pushed");
        assert_eq!(lock_of(ws.path()), lock_before, "nothing recorded");
    }
    let args: Vec<String> = with(&["--audit"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = publish(ws.path(), &host, &args[..1]);
    assert_eq!(out.status.code(), Some(2), "--audit without a severity: {}", text(&out));
    let out = publish(ws.path(), &host, &["--audit", "high"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--audit needs advisories"), "{}", text(&out));

    // Accepted by an exception: the gate lets it through.
    std::fs::write(
        ws.path().join("audit.toml"),
        "[[exception]]\nadvisory = \"CVE-E2E-0001\"\nversions = \"e2e-dual\"\nreason = \"a test fixture\"\nexpires = \"2999-01-01\"\n",
    )
    .unwrap();
    let args = with(&["--audit", "high"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = publish(ws.path(), &host, &args);
    assert!(out.status.success(), "{}", text(&out));
    let index = published_index(ws.path(), "1.1.0");
    assert_eq!(tag_digest(&host, "1.1.0").as_deref(), Some(index.as_str()));

    // `audit` reads the published SBOMs from the registry.
    let args = with(&["audit", "e2e-dual:1.1.0", "--registry-override", &host]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = publish_command(ws.path(), &args).output().unwrap();
    let output = text(&out);
    assert!(out.status.success(), "{output}");
    for platform in ["linux/amd64", "linux/arm64"] {
        assert!(
            output.contains(&format!(
                "e2e-dual:1.1.0 [{platform}] (SBOM published, {host}/{REPOSITORY}@sha256:"
            )),
            "{output}"
        );
        let row = output
            .lines()
            .find(|l| l.starts_with(&format!("e2e-dual:1.1.0 [{platform}]")) && l.contains("glibc"))
            .unwrap_or_else(|| panic!("glibc on {platform}: {output}"));
        assert!(row.ends_with("accepted until 2999-01-01"), "{row}");
    }

    // `verify` reports the audit of what was published.
    let args = with(&["verify", "e2e-dual:1.1.0", "--registry-override", &host]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = publish_command(ws.path(), &args).output().unwrap();
    let output = text(&out);
    assert!(out.status.success(), "{output}");
    assert!(
        output.contains("audit linux/arm64: ") && output.contains("with a fix"),
        "{output}"
    );
    assert!(
        output.contains("audit   e2e-dual:1.1.0 [linux/amd64] glibc"),
        "{output}"
    );

    // A published SBOM that is gone is named, not passed over.
    let index = skopeo(&host, "1.1.0", false);
    let arm = manifest_of(&index, "arm64");
    delete_manifest(&host, &tag_digest(&host, &arm.replace(':', "-")).unwrap());
    let args = with(&["audit", "e2e-dual:1.1.0", "--registry-override", &host]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = publish_command(ws.path(), &args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "the linux/arm64 manifest ({arm}) has no SBOM attached; publish the version again to attach it"
        )),
        "{}",
        text(&out)
    );
}

/// The index digest, the SBOM of each platform and the signature tag of
/// `version` on `host`.
fn published_there(host: &str, version: &str) -> (String, Vec<serde_json::Value>, Option<String>) {
    let index = tag_digest(host, version).unwrap_or_default();
    let listed = skopeo(host, version, false);
    let sboms = ["amd64", "arm64"]
        .iter()
        .map(|arch| attached_sbom(host, &manifest_of(&listed, arch)).1)
        .collect();
    let signature = tag_digest(host, &format!("{}.sig", index.replace(':', "-")));
    (index, sboms, signature)
}

#[test]
fn a_second_registry_gets_a_copy_with_the_same_digest_sboms_and_signature_never_a_rebuild() {
    let Some((_serial, ws)) = released() else { return };
    let first = TestRegistry::on_free_port(None);
    let second = TestRegistry::on_free_port(None);
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = key_pair(keys.path(), "release");
    let out = publish(ws.path(), &first.host(), &["--sign-key", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let recorded = published_index(ws.path(), "1.1.0");

    // Another machine, without the key: another created time, so a rebuild
    // would give another index. The version is copied instead, its
    // signature too (which names the first repository, recorded for it).
    let copied = publish_command(
        ws.path(),
        &["publish", "e2e-dual", "--registry-override", &second.host()],
    )
    .env("SOURCE_DATE_EPOCH", "1700000000")
    .output()
    .unwrap();
    let said = text(&copied);
    assert!(copied.status.success(), "{said}\n{}", second.log());
    assert!(
        said.contains("0 version(s) pushed, 2 copied, 0 already published"),
        "{said}"
    );
    assert!(
        said.contains("sbom [linux/arm64]") && said.contains(": copied"),
        "{said}"
    );
    assert!(!said.contains("before publishing"), "nothing is built: {said}");
    let (index_one, sboms_one, signed_one) = published_there(&first.host(), "1.1.0");
    let (index_two, sboms_two, signed_two) = published_there(&second.host(), "1.1.0");
    assert_eq!(index_one, recorded);
    assert_eq!(index_two, recorded, "one digest in every registry");
    assert_eq!(sboms_two, sboms_one, "the same SBOMs");
    assert!(signed_one.is_some() && signed_two.is_some(), "signed in both");
    let lock = Lock::parse(&lock_of(ws.path()), Path::new("versions.lock")).unwrap();
    let entry = lock.get(&"e2e-dual:1.1.0".parse().unwrap()).unwrap();
    let mut both = vec![
        format!("{}/{REPOSITORY}", first.host()),
        format!("{}/{REPOSITORY}", second.host()),
    ];
    both.sort();
    assert_eq!(entry.published.as_ref().unwrap().repositories, both);
    for host in [first.host(), second.host()] {
        let (code, said) = verify_signed(ws.path(), &host, &public);
        assert_eq!(code, Some(0), "{host}: {said}");
        assert!(said.contains(&format!("is signed with {}", public.display())), "{said}");
    }

    // No recorded registry answers: the rebuild prepares another index,
    // so publishing to a third is refused before anything is pushed.
    drop(first);
    drop(second);
    let third = TestRegistry::on_free_port(None);
    let lock_before = lock_of(ws.path());
    let refused = publish_command(
        ws.path(),
        &["publish", "e2e-dual:1.1.0", "--registry-override", &third.host()],
    )
    .env("SOURCE_DATE_EPOCH", "1700000000")
    .output()
    .unwrap();
    let said = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "versions.lock records this version as {recorded}, but this build prepares sha256:"
        )),
        "{said}"
    );
    assert!(
        said.contains("none could be read") && said.contains("cannot reach the registry"),
        "{said}"
    );
    assert_eq!(tag_digest(&third.host(), "1.1.0"), None, "nothing pushed");
    assert_eq!(lock_of(ws.path()), lock_before, "versions.lock unchanged");
}

#[test]
fn a_family_of_two_repositories_is_published_and_verified_in_each_and_mended_by_a_copy() {
    let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    if !engine_up() {
        return;
    }
    let ws = workspace();
    let built = publish_command(ws.path(), &["build", "e2e-mirrored"]).output().unwrap();
    assert!(built.status.success(), "{}", text(&built));
    let registry = TestRegistry::on_free_port(None);
    let host = registry.host();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = key_pair(keys.path(), "mirrored");
    let publish_mirrored = || {
        publish_command(
            ws.path(),
            &[
                "publish",
                "e2e-mirrored",
                "--registry-override",
                &host,
                "--sign-key",
                key.to_str().unwrap(),
            ],
        )
        .output()
        .unwrap()
    };
    let out = publish_mirrored();
    assert!(out.status.success(), "{}\n{}", text(&out), registry.log());
    assert!(text(&out).contains("2 version(s) pushed, 0 copied"), "{}", text(&out));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let remote = base_images::publish::auth::remote(&host).unwrap();
    let resolve = |repository: &str| runtime.block_on(remote.resolve(repository, "1.0.0")).unwrap();
    let (first, copy) = ("base-images-e2e/mirrored", "base-images-e2e/mirrored-copy");
    let lock = Lock::parse(&lock_of(ws.path()), Path::new("versions.lock")).unwrap();
    let published = lock
        .get(&"e2e-mirrored:1.0.0".parse().unwrap())
        .unwrap()
        .published
        .clone()
        .unwrap();
    assert_eq!(resolve(first).as_deref(), Some(published.index.as_str()));
    assert_eq!(
        resolve(copy).as_deref(),
        Some(published.index.as_str()),
        "one digest in both"
    );
    assert_eq!(
        published.repositories,
        [format!("{host}/{first}"), format!("{host}/{copy}")]
    );
    let verified = publish_command(
        ws.path(),
        &[
            "verify",
            "e2e-mirrored:1.0.0",
            "--registry-override",
            &host,
            "--key",
            public.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let said = text(&verified);
    assert_eq!(verified.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!(" and {host}/{copy}:1.0.0")),
        "verified in both: {said}"
    );

    // The copy repository loses its tag: the next publish copies it back
    // from the first (mounted, same registry), digest unchanged.
    let url = format!("http://{host}/v2/{copy}/manifests/{}", published.index);
    let deleted = Command::new("curl")
        .args(["-sf", "-X", "DELETE", &url])
        .output()
        .unwrap();
    assert!(deleted.status.success(), "DELETE {url}");
    assert_eq!(resolve(copy), None);
    let mended = publish_mirrored();
    let said = text(&mended);
    assert!(mended.status.success(), "{said}");
    assert!(
        said.contains("0 version(s) pushed, 1 copied, 1 already published"),
        "{said}"
    );
    assert_eq!(resolve(copy).as_deref(), Some(published.index.as_str()));
    drop(serial);
}
