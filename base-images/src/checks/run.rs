//! Running a resolved check set against one target: passes already recorded
//! for the same image are served from the cache; the one-command checks of
//! each user go to one batched exec (see `batch`), environment and custom
//! checks run directly, all concurrently and each within its time limit.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::future::{join_all, BoxFuture};
use futures_util::FutureExt as _;

use super::batch::{self, BatchCommand, TIMED_OUT};
use super::eval::{judge, plan, Plan};
use super::{evaluate, Check, CheckTarget, Failure, ResolvedCheck, ResultCache};

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
    /// How long it (or the batch it ran in) took.
    pub duration: Duration,
}

/// A one-command check waiting for its batch: index in the set, the check, its command.
type Planned<'a> = (usize, &'a Check, Vec<String>);

fn limit(check: &Check) -> Duration {
    check.timeout.unwrap_or(DEFAULT_TIMEOUT)
}

/// One check run on its own, within its time limit.
async fn single(target: &dyn CheckTarget, check: &Check) -> Status {
    let limit = limit(check);
    match tokio::time::timeout(limit, evaluate(check, target)).await {
        Ok(Ok(())) => Status::Passed,
        Ok(Err(failure)) => Status::Failed(failure),
        Err(_) => Status::TimedOut(limit),
    }
}

/// The one-command checks of one user, in one exec when there are several.
async fn batched(target: &dyn CheckTarget, user: Option<&str>, items: &[Planned<'_>]) -> Vec<Status> {
    if items.len() > 1 {
        let commands: Vec<BatchCommand<'_>> = items
            .iter()
            .map(|(_, check, argv)| BatchCommand {
                argv,
                limit: limit(check),
            })
            .collect();
        let boundary = batch::boundary();
        let script = batch::script(&commands, &boundary);
        let longest = commands.iter().map(|c| c.limit).max().unwrap_or(DEFAULT_TIMEOUT);
        let argv = ["sh", "-c", script.as_str()];
        let run = target.exec_as(user, &argv);
        if let Ok(Ok(out)) = tokio::time::timeout(longest + Duration::from_secs(5), run).await {
            if let Some(outputs) = batch::parse(&out.stdout, &boundary, items.len()) {
                return items
                    .iter()
                    .zip(outputs)
                    .map(|((_, check, argv), output)| match output.exit_code {
                        TIMED_OUT => Status::TimedOut(limit(check)),
                        _ => judge(check, argv, &output).map_or_else(Status::Failed, |()| Status::Passed),
                    })
                    .collect();
            }
        }
        tracing::debug!("batched checks unavailable in this image; running them one by one");
    }
    join_all(items.iter().map(|(_, check, _)| single(target, check))).await
}

/// The reports of `checks` when every one already passed on `image_id`
/// (then no container is needed); `None` otherwise.
pub fn all_cached(image_id: &str, checks: &[ResolvedCheck], cache: &ResultCache) -> Option<Vec<CheckReport>> {
    checks
        .iter()
        .map(|c| {
            cache.passed(image_id, &c.check).then(|| CheckReport {
                check: c.clone(),
                status: Status::Cached,
                duration: Duration::ZERO,
            })
        })
        .collect()
}

/// Runs `checks` concurrently against `target`, an image with id
/// `image_id`; `cache` serves and records passes.
pub async fn run_checks(
    target: &dyn CheckTarget,
    image_id: &str,
    checks: &[ResolvedCheck],
    cache: &mut ResultCache,
) -> Vec<CheckReport> {
    let start = Instant::now();
    let mut statuses: Vec<Option<(Status, Duration)>> = vec![None; checks.len()];
    let mut groups: BTreeMap<Option<String>, Vec<Planned<'_>>> = BTreeMap::new();
    let mut direct = Vec::new();
    for (index, resolved) in checks.iter().enumerate() {
        let check = &resolved.check;
        if cache.passed(image_id, check) {
            statuses[index] = Some((Status::Cached, Duration::ZERO));
            continue;
        }
        match plan(check) {
            Plan::Command { user, argv } => groups.entry(user).or_default().push((index, check, argv)),
            Plan::Direct => direct.push((index, check)),
        }
    }
    let mut work: Vec<BoxFuture<'_, Vec<(usize, Status, Duration)>>> = Vec::new();
    for (user, items) in &groups {
        work.push(
            async move {
                let statuses = batched(target, user.as_deref(), items).await;
                let took = start.elapsed();
                items.iter().zip(statuses).map(|((i, _, _), s)| (*i, s, took)).collect()
            }
            .boxed(),
        );
    }
    for (index, check) in direct {
        work.push(async move { vec![(index, single(target, check).await, start.elapsed())] }.boxed());
    }
    for (index, status, took) in join_all(work).await.into_iter().flatten() {
        statuses[index] = Some((status, took));
    }
    checks
        .iter()
        .zip(statuses)
        .map(|(resolved, status)| {
            let (status, duration) = status.unwrap_or((Status::Failed(Failure::not_run()), Duration::ZERO));
            if status == Status::Passed {
                cache.record_pass(image_id, &resolved.check);
            }
            CheckReport {
                check: resolved.clone(),
                status,
                duration,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{BoxFuture as Boxed, Checks, ExecOutput};
    use std::sync::Mutex;

    /// A target without `sh`: every batch fails, single commands answer.
    #[derive(Default)]
    struct NoShell {
        calls: Mutex<Vec<String>>,
    }

    impl CheckTarget for NoShell {
        fn exec_as<'a>(&'a self, _: Option<&'a str>, args: &'a [&'a str]) -> Boxed<'a, Result<ExecOutput, String>> {
            self.calls.lock().unwrap().push(args.join(" "));
            let out = match args {
                ["sh", ..] => ExecOutput {
                    exit_code: 127,
                    stdout: String::new(),
                    stderr: "sh: not found".into(),
                },
                ["echo", word] => ExecOutput {
                    exit_code: 0,
                    stdout: format!("{word}\n"),
                    stderr: String::new(),
                },
                ["printenv", "HOME"] => ExecOutput {
                    exit_code: 0,
                    stdout: "/root\n".into(),
                    stderr: String::new(),
                },
                _ => ExecOutput {
                    exit_code: 1,
                    stdout: String::new(),
                    stderr: String::new(),
                },
            };
            Box::pin(async move { Ok(out) })
        }
        fn read_file<'a>(&'a self, _: &'a str) -> Boxed<'a, Result<Vec<u8>, String>> {
            Box::pin(async { Err("no".into()) })
        }
        fn env_var<'a>(&'a self, name: &'a str) -> Boxed<'a, Result<Option<String>, String>> {
            Box::pin(async move { Ok((name == "HOME").then(|| "/root".to_owned())) })
        }
        fn label<'a>(&'a self, _: &'a str) -> Boxed<'a, Result<Option<String>, String>> {
            Box::pin(async { Ok(None) })
        }
    }

    fn resolved(checks: Checks) -> Vec<ResolvedCheck> {
        crate::checks::resolve(Vec::new(), checks.finish().unwrap(), "t:1.0.0")
    }

    #[tokio::test]
    async fn without_sh_the_batch_falls_back_to_one_exec_per_check() {
        let checks = resolved(
            Checks::new()
                .output_contains("a", ["echo", "a"], "a")
                .output_contains("b", ["echo", "b"], "nope")
                .env_var_equals("home", "HOME", "/root"),
        );
        let target = NoShell::default();
        let reports = run_checks(&target, "img", &checks, &mut ResultCache::disabled()).await;
        let statuses: Vec<bool> = reports.iter().map(|r| r.status.is_pass()).collect();
        assert_eq!(statuses, [true, false, true]);
        let calls = target.calls.lock().unwrap().clone();
        assert_eq!(
            calls.len(),
            4,
            "one failed batch, then one exec per command check: {calls:?}"
        );
        assert!(calls[0].starts_with("sh -c"));
    }

    #[tokio::test]
    async fn cached_passes_are_not_run_again() {
        let checks = resolved(Checks::new().output_contains("a", ["echo", "a"], "a"));
        let target = NoShell::default();
        let mut cache = ResultCache::disabled();
        let first = run_checks(&target, "img", &checks, &mut cache).await;
        assert_eq!(first[0].status, Status::Passed);
        let second = run_checks(&target, "img", &checks, &mut cache).await;
        assert_eq!(second[0].status, Status::Cached);
        assert_eq!(target.calls.lock().unwrap().len(), 1);
    }
}
