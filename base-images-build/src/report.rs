//! What a build tells its users: a line per version as it finishes, a
//! summary table, every failure in full at the end (image, check id and
//! description, command, exit code, stdout, stderr), and machine-readable
//! reports for CI (JSON, JUnit with one test case per version x check).

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use base_images::checks::Status;
use base_images::engine::pipeline::ImageReport;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::Error;

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default().bold();
const DIM: Style = Style::new().dimmed();

/// Counts of a version's check results: (passed, failed, cached).
fn counts(report: &ImageReport) -> (usize, usize, usize) {
    let cached = report.checks.iter().filter(|c| c.status == Status::Cached).count();
    let passed = report.checks.iter().filter(|c| c.status == Status::Passed).count();
    (passed, report.checks.len() - passed - cached, cached)
}

/// One line for a finished version (styled; anstream strips the style when
/// output is not a terminal or NO_COLOR is set).
pub(crate) fn line(report: &ImageReport) -> String {
    let (passed, failed, cached) = counts(report);
    let steps = report.image.as_ref().map_or(String::new(), |i| {
        format!(", {} step(s) built, {} cached", i.steps_built, i.steps_cached)
    });
    let engine = &report.engine;
    let (style, mark) = if report.passed() {
        (GREEN, "ok  ")
    } else {
        (RED, "FAIL")
    };
    format!(
        "{style}{mark}{style:#} {} [{}] {} check(s): {} passed ({cached} cached), {failed} failed{steps} {DIM}on {engine} ({:.1} s){DIM:#}",
        report.key,
        report.platform,
        report.checks.len(),
        passed + cached,
        report.duration.as_secs_f64()
    )
}

/// The summary table.
pub(crate) fn table(reports: &[ImageReport]) -> String {
    let mut rows = vec![[
        "VERSION".to_owned(),
        "PLATFORM".into(),
        "PASSED".into(),
        "FAILED".into(),
        "CACHED".into(),
        "TIME".into(),
        "RESULT".into(),
    ]];
    for r in reports {
        let (passed, failed, cached) = counts(r);
        rows.push([
            r.key.to_string(),
            r.platform.clone(),
            passed.to_string(),
            failed.to_string(),
            cached.to_string(),
            format!("{:.1} s", r.duration.as_secs_f64()),
            if r.passed() {
                "ok".into()
            } else if r.error.is_some() {
                "build failed".into()
            } else {
                "checks failed".into()
            },
        ]);
    }
    aligned(&rows)
}

/// The `--report KIND=PATH` values, each KIND one of `kinds`.
pub(crate) fn requests(
    specs: &[String],
    kinds: &[&'static str],
) -> Result<Vec<(&'static str, std::path::PathBuf)>, Error> {
    specs
        .iter()
        .map(|spec| {
            spec.split_once('=')
                .and_then(|(kind, path)| Some((*kinds.iter().find(|k| **k == kind)?, path)))
                .filter(|(_, path)| !path.is_empty())
                .map(|(kind, path)| (kind, path.into()))
                .ok_or_else(|| {
                    let forms: Vec<String> = kinds.iter().map(|k| format!("{k}=PATH")).collect();
                    Error::Usage(format!("--report {spec}: write {}", forms.join(" or ")))
                })
        })
        .collect()
}

/// `rows` as text columns, each as wide as its widest cell.
pub(crate) fn aligned<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

/// Every failure, in full.
pub(crate) fn failures(reports: &[ImageReport]) -> String {
    let mut out = String::new();
    for r in reports.iter().filter(|r| !r.passed()) {
        if let Some(error) = &r.error {
            let _ = writeln!(out, "{RED}FAIL{RED:#} {} [{}]: {error}", r.key, r.platform);
        }
        for c in r.checks.iter().filter(|c| !c.status.is_pass()) {
            let check = &c.check.check;
            let what = match &c.status {
                Status::Failed(failure) => failure.to_string(),
                Status::TimedOut(limit) => format!("timed out after {} s (killed)", limit.as_secs_f64()),
                Status::Passed | Status::Cached => continue,
            };
            let _ = writeln!(
                out,
                "{RED}FAIL{RED:#} {} [{}] check `{}` ({}), declared in {}: {what}",
                r.key, r.platform, check.id, check.description, c.check.declared_in
            );
        }
    }
    out
}

/// What `publish` did with one version.
#[derive(Clone, Debug)]
pub(crate) struct Published {
    /// `family:version`.
    pub key: base_images::ImageKey,
    /// `registry/repository:tag`.
    pub address: String,
    /// The index digest (unknown when preparing it failed).
    pub digest: Option<String>,
    /// `pushed`, `skipped` (already published), `refused` (the tag points
    /// elsewhere), `failed`, or `planned` (a dry run's push).
    pub action: &'static str,
    /// Blobs uploaded, mounted and already present.
    pub blobs: (usize, usize, usize),
    /// Bytes uploaded.
    pub bytes: u64,
    /// SBOMs attached (one per platform whose manifest had none).
    pub sboms: usize,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// Time spent.
    pub duration: std::time::Duration,
}

impl Published {
    /// Whether this version ended as it should (pushed, skipped or planned).
    pub(crate) fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// The summary table of a publish.
pub(crate) fn publish_table(published: &[Published]) -> String {
    let mut rows = vec![[
        "VERSION".to_owned(),
        "ADDRESS".into(),
        "DIGEST".into(),
        "RESULT".into(),
        "BLOBS (UP/MOUNT/HAD)".into(),
        "SENT".into(),
        "TIME".into(),
    ]];
    for p in published {
        rows.push([
            p.key.to_string(),
            p.address.clone(),
            p.digest.clone().unwrap_or_else(|| "-".into()),
            p.action.into(),
            format!("{}/{}/{}", p.blobs.0, p.blobs.1, p.blobs.2),
            format!("{:.1} MB", p.bytes as f64 / 1e6),
            format!("{:.1} s", p.duration.as_secs_f64()),
        ]);
    }
    aligned(&rows)
}

/// The JSON report: every version x platform built and checked, and for
/// `publish` what happened to each version.
pub(crate) fn json(reports: &[ImageReport], published: &[Published]) -> serde_json::Value {
    let versions: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            let checks: Vec<serde_json::Value> = r
                .checks
                .iter()
                .map(|c| {
                    let (status, failure) = match &c.status {
                        Status::Passed => ("passed", None),
                        Status::Cached => ("cached", None),
                        Status::Failed(f) => ("failed", Some(f)),
                        Status::TimedOut(_) => ("timed_out", None),
                    };
                    serde_json::json!({
                        "id": c.check.check.id,
                        "description": c.check.check.description,
                        "declared_in": c.check.declared_in,
                        "status": status,
                        "seconds": c.duration.as_secs_f64(),
                        "failure": failure.map(|f| serde_json::json!({
                            "reason": f.reason,
                            "command": f.command,
                            "exit_code": f.exit_code,
                            "stdout": f.stdout,
                            "stderr": f.stderr,
                        })),
                    })
                })
                .collect();
            serde_json::json!({
                "image": r.key,
                "platform": r.platform,
                "engine": r.engine,
                "passed": r.passed(),
                "image_id": r.image.as_ref().map(|i| i.id.clone()),
                "steps_built": r.image.as_ref().map(|i| i.steps_built),
                "steps_cached": r.image.as_ref().map(|i| i.steps_cached),
                "error": r.error.as_ref().map(ToString::to_string),
                "seconds": r.duration.as_secs_f64(),
                "checks": checks,
            })
        })
        .collect();
    let mut value = serde_json::json!({ "passed": reports.iter().all(ImageReport::passed), "versions": versions });
    if !published.is_empty() {
        value["passed"] =
            serde_json::json!(reports.iter().all(ImageReport::passed) && published.iter().all(Published::ok));
        value["published"] = published
            .iter()
            .map(|p| {
                serde_json::json!({
                    "image": p.key,
                    "address": p.address,
                    "digest": p.digest,
                    "result": p.action,
                    "blobs_uploaded": p.blobs.0,
                    "blobs_mounted": p.blobs.1,
                    "blobs_present": p.blobs.2,
                    "bytes_uploaded": p.bytes,
                    "sboms_attached": p.sboms,
                    "error": p.error,
                    "seconds": p.duration.as_secs_f64(),
                })
            })
            .collect();
    }
    value
}

/// The JUnit XML report: a suite per version and platform, a case per
/// check; for `publish`, a `publish` suite with a case per version.
pub(crate) fn junit(reports: &[ImageReport], published: &[Published]) -> String {
    let mut report = Report::new("base-images-build");
    for r in reports {
        let mut suite = TestSuite::new(format!("{} [{}]", r.key, r.platform));
        suite.add_property(quick_junit::Property::new("engine", r.engine.as_str()));
        suite.set_time(r.duration);
        if let Some(error) = &r.error {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_message("the build failed")
                .set_description(error.to_string());
            let mut case = TestCase::new("build", status);
            case.set_classname(r.key.to_string());
            suite.add_test_case(case);
        }
        for c in &r.checks {
            let status = match &c.status {
                Status::Passed | Status::Cached => TestCaseStatus::success(),
                Status::Failed(f) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(f.reason.clone()).set_description(f.to_string());
                    s
                }
                Status::TimedOut(limit) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(format!("timed out after {} s", limit.as_secs_f64()));
                    s
                }
            };
            let mut case = TestCase::new(c.check.check.id.clone(), status);
            case.set_classname(r.key.to_string()).set_time(c.duration);
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    if !published.is_empty() {
        let mut suite = TestSuite::new("publish");
        for p in published {
            let status = match &p.error {
                None => TestCaseStatus::success(),
                Some(error) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(format!("{} {}", p.action, p.address))
                        .set_description(error.clone());
                    s
                }
            };
            let mut case = TestCase::new(p.key.to_string(), status);
            case.set_classname(p.address.clone()).set_time(p.duration);
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().unwrap_or_default()
}
