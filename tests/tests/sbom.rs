//! `sbom`: the SPDX document of a built e2e image lists what its steps
//! installed with the exact versions the image itself reports (`dpkg-query`
//! and Python asked inside a container of the same image), the content the
//! build fetched with its sha256, its root as ancestor, and each platform's
//! own packages. Engine-backed: with `BASE_IMAGES_E2E=1` a missing engine
//! fails them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use std::process::Command;

use serde_json::Value;
// Link the crate that declares the test families.
use base_images_tests as _;

mod tool;

use tool::{engine_up, text, tool, workspace};

/// `docker run --rm --network none IMAGE ARGS…` as root: its stdout.
fn inside(image: &str, args: &[&str]) -> String {
    let out = Command::new("/usr/bin/docker")
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--user",
            "0",
            "--entrypoint",
            args[0],
            image,
        ])
        .args(&args[1..])
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?} in {image}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The SBOM `sbom KEY [args]` prints.
fn sbom(key: &str, extra: &[&str]) -> Value {
    let ws = workspace();
    let mut args = vec!["sbom", key];
    args.extend_from_slice(extra);
    let out = tool(ws.path(), &args);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

fn packages(doc: &Value) -> &Vec<Value> {
    doc["packages"].as_array().unwrap()
}

/// The packages whose purl starts with `purl`.
fn of_type<'a>(doc: &'a Value, purl: &str) -> Vec<&'a Value> {
    packages(doc)
        .iter()
        .filter(|p| {
            p["externalRefs"][0]["referenceLocator"]
                .as_str()
                .is_some_and(|l| l.starts_with(purl))
        })
        .collect()
}

/// The version and purl of the package `name` whose purl starts with `purl`.
fn package(doc: &Value, purl: &str, name: &str) -> (String, String) {
    let found = of_type(doc, purl)
        .into_iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no {purl} {name} in the SBOM"));
    (
        found["versionInfo"].as_str().unwrap().to_owned(),
        found["externalRefs"][0]["referenceLocator"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

/// The engine image id the SBOM describes.
fn described_image(doc: &Value) -> String {
    let described = doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["relationshipType"] == "DESCRIBES")
        .unwrap()["relatedSpdxElement"]
        .clone();
    let image = packages(doc).iter().find(|p| p["SPDXID"] == described).unwrap();
    assert_eq!(image["primaryPackagePurpose"], "CONTAINER");
    format!("sha256:{}", image["checksums"][0]["checksumValue"].as_str().unwrap())
}

#[test]
fn the_sbom_lists_what_the_steps_installed_with_the_versions_the_image_reports() {
    if !engine_up() {
        return;
    }
    let versions = [
        ("e2e-python:1.0.0", "1.16.0", 0),
        ("e2e-python:1.1.0", "1.16.0", 2),
        ("e2e-python:1.2.0", "1.17.0", 2),
        ("e2e-python:2.0.0", "1.17.0", 2),
    ];
    for (key, six, fetched) in versions {
        let doc = sbom(key, &[]);
        assert_eq!(doc["spdxVersion"], "SPDX-2.3");
        assert_eq!(doc["name"], format!("{key} [linux/amd64]"));
        let image = described_image(&doc);

        // apt: tzdata (installed by a step) and python3 (from the root).
        for name in ["tzdata", "python3", "base-files"] {
            let (version, purl) = package(&doc, "pkg:deb/debian/", name);
            let reported = inside(&image, &["dpkg-query", "-W", "-f", "${Version}", name]);
            assert_eq!(version, reported, "{key}: {name}");
            assert!(purl.contains("distro=debian-12"), "{purl}");
        }
        let dpkg_count = inside(
            &image,
            &["sh", "-c", "dpkg-query -W -f '${db:Status-Abbrev}\\n' | grep -c '^ii'"],
        );
        let debs = of_type(&doc, "pkg:deb/").len();
        assert_eq!(debs.to_string(), dpkg_count, "{key}: every installed deb, no more");

        // pip: six, pinned by the step, as Python itself reports it.
        let (version, purl) = package(&doc, "pkg:pypi/", "six");
        assert_eq!(version, six, "{key}");
        assert_eq!(purl, format!("pkg:pypi/six@{six}"));
        let reported = inside(&image, &["python3", "-c", "import six; print(six.__version__)"]);
        assert_eq!(version, reported, "{key}");

        // Source packages, as dpkg names them, in the purl's upstream.
        let (_, purl) = package(&doc, "pkg:deb/debian/", "libc6");
        let source = inside(&image, &["dpkg-query", "-W", "-f", "${source:Package}", "libc6"]);
        assert_eq!(source, "glibc");
        assert!(purl.contains("upstream=glibc"), "{purl}");
        // pip is Debian's python3-pip: the deb CONTAINS the distribution.
        let owner = inside(&image, &["dpkg", "-S", "/usr/lib/python3/dist-packages/pip"]);
        assert!(owner.starts_with("python3-pip:"), "{owner}");
        let id_of = |prefix: &str, name: &str| {
            packages(&doc)
                .iter()
                .find(|p| {
                    p["name"] == name
                        && p["externalRefs"][0]["referenceLocator"]
                            .as_str()
                            .unwrap()
                            .starts_with(prefix)
                })
                .map(|p| p["SPDXID"].as_str().unwrap().to_owned())
                .unwrap()
        };
        let (deb, pip) = (id_of("pkg:deb/", "python3-pip"), id_of("pkg:pypi/", "pip"));
        assert!(
            doc["relationships"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["spdxElementId"] == deb.as_str()
                    && r["relationshipType"] == "CONTAINS"
                    && r["relatedSpdxElement"] == pip.as_str()),
            "{key}: {deb} CONTAINS {pip}"
        );

        // The root is the ancestor.
        let ancestry: Vec<&Value> = doc["relationships"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["relationshipType"] == "DESCENDANT_OF")
            .collect();
        assert_eq!(ancestry.len(), 1, "{doc}");
        let root = packages(&doc)
            .iter()
            .find(|p| p["SPDXID"] == ancestry[0]["relatedSpdxElement"])
            .unwrap();
        assert_eq!(root["name"], base_images_tests::e2e::ROOT);

        // From 1.1.0 on, a fetched file and archive: each with its sha256.
        let inputs = of_type(&doc, "pkg:generic/");
        assert_eq!(inputs.len(), fetched, "{key}: {doc}");
        for input in inputs {
            let url = input["downloadLocation"].as_str().unwrap();
            assert!(url.starts_with("http://127.0.0.1:"), "{url}");
            let bytes = served(url);
            let hex = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&bytes));
            assert_eq!(input["checksums"][0]["checksumValue"], hex, "{url}");
        }
    }
}

/// The bytes the fixture server serves for `url` (through the mirror that
/// sends the e2e family's URLs to this process's server, as the tool got them).
fn served(url: &str) -> Vec<u8> {
    let mirror: base_images::fetch::Mirror = base_images_tests::fixtures::mirror().parse().unwrap();
    let source = mirror.source_of(url).unwrap_or_else(|| url.to_owned());
    let out = Command::new("curl").args(["-sf", &source]).output().unwrap();
    assert!(out.status.success(), "curl {source}: {}", text(&out));
    out.stdout
}

#[test]
fn each_platform_lists_its_own_packages_and_an_undeclared_platform_is_refused() {
    if !engine_up() {
        return;
    }
    let amd64 = sbom("e2e-dual:1.1.0", &["--platform", "linux/amd64"]);
    let arm64 = sbom("e2e-dual:1.1.0", &["--platform", "linux/arm64"]);
    let (_, purl) = package(&arm64, "pkg:deb/debian/", "libc6");
    assert!(purl.contains("arch=arm64"), "{purl}");
    let (_, purl) = package(&amd64, "pkg:deb/debian/", "libc6");
    assert!(purl.contains("arch=amd64"), "{purl}");
    assert_ne!(described_image(&amd64), described_image(&arm64));

    let ws = workspace();
    let out = tool(ws.path(), &["sbom", "e2e-python:1.0.0", "--platform", "linux/arm64"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("--platform linux/arm64: e2e-python:1.0.0 is built for linux/amd64 only"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_rpm_database_is_listed_with_its_epoch_and_arch() {
    if !engine_up() {
        return;
    }
    let doc = sbom("e2e-rpm:1.0.0", &[]);
    let (version, purl) = package(&doc, "pkg:rpm/", "hello");
    assert_eq!(version, "2:1.2.3-4");
    assert_eq!(
        purl,
        "pkg:rpm/debian/hello@2:1.2.3-4?arch=noarch&distro=debian-12&upstream=hello-1.2.3-4.src.rpm"
    );
    let image = described_image(&doc);
    let reported = inside(
        &image,
        &[
            "rpm",
            "--dbpath",
            "/var/lib/rpm",
            "-q",
            "--qf",
            "%{EPOCH}:%{VERSION}-%{RELEASE}",
            "hello",
        ],
    );
    assert_eq!(version, reported);
    let (_, deb) = package(&doc, "pkg:deb/debian/", "rpm");
    assert!(deb.contains("arch=amd64"), "the dpkg packages are listed too: {deb}");
}

/// The inode of each record of the SBOM cache in `cache`, by name.
fn records(cache: &std::path::Path) -> std::collections::BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::read_dir(cache.join("sbom-images"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap())
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        e.metadata().unwrap().ino(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_image_is_read_once_and_a_record_that_does_not_hold_is_read_again() {
    if !engine_up() {
        return;
    }
    let ws = workspace();
    let cache = ws.path().join("cache");
    // What the document lists (its creation time is the run's: the
    // version is not released).
    let run = || {
        let out = tool(ws.path(), &["sbom", "e2e-python:1.1.0"]);
        assert!(out.status.success(), "{}", text(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        serde_json::to_string_pretty(&doc["packages"]).unwrap()
    };
    let first = run();
    let written = records(&cache);
    assert_eq!(written.len(), 1, "one record, the image's: {written:?}");
    let again = run();
    assert!(again == first, "the same packages from the records:\n{again}\n{first}");
    assert_eq!(records(&cache), written, "nothing read or written again");

    let (name, _) = written.iter().next().unwrap();
    std::fs::write(cache.join("sbom-images").join(name), "{not json").unwrap();
    let repaired = run();
    assert!(
        repaired == first,
        "the layers are read from the engine again:\n{repaired}"
    );
    let rewritten = records(&cache);
    assert_eq!(rewritten.keys().collect::<Vec<_>>(), written.keys().collect::<Vec<_>>());
    assert_ne!(rewritten[name], written[name], "the bad record is written again");
    let record: Value = serde_json::from_slice(&std::fs::read(cache.join("sbom-images").join(name)).unwrap()).unwrap();
    assert_eq!(record["image"], format!("sha256:{}", name.trim_end_matches(".json")));
}
