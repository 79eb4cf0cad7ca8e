//! Running a resolved check set against one target: every check runs
//! concurrently with its own time limit, passes already recorded for the
//! same image are served from the cache, and each result says what ran and
//! what came out.

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::{evaluate, CheckTarget, Failure, ResolvedCheck, ResultCache};

/// The time limit of a check that sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How a check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// It held.
    Passed,
    /// It held on this image before; not run again.
    Cached,
    /// It did not hold.
    Failed(Failure),
    /// It did not finish within its time limit.
    TimedOut(Duration),
}

impl Status {
    /// Whether the check counts as passed.
    pub fn is_pass(&self) -> bool {
        matches!(self, Status::Passed | Status::Cached)
    }
}

/// One check's result.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// The check as resolved (with where it was declared).
    pub check: ResolvedCheck,
    /// How it ended.
    pub status: Status,
    /// How long it took.
    pub duration: Duration,
}

/// Runs `checks` concurrently against `target`, an image with id
/// `image_id`; `cache` serves and records passes.
pub async fn run_checks(
    target: &dyn CheckTarget,
    image_id: &str,
    checks: &[ResolvedCheck],
    cache: &mut ResultCache,
) -> Vec<CheckReport> {
    let runs = checks.iter().map(|resolved| {
        let cached = cache.passed(image_id, &resolved.check);
        async move {
            let start = Instant::now();
            let status = if cached {
                Status::Cached
            } else {
                let limit = resolved.check.timeout.unwrap_or(DEFAULT_TIMEOUT);
                match tokio::time::timeout(limit, evaluate(&resolved.check, target)).await {
                    Ok(Ok(())) => Status::Passed,
                    Ok(Err(failure)) => Status::Failed(failure),
                    Err(_) => Status::TimedOut(limit),
                }
            };
            CheckReport {
                check: resolved.clone(),
                status,
                duration: start.elapsed(),
            }
        }
    });
    let reports = join_all(runs).await;
    for report in &reports {
        if report.status == Status::Passed {
            cache.record_pass(image_id, &report.check.check);
        }
    }
    reports
}
