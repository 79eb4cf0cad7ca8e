//! Running a resolved check set against one target: passes already recorded
//! for the same image are served from the cache; the one-command checks of
//! each user go to one batched exec (see `batch`), environment and custom
//! checks run directly, all concurrently and each within its time limit.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use futures_util::FutureExt as _;

use super::batch::{self, BatchCommand, TIMED_OUT};
use super::cache::ResultCache;
use super::eval::{evaluate, judge, plan, Failure, Plan};
use super::model::Check;
use super::resolve::ResolvedCheck;
use super::target::{BoxFuture, CheckTarget, ExecOutput, TargetError};

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

/// How long after its limit a check is given up on, when the engine did
/// not stop it (`timeout -k 1` kills one second after the limit).
const GRACE: Duration = Duration::from_secs(3);

/// A target whose every command is bounded by a check's deadline, so a
/// process a check starts (a custom check's too) is stopped with it.
struct Limited<'a> {
    target: &'a dyn CheckTarget,
    until: Instant,
}

impl CheckTarget for Limited<'_> {
    fn exec_as<'a>(
        &'a self,
        user: Option<&'a str>,
        args: &'a [&'a str],
    ) -> BoxFuture<'a, Result<ExecOutput, TargetError>> {
        let left = self.until.saturating_duration_since(Instant::now());
        self.target.exec_for(user, args, left)
    }

    fn read_file<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Vec<u8>, TargetError>> {
        self.target.read_file(path)
    }

    fn env_var<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, TargetError>> {
        self.target.env_var(name)
    }

    fn label<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, TargetError>> {
        self.target.label(name)
    }
}

/// One check run on its own, within its time limit; the processes it
/// started are stopped at the limit where the engine can.
async fn single(target: &dyn CheckTarget, check: &Check) -> Status {
    let limit = limit(check);
    let until = Instant::now() + limit;
    let limited = Limited { target, until };
    match tokio::time::timeout(limit + GRACE, evaluate(check, &limited)).await {
        // Its commands were cut at the limit, whatever it made of that.
        _ if Instant::now() >= until => Status::TimedOut(limit),
        Ok(Ok(())) => Status::Passed,
        Ok(Err(failure)) => Status::Failed(failure),
        Err(_) => Status::TimedOut(limit),
    }
}

/// The one-command checks of one user, in one exec when there are several.
/// What the batch could not judge (it was cut off, or the image cannot run
/// it) runs again one by one; what it judged does not.
async fn batched(target: &dyn CheckTarget, user: Option<&str>, items: &[Planned<'_>]) -> Vec<Status> {
    let mut statuses = Vec::with_capacity(items.len());
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
        let outputs = match target.exec_for(user, &argv, longest + GRACE).await {
            Ok(out) => batch::parse_prefix(&out.stdout, &boundary, items.len()),
            Err(_) => Vec::new(),
        };
        statuses.extend(
            items
                .iter()
                .zip(outputs)
                .map(|((_, check, argv), output)| match output.exit_code {
                    TIMED_OUT => Status::TimedOut(limit(check)),
                    _ => judge(check, argv, &output).map_or_else(Status::Failed, |()| Status::Passed),
                }),
        );
        if statuses.len() < items.len() {
            tracing::debug!(
                judged = statuses.len(),
                of = items.len(),
                "the batch was cut off or cannot run in this image; running the rest one by one"
            );
        }
    }
    let rest = &items[statuses.len()..];
    statuses.extend(join_all(rest.iter().map(|(_, check, _)| single(target, check))).await);
    statuses
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
    let mut work: Vec<futures_util::future::BoxFuture<'_, Vec<(usize, Status, Duration)>>> = Vec::new();
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
    use crate::checks::builder::Checks;
    use crate::checks::target::BoxFuture as Boxed;
    use std::sync::Mutex;

    /// A target that records each command and answers it with `answer`;
    /// `HOME` is its one environment variable.
    struct Scripted {
        calls: Mutex<Vec<String>>,
        answer: fn(&[&str]) -> ExecOutput,
    }

    impl Scripted {
        fn new(answer: fn(&[&str]) -> ExecOutput) -> Self {
            Scripted {
                calls: Mutex::default(),
                answer,
            }
        }
    }

    impl CheckTarget for Scripted {
        fn exec_as<'a>(
            &'a self,
            _: Option<&'a str>,
            args: &'a [&'a str],
        ) -> Boxed<'a, Result<ExecOutput, TargetError>> {
            self.calls.lock().unwrap().push(args.join(" "));
            let out = (self.answer)(args);
            Box::pin(async move { Ok(out) })
        }
        fn read_file<'a>(&'a self, _: &'a str) -> Boxed<'a, Result<Vec<u8>, TargetError>> {
            Box::pin(async { Err(TargetError::Unexpected("no".into())) })
        }
        fn env_var<'a>(&'a self, name: &'a str) -> Boxed<'a, Result<Option<String>, TargetError>> {
            Box::pin(async move { Ok((name == "HOME").then(|| "/root".to_owned())) })
        }
        fn label<'a>(&'a self, _: &'a str) -> Boxed<'a, Result<Option<String>, TargetError>> {
            Box::pin(async { Ok(None) })
        }
    }

    fn output(exit_code: i64, stdout: &str, stderr: &str) -> ExecOutput {
        ExecOutput {
            exit_code,
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
        }
    }

    /// An image without `sh`: every batch fails, single commands answer.
    fn no_shell(args: &[&str]) -> ExecOutput {
        match args {
            ["sh", ..] => output(127, "", "sh: not found"),
            ["echo", word] => output(0, &format!("{word}\n"), ""),
            ["printenv", "HOME"] => output(0, "/root\n", ""),
            _ => output(1, "", ""),
        }
    }

    /// A batch script cut off after its first two frames.
    fn cut_off(args: &[&str]) -> ExecOutput {
        match args {
            ["sh", "-c", script] => {
                let boundary = script.split("b='").nth(1).unwrap().split('\'').next().unwrap();
                output(
                    137,
                    &format!("{boundary}:0:0\na\n{boundary}:\n{boundary};\n{boundary}:1:0\nb\n{boundary}:\n{boundary};\n{boundary}:2:"),
                    "",
                )
            }
            [_, word] => output(0, &format!("{word}\n"), ""),
            _ => unreachable!(),
        }
    }

    fn resolved(checks: Checks) -> Vec<ResolvedCheck> {
        crate::checks::resolve::resolve(Vec::new(), checks.finish().unwrap(), "t:1.0.0")
    }

    #[tokio::test]
    async fn without_sh_the_batch_falls_back_to_one_exec_per_check() {
        let checks = resolved(
            Checks::new()
                .output_contains("a", ["echo", "a"], "a")
                .output_contains("b", ["echo", "b"], "nope")
                .env_var_equals("home", "HOME", "/root"),
        );
        let target = Scripted::new(no_shell);
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
    async fn a_cut_off_batch_runs_again_only_what_it_did_not_judge() {
        let checks = resolved(
            Checks::new()
                .output_contains("a", ["echo", "a"], "a")
                .output_contains("b", ["echo", "b"], "b")
                .output_contains("c", ["echo", "c"], "c"),
        );
        let target = Scripted::new(cut_off);
        let reports = run_checks(&target, "img", &checks, &mut ResultCache::disabled()).await;
        assert!(reports.iter().all(|r| r.status.is_pass()), "{reports:?}");
        let calls = target.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 2, "the batch, then only `c` again: {calls:?}");
        assert_eq!(calls[1], "echo c");
    }

    #[tokio::test]
    async fn cached_passes_are_not_run_again() {
        let checks = resolved(Checks::new().output_contains("a", ["echo", "a"], "a"));
        let target = Scripted::new(no_shell);
        let mut cache = ResultCache::disabled();
        let first = run_checks(&target, "img", &checks, &mut cache).await;
        assert_eq!(first[0].status, Status::Passed);
        let second = run_checks(&target, "img", &checks, &mut cache).await;
        assert_eq!(second[0].status, Status::Cached);
        assert_eq!(target.calls.lock().unwrap().len(), 1);
    }
}
