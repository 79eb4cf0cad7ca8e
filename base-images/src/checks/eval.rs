//! What each built-in check kind runs in the image and how its result is
//! judged, engine-independent. Most kinds are one command (`plan`) whose
//! output is judged by `judge`; this split lets the runner batch many
//! commands into one exec. Environment checks read the image configuration;
//! custom checks get the `CheckTarget` handle. A failure carries the
//! command, exit code and both streams.

use std::sync::LazyLock;

use regex::Regex;

use super::model::{stream_name, Access, Check, CheckKind, Stream};
use super::target::{CheckTarget, ExecOutput};
use crate::shell::shell_words;

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

    /// A check the runner never reached (a defect if it ever shows).
    pub(crate) fn not_run() -> Self {
        Failure::plain("the check was not run")
    }

    fn of(reason: impl Into<String>, command: &[String], out: &ExecOutput) -> Self {
        Failure {
            reason: reason.into(),
            command: Some(command.to_vec()),
            exit_code: Some(out.exit_code),
            stdout: out.stdout.clone(),
            stderr: out.stderr.clone(),
        }
    }
}

impl std::fmt::Display for Failure {
    /// The reason, then the command, exit code and the last lines of each
    /// stream, indented.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.reason)?;
        if let Some(command) = &self.command {
            write!(f, "\n    command: {}", shell_words(command))?;
        }
        if let Some(code) = self.exit_code {
            write!(f, "\n    exit code: {code}")?;
        }
        for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let lines: Vec<&str> = text.trim_end().lines().collect();
            if lines.is_empty() {
                continue;
            }
            write!(f, "\n    {name}:")?;
            if lines.len() > 20 {
                write!(f, "\n      ... ({} earlier lines)", lines.len() - 20)?;
            }
            for line in &lines[lines.len().saturating_sub(20)..] {
                write!(f, "\n      {line}")?;
            }
        }
        Ok(())
    }
}

/// How a check is carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Run one command as `user` (the image's user when `None`), then `judge`.
    Command {
        /// The user.
        user: Option<String>,
        /// The command.
        argv: Vec<String>,
    },
    /// Read the image configuration or call custom code: `evaluate` does it.
    Direct,
}

static VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+(?:\.\d+)+").unwrap_or_else(|e| unreachable!("static regex: {e}")));

const READ_SCRIPT: &str = r#"test -r "$1" && ls "$1" >/dev/null"#;
const WRITE_SCRIPT: &str = r#"f="$1/.base-images-write-test.$$" && : > "$f" && rm -f "$f""#;

/// The command a check runs, if it is a one-command check.
pub fn plan(check: &Check) -> Plan {
    let user = check.user.clone();
    let argv: Vec<String> = match &check.kind {
        CheckKind::CommandSucceeds { args }
        | CheckKind::OutputContains { args, .. }
        | CheckKind::OutputMatches { args, .. }
        | CheckKind::ToolVersion { args, .. } => args.clone(),
        CheckKind::FileExists { path, .. } => owned(&["stat", "-c", "%a %U:%G", path]),
        CheckKind::UserExists { name, .. } => owned(&["id", name]),
        CheckKind::UserAccess {
            user: who,
            path,
            access,
            ..
        } => {
            let script = if *access == Access::Read {
                READ_SCRIPT
            } else {
                WRITE_SCRIPT
            };
            return Plan::Command {
                user: Some(who.clone()),
                argv: owned(&["sh", "-c", script, "sh", path]),
            };
        }
        CheckKind::Timezone { .. } => owned(&["date", "+%Z"]),
        // The environment a process in the container sees (the runtime's
        // HOME included), not only the image configuration.
        CheckKind::EnvVarExists { name } | CheckKind::EnvVarEquals { name, .. } => owned(&["printenv", name]),
        CheckKind::LabelEquals { .. } | CheckKind::Custom { .. } => return Plan::Direct,
    };
    Plan::Command { user, argv }
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// Judges the output of a one-command check's command.
pub fn judge(check: &Check, argv: &[String], out: &ExecOutput) -> Result<(), Failure> {
    let ran = Ran { argv, out };
    match &check.kind {
        CheckKind::CommandSucceeds { .. } => ran.succeeded(),
        CheckKind::OutputContains { stream, text, .. } => ran.contains(*stream, text),
        CheckKind::OutputMatches { stream, pattern, .. } => ran.matches(*stream, pattern),
        CheckKind::ToolVersion { version, .. } => ran.reports_version(version),
        CheckKind::FileExists { path, mode, owner } => ran.file(path, *mode, owner.as_deref()),
        CheckKind::UserExists { name, uid, gid } => ran.user(name, *uid, *gid),
        CheckKind::UserAccess {
            user,
            path,
            access,
            allowed,
        } => ran.access(user, path, *access, *allowed),
        CheckKind::Timezone { timezone } => ran.timezone(timezone),
        CheckKind::EnvVarExists { name } => ran.env_var_set(name),
        CheckKind::EnvVarEquals { name, value } => ran.env_var_equals(name, value),
        CheckKind::LabelEquals { .. } | CheckKind::Custom { .. } => {
            Err(Failure::plain("this check kind runs no command"))
        }
    }
}

/// A check's command as it ran: what `judge` reads, one method per kind.
struct Ran<'a> {
    argv: &'a [String],
    out: &'a ExecOutput,
}

impl Ran<'_> {
    /// A failure for `reason`, with the command and what it answered.
    fn fail(&self, reason: String) -> Result<(), Failure> {
        Err(Failure::of(reason, self.argv, self.out))
    }

    /// The command exited 0.
    fn succeeded(&self) -> Result<(), Failure> {
        if self.out.exit_code == 0 {
            Ok(())
        } else {
            self.fail(format!("exited with code {}", self.out.exit_code))
        }
    }

    fn contains(&self, stream: Stream, text: &str) -> Result<(), Failure> {
        self.succeeded()?;
        if pick(self.out, stream).contains(text) {
            Ok(())
        } else {
            self.fail(format!("{} does not contain {text:?}", stream_name(stream)))
        }
    }

    fn matches(&self, stream: Stream, pattern: &str) -> Result<(), Failure> {
        self.succeeded()?;
        let re = Regex::new(pattern).map_err(|e| Failure::plain(format!("invalid pattern: {e}")))?;
        if re.is_match(&pick(self.out, stream)) {
            Ok(())
        } else {
            self.fail(format!("{} does not match /{pattern}/", stream_name(stream)))
        }
    }

    fn reports_version(&self, version: &str) -> Result<(), Failure> {
        self.succeeded()?;
        match VERSION.find(&pick(self.out, Stream::Both)).map(|m| m.as_str()) {
            Some(found) if found == version => Ok(()),
            Some(found) => self.fail(format!("reports version {found}, expected {version}")),
            None => self.fail(format!("prints no version number, expected {version}")),
        }
    }

    /// `stat -c '%a %U:%G'`'s answer: the path exists, with the mode and
    /// owner (`user`, or `user:group`) expected.
    fn file(&self, path: &str, mode: Option<u32>, owner: Option<&str>) -> Result<(), Failure> {
        if self.out.exit_code != 0 {
            return self.fail(format!("{path} does not exist"));
        }
        let mut fields = self.out.stdout.split_whitespace();
        let (found_mode, found_owner) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        if mode.is_some_and(|mode| u32::from_str_radix(found_mode, 8).ok() != Some(mode)) {
            return self.fail(format!(
                "{path} has mode {found_mode}, expected {:o}",
                mode.unwrap_or_default()
            ));
        }
        if let Some(owner) = owner {
            let same = if owner.contains(':') {
                found_owner == owner
            } else {
                found_owner.split(':').next() == Some(owner)
            };
            if !same {
                return self.fail(format!("{path} is owned by {found_owner}, expected {owner}"));
            }
        }
        Ok(())
    }

    /// `id`'s answer: the user exists with the uid and gid expected.
    fn user(&self, name: &str, uid: u32, gid: u32) -> Result<(), Failure> {
        if self.out.exit_code != 0 {
            return self.fail(format!("user {name} does not exist"));
        }
        let out = &self.out.stdout;
        if out.contains(&format!("uid={uid}(")) && out.contains(&format!("gid={gid}(")) {
            Ok(())
        } else {
            self.fail(format!("user {name} is not uid {uid} / gid {gid}"))
        }
    }

    fn access(&self, user: &str, path: &str, access: Access, allowed: bool) -> Result<(), Failure> {
        let verb = if access == Access::Read { "read" } else { "write" };
        match (self.out.exit_code == 0, allowed) {
            (true, true) | (false, false) => Ok(()),
            (false, true) => self.fail(format!("user {user} cannot {verb} {path}")),
            (true, false) => self.fail(format!("user {user} can {verb} {path}, but must not")),
        }
    }

    fn timezone(&self, timezone: &str) -> Result<(), Failure> {
        self.succeeded()?;
        let found = self.out.stdout.trim();
        if found == timezone {
            Ok(())
        } else {
            self.fail(format!("the time zone is {found:?}, expected {timezone:?}"))
        }
    }

    /// `printenv`'s answer: the variable is set.
    fn env_var_set(&self, name: &str) -> Result<(), Failure> {
        if self.out.exit_code == 0 {
            Ok(())
        } else {
            self.fail(format!("environment variable {name} is not set in the image"))
        }
    }

    /// `printenv`'s answer: the variable is set to `value`.
    fn env_var_equals(&self, name: &str, value: &str) -> Result<(), Failure> {
        let found = self.out.stdout.strip_suffix('\n').unwrap_or(&self.out.stdout);
        match self.out.exit_code {
            0 if found == value => Ok(()),
            0 => self.fail(format!("{name} is {found:?}, expected {value:?}")),
            _ => self.fail(format!("environment variable {name} is not set, expected {value:?}")),
        }
    }
}

/// Runs `check` against `target` on its own; `Ok` when it holds.
pub async fn evaluate(check: &Check, target: &dyn CheckTarget) -> Result<(), Failure> {
    if let Plan::Command { user, argv } = plan(check) {
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = target.exec_as(user.as_deref(), &args).await.map_err(|e| Failure {
            command: Some(argv.clone()),
            ..Failure::plain(format!("could not run the command: {e}"))
        })?;
        return judge(check, &argv, &out);
    }
    match &check.kind {
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
        CheckKind::LabelEquals { name, value } => match target.label(name).await.map_err(Failure::plain)? {
            Some(found) if &found == value => Ok(()),
            Some(found) => Err(Failure::plain(format!("label {name} is {found:?}, expected {value:?}"))),
            None => Err(Failure::plain(format!("label {name} is not set, expected {value:?}"))),
        },
        CheckKind::Custom { function } => (function.0)(target).await.map_err(Failure::plain),
        _ => Err(Failure::plain("unplanned check kind")),
    }
}

fn pick(out: &ExecOutput, stream: Stream) -> String {
    match stream {
        Stream::Stdout => out.stdout.clone(),
        Stream::Stderr => out.stderr.clone(),
        Stream::Both => format!("{}{}", out.stdout, out.stderr),
    }
}
