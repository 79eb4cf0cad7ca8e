//! What each built-in check kind runs in the image and how its result is
//! judged: engine-independent, over the `CheckTarget` handle. A failure
//! carries the command, exit code and both streams, so a report can show
//! exactly what happened.

use std::sync::LazyLock;

use regex::Regex;

use super::{stream_name, Access, Check, CheckKind, CheckTarget, ExecOutput, Stream};

/// Why a check failed, with what it ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What was expected and what was found.
    pub reason: String,
    /// The command that ran, if any.
    pub command: Option<Vec<String>>,
    /// Its exit code.
    pub exit_code: Option<i64>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Failure {
    fn plain(reason: impl Into<String>) -> Self {
        Failure {
            reason: reason.into(),
            command: None,
            exit_code: None,
            stdout: String::new(),
            stderr: String::new(),
        }
    }

    fn of(reason: impl Into<String>, command: &[&str], out: &ExecOutput) -> Self {
        Failure {
            reason: reason.into(),
            command: Some(command.iter().map(|s| (*s).to_owned()).collect()),
            exit_code: Some(out.exit_code),
            stdout: out.stdout.clone(),
            stderr: out.stderr.clone(),
        }
    }
}

static VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+(?:\.\d+)+").unwrap_or_else(|e| unreachable!("static regex: {e}")));

/// Runs `check` against `target`; `Ok` when it holds.
pub async fn evaluate(check: &Check, target: &dyn CheckTarget) -> Result<(), Failure> {
    let user = check.user.as_deref();
    match &check.kind {
        CheckKind::CommandSucceeds { args } => succeed(target, user, &strs(args)).await.map(drop),
        CheckKind::OutputContains { args, stream, text } => {
            let argv = strs(args);
            let out = succeed(target, user, &argv).await?;
            let seen = pick(&out, *stream);
            if seen.contains(text.as_str()) {
                Ok(())
            } else {
                Err(Failure::of(
                    format!("{} does not contain {text:?}", stream_name(*stream)),
                    &argv,
                    &out,
                ))
            }
        }
        CheckKind::OutputMatches { args, stream, pattern } => {
            let argv = strs(args);
            let out = succeed(target, user, &argv).await?;
            let re = Regex::new(pattern).map_err(|e| Failure::plain(format!("invalid pattern: {e}")))?;
            if re.is_match(&pick(&out, *stream)) {
                Ok(())
            } else {
                Err(Failure::of(
                    format!("{} does not match /{pattern}/", stream_name(*stream)),
                    &argv,
                    &out,
                ))
            }
        }
        CheckKind::ToolVersion { args, version } => {
            let argv = strs(args);
            let out = succeed(target, user, &argv).await?;
            let text = pick(&out, Stream::Both);
            match VERSION.find(&text).map(|m| m.as_str()) {
                Some(found) if found == version => Ok(()),
                Some(found) => Err(Failure::of(
                    format!("reports version {found}, expected {version}"),
                    &argv,
                    &out,
                )),
                None => Err(Failure::of(
                    format!("prints no version number, expected {version}"),
                    &argv,
                    &out,
                )),
            }
        }
        CheckKind::EnvVarExists { name } => match target.env_var(name).await.map_err(Failure::plain)? {
            Some(_) => Ok(()),
            None => Err(Failure::plain(format!(
                "environment variable {name} is not set in the image"
            ))),
        },
        CheckKind::EnvVarEquals { name, value } => match target.env_var(name).await.map_err(Failure::plain)? {
            Some(found) if &found == value => Ok(()),
            Some(found) => Err(Failure::plain(format!("{name} is {found:?}, expected {value:?}"))),
            None => Err(Failure::plain(format!(
                "environment variable {name} is not set, expected {value:?}"
            ))),
        },
        CheckKind::FileExists { path, mode, owner } => {
            let argv = ["stat", "-c", "%a %U:%G", path.as_str()];
            let out = run(target, user, &argv).await?;
            if out.exit_code != 0 {
                return Err(Failure::of(format!("{path} does not exist"), &argv, &out));
            }
            let mut fields = out.stdout.split_whitespace();
            let (found_mode, found_owner) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
            if let Some(mode) = mode {
                if u32::from_str_radix(found_mode, 8).ok() != Some(*mode) {
                    return Err(Failure::of(
                        format!("{path} has mode {found_mode}, expected {mode:o}"),
                        &argv,
                        &out,
                    ));
                }
            }
            if let Some(owner) = owner {
                let matches = if owner.contains(':') {
                    found_owner == owner
                } else {
                    found_owner.split(':').next() == Some(owner)
                };
                if !matches {
                    return Err(Failure::of(
                        format!("{path} is owned by {found_owner}, expected {owner}"),
                        &argv,
                        &out,
                    ));
                }
            }
            Ok(())
        }
        CheckKind::UserExists { name, uid, gid } => {
            let argv = ["id", name.as_str()];
            let out = run(target, None, &argv).await?;
            if out.exit_code != 0 {
                return Err(Failure::of(format!("user {name} does not exist"), &argv, &out));
            }
            let expected_uid = format!("uid={uid}(");
            let expected_gid = format!("gid={gid}(");
            if out.stdout.contains(&expected_uid) && out.stdout.contains(&expected_gid) {
                Ok(())
            } else {
                Err(Failure::of(
                    format!("user {name} is not uid {uid} / gid {gid}"),
                    &argv,
                    &out,
                ))
            }
        }
        CheckKind::UserAccess {
            user: who,
            path,
            access,
            allowed,
        } => {
            let script = match access {
                Access::Read => r#"test -r "$1" && ls "$1" >/dev/null"#,
                Access::Write => r#"f="$1/.base-images-write-test.$$" && : > "$f" && rm -f "$f""#,
            };
            let argv = ["sh", "-c", script, "sh", path.as_str()];
            let out = run(target, Some(who), &argv).await?;
            let verb = match access {
                Access::Read => "read",
                Access::Write => "write",
            };
            match (out.exit_code == 0, *allowed) {
                (true, true) | (false, false) => Ok(()),
                (false, true) => Err(Failure::of(format!("user {who} cannot {verb} {path}"), &argv, &out)),
                (true, false) => Err(Failure::of(
                    format!("user {who} can {verb} {path}, but must not"),
                    &argv,
                    &out,
                )),
            }
        }
        CheckKind::Timezone { timezone } => {
            let argv = ["date", "+%Z"];
            let out = succeed(target, user, &argv).await?;
            if out.stdout.trim() == timezone {
                Ok(())
            } else {
                Err(Failure::of(
                    format!("the time zone is {:?}, expected {timezone:?}", out.stdout.trim()),
                    &argv,
                    &out,
                ))
            }
        }
        CheckKind::Custom { function } => (function.0)(target).await.map_err(Failure::plain),
    }
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

async fn run(target: &dyn CheckTarget, user: Option<&str>, argv: &[&str]) -> Result<ExecOutput, Failure> {
    target.exec_as(user, argv).await.map_err(|e| Failure {
        command: Some(argv.iter().map(|s| (*s).to_owned()).collect()),
        ..Failure::plain(format!("could not run the command: {e}"))
    })
}

async fn succeed(target: &dyn CheckTarget, user: Option<&str>, argv: &[&str]) -> Result<ExecOutput, Failure> {
    let out = run(target, user, argv).await?;
    if out.exit_code == 0 {
        Ok(out)
    } else {
        Err(Failure::of(format!("exited with code {}", out.exit_code), argv, &out))
    }
}

fn pick(out: &ExecOutput, stream: Stream) -> String {
    match stream {
        Stream::Stdout => out.stdout.clone(),
        Stream::Stderr => out.stderr.clone(),
        Stream::Both => format!("{}{}", out.stdout, out.stderr),
    }
}
