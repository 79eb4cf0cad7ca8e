//! What a build tells its users: a line per version as it finishes, a
//! summary table, every failure in full at the end (image, check id and
//! description, command, exit code, stdout, stderr), and machine-readable
//! reports for CI (JSON, JUnit with one test case per version x check).

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use base_images::checks::Status;
use base_images::engine::pipeline::ImageReport;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

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
    let (style, mark) = if report.passed() {
        (GREEN, "ok  ")
    } else {
        (RED, "FAIL")
    };
    format!(
        "{style}{mark}{style:#} {} [{}] {} check(s): {} passed ({cached} cached), {failed} failed{steps} {DIM}({:.1} s){DIM:#}",
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
    let widths: Vec<usize> = (0..7)
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

/// The JSON report.
pub(crate) fn json(reports: &[ImageReport]) -> serde_json::Value {
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
    serde_json::json!({ "passed": reports.iter().all(ImageReport::passed), "versions": versions })
}

/// The JUnit XML report: a suite per version, a case per check.
pub(crate) fn junit(reports: &[ImageReport]) -> String {
    let mut report = Report::new("base-images-build");
    for r in reports {
        let mut suite = TestSuite::new(format!("{} [{}]", r.key, r.platform));
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
    report.to_string().unwrap_or_default()
}
