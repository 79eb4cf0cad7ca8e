//! `audit`: OSV advisories (a directory and a zip of fixtures in the OSV
//! schema) matched against what the e2e images really contain, read from
//! their SBOMs: six as pip installed it is judged in PyPI, pip as the
//! Debian package that installed it, Debian packages by their source
//! package in `Debian:12` (fixes above and below, an epoch, no fix,
//! `last_affected`, a withdrawn record, another release), one CVE reached
//! through a DSA and a GHSA reported once, a malformed record named and
//! skipped; `--sbom` on a document in syft's conventions; `audit.toml`
//! exceptions until they expire; the JSON and SARIF reports. The engine
//! tests fail, never skip, with `BASE_IMAGES_E2E=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use std::path::Path;
use std::process::Output;

use base_images_tests::advisories;

use serde_json::Value;

mod tool;

use tool::{command, engine_up, text, workspace};

/// `audit ARGS --advisories osv/ --advisories zipped.zip` on `root`.
fn audit(root: &Path, args: &[&str]) -> Output {
    let sources = advisories::args(root);
    let mut all: Vec<&str> = vec!["audit"];
    all.extend_from_slice(args);
    all.extend(sources.iter().map(String::as_str));
    command(root, &all)
        .env_remove("BASE_IMAGES_ADVISORIES")
        .output()
        .unwrap()
}

/// The table row of `package` in `image` (its cells), if there is one.
fn row(output: &str, image: &str, package: &str) -> Option<Vec<String>> {
    output
        .lines()
        .find(|l| l.starts_with(image) && l[image.len()..].trim_start().starts_with(package))
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        })
}

fn syft_sbom() -> String {
    advisories::fixtures()
        .join("syft-python.spdx.json")
        .display()
        .to_string()
}

#[test]
fn an_sbom_in_syfts_conventions_is_audited_by_source_package_and_the_gate_fails() {
    let ws = workspace();
    let json = ws.path().join("audit.json");
    let sarif = ws.path().join("audit.sarif");
    let sbom = syft_sbom();
    let out = audit(
        ws.path(),
        &[
            "--sbom",
            &sbom,
            "--report",
            &format!("json={}", json.display()),
            "--report",
            &format!("sarif={}", sarif.display()),
        ],
    );
    let output = text(&out);
    assert_eq!(out.status.code(), Some(1), "{output}");
    let glibc = row(&output, &sbom, "glibc").expect("glibc's row");
    assert_eq!(
        glibc[1..],
        [
            "glibc (libc-bin, libc6)",
            "2.36-9+deb12u4",
            "CVE-E2E-0001 (DSA-E2E-0001, GHSA-e2e0-glib-0001)",
            "critical (9.8)",
            "2.36-9+deb12u999",
            "FAIL"
        ],
        "one finding for the CVE the DSA (directory) and the GHSA (zip) name: {output}"
    );
    assert_eq!(output.matches("CVE-E2E-0001 (").count(), 1, "{output}");
    let six = row(&output, &sbom, "six").expect("six's row");
    assert_eq!(six[5], "1.17.0", "{six:?}");
    assert!(
        row(&output, &sbom, "pip ").is_none(),
        "pip is not judged in PyPI: {output}"
    );
    let pip = row(&output, &sbom, "python-pip").expect("pip judged as python3-pip");
    assert_eq!(pip[1], "python-pip (python3-pip)");
    assert_eq!(
        row(&output, &sbom, "bash").expect("bash")[2],
        "5.2.15-2",
        "the source version"
    );
    assert!(
        row(&output, &sbom, "tzdata").is_none(),
        "fixed below the installed version"
    );
    assert!(output.contains("pip as python3-pip"), "{output}");
    assert!(output.contains("1 npm package(s) no advisory speaks of"), "{output}");
    assert!(
        output.contains("osv/malformed.json: not an OSV record") && output.contains("1 skipped"),
        "{output}"
    );
    assert!(output.contains("2 finding(s) at or above high have a fix"), "{output}");

    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["fail_on"], "high");
    assert_eq!(report["advisories"]["withdrawn"], 1);
    assert_eq!(report["failing"].as_array().map(Vec::len), Some(2));
    let findings = report["images"][0]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 4, "{findings:?}");
    let log: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let errors: Vec<&str> = results
        .iter()
        .filter(|r| r["level"] == "error")
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(errors, ["CVE-E2E-0001", "CVE-E2E-0006"]);

    let out = audit(ws.path(), &["--sbom", &sbom, "--fail-on", "critical"]);
    assert_eq!(out.status.code(), Some(1), "glibc is critical: {}", text(&out));
    let out = audit(ws.path(), &["--sbom", &sbom, "--fail-on", "none"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("4 finding(s), none with a fix at or above none"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_exception_accepts_a_finding_until_it_expires() {
    let ws = workspace();
    let sbom = syft_sbom();
    let exceptions = |expires: &str| {
        std::fs::write(
            ws.path().join("audit.toml"),
            format!(
                "[[exception]]\nadvisory = \"GHSA-e2e0-glib-0001\"\nversions = \"*\"\nreason = \"not reachable from connectors\"\nexpires = \"{expires}\"\n\n\
                 [[exception]]\nadvisory = \"PYSEC-E2E-0001\"\nversions = [\"*\"]\nreason = \"six is upgraded by every connector\"\nexpires = \"2999-12-31\"\n"
            ),
        )
        .unwrap()
    };
    exceptions("2999-12-31");
    let out = audit(ws.path(), &["--sbom", &sbom]);
    let output = text(&out);
    assert_eq!(out.status.code(), Some(0), "{output}");
    assert_eq!(row(&output, &sbom, "glibc").unwrap()[6], "accepted until 2999-12-31");
    assert!(output.contains("(2 accepted by audit.toml)"), "{output}");

    exceptions("2020-01-01");
    let out = audit(ws.path(), &["--sbom", &sbom]);
    let output = text(&out);
    assert_eq!(out.status.code(), Some(1), "{output}");
    assert_eq!(row(&output, &sbom, "glibc").unwrap()[6], "exception expired 2020-01-01");
    assert!(
        output.contains("the exception for GHSA-e2e0-glib-0001 in")
            && output.contains("expired on 2020-01-01 (not reachable from connectors); it no longer applies"),
        "{output}"
    );
    assert!(output.contains("1 finding(s) at or above high have a fix"), "{output}");

    std::fs::write(ws.path().join("audit.toml"), "[[exception]]\nadvisory = \"X\"\n").unwrap();
    let out = audit(ws.path(), &["--sbom", &sbom]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("audit.toml: TOML parse error") && text(&out).contains("missing field"),
        "{}",
        text(&out)
    );
}

#[test]
fn advisories_that_are_missing_or_empty_and_documents_that_are_not_spdx_are_refused() {
    let ws = workspace();
    let sbom = syft_sbom();
    let out = command(ws.path(), &["audit", "--sbom", &sbom])
        .env_remove("BASE_IMAGES_ADVISORIES")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("pass --advisories PATH"), "{}", text(&out));
    let empty = ws.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = command(ws.path(), &["audit", "--sbom", &sbom])
        .env("BASE_IMAGES_ADVISORIES", &empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("holds no OSV record"), "{}", text(&out));
    let not_spdx = ws.path().join("not.json");
    std::fs::write(&not_spdx, r#"{"bomFormat": "CycloneDX"}"#).unwrap();
    let out = audit(ws.path(), &["--sbom", not_spdx.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not an SPDX JSON document"), "{}", text(&out));
}

#[test]
fn the_e2e_images_are_audited_by_what_they_really_contain() {
    if !engine_up() {
        return;
    }
    let ws = workspace();
    let out = audit(
        ws.path(),
        &["e2e-python:1.0.0", "e2e-python:1.2.0", "--fail-on", "none"],
    );
    let output = text(&out);
    assert_eq!(out.status.code(), Some(0), "{output}");
    let old = "e2e-python:1.0.0 [linux/amd64]";
    let new = "e2e-python:1.2.0 [linux/amd64]";
    let six = row(&output, old, "six").expect("six 1.16.0, installed by pip, is judged in PyPI");
    assert_eq!(
        six[2..6],
        ["1.16.0", "CVE-E2E-0006 (PYSEC-E2E-0001)", "high (7.5)", "1.17.0"]
    );
    assert!(row(&output, new, "six").is_none(), "1.2.0 has six 1.17.0: {output}");
    for image in [old, new] {
        assert!(
            row(&output, image, "pip ").is_none(),
            "Debian's pip is not judged in PyPI: {output}"
        );
        let pip = row(&output, image, "python-pip").expect("pip judged as python3-pip");
        assert_eq!(pip[1], "python-pip (python3-pip)");
        let glibc = row(&output, image, "glibc").expect("glibc, by its source name");
        assert!(glibc[1].contains("libc6"), "{glibc:?}");
        assert_eq!(glibc[3], "CVE-E2E-0001 (DSA-E2E-0001, GHSA-e2e0-glib-0001)");
        assert_eq!(glibc[5], "2.36-9+deb12u999");
        assert_eq!(row(&output, image, "bash").expect("the epoch fix")[5], "1:0.1-1");
        assert_eq!(row(&output, image, "coreutils").expect("no fix")[5], "-");
        assert_eq!(row(&output, image, "sed").expect("last_affected above")[5], "-");
        for absent in ["tzdata", "grep", "dash"] {
            assert!(row(&output, image, absent).is_none(), "{absent}: {output}");
        }
    }
    assert!(
        output.contains(&format!("{old} (SBOM built on the local engine): packages matched: ")),
        "{output}"
    );
    assert!(output.contains("pip as python3-pip"), "{output}");
    let out = audit(ws.path(), &["e2e-python:1.0.0"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "e2e-python:1.0.0 [linux/amd64] six 1.16.0: CVE-E2E-0006, PYSEC-E2E-0001 (high (7.5)), fixed in 1.17.0"
        ),
        "{}",
        text(&out)
    );
}
