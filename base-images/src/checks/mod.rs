//! Sanity checks as data: a `Check` has a stable id, a description and a
//! kind (a built-in assertion, or a custom async function run against the
//! built image). `Checks` is the builder a `#[sanity_checks]` function
//! receives; it records misuse instead of panicking, and `finish` reports
//! it. Inheritance lives in `resolve`; running checks is the engines' job.

mod batch;
mod cache;
mod eval;
mod resolve;
mod run;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Serialize;

use crate::Error;

pub use crate::shell::shell_words;
pub use cache::ResultCache;
pub use eval::{evaluate, judge, plan, Failure, Plan};
pub use resolve::{drop_inherited, resolve, Origin, ResolvedCheck};
pub use run::{all_cached, run_checks, CheckReport, Status, DEFAULT_TIMEOUT};

/// Which output stream of a command a check reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// Standard output followed by standard error.
    Both,
}

/// File access a user is expected to have, or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Listing / reading.
    Read,
    /// Creating files in a directory.
    Write,
}

/// What a check asserts.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckKind {
    /// The command exits 0.
    CommandSucceeds {
        /// The command.
        args: Vec<String>,
    },
    /// The command exits 0 and a stream contains `text`.
    OutputContains {
        /// The command.
        args: Vec<String>,
        /// Which stream.
        stream: Stream,
        /// The expected text.
        text: String,
    },
    /// The command exits 0 and a stream matches a regular expression.
    OutputMatches {
        /// The command.
        args: Vec<String>,
        /// Which stream.
        stream: Stream,
        /// The regular expression (Rust `regex` syntax).
        pattern: String,
    },
    /// The first version number (`1.2.3`) a command prints equals `version`.
    ToolVersion {
        /// The command, e.g. `python --version`.
        args: Vec<String>,
        /// The expected version.
        version: String,
    },
    /// An environment variable of the image is set.
    EnvVarExists {
        /// The variable.
        name: String,
    },
    /// A label of the image has exactly `value`.
    LabelEquals {
        /// The label.
        name: String,
        /// The expected value.
        value: String,
    },
    /// An environment variable of the image has exactly `value`.
    EnvVarEquals {
        /// The variable.
        name: String,
        /// The expected value.
        value: String,
    },
    /// A path exists, optionally with a mode and owner.
    FileExists {
        /// The absolute path.
        path: String,
        /// Expected permission bits.
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<u32>,
        /// Expected owner, `user` or `user:group`.
        #[serde(skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
    },
    /// A user exists with the given uid and primary gid.
    UserExists {
        /// The user name.
        name: String,
        /// Its uid.
        uid: u32,
        /// Its primary gid.
        gid: u32,
    },
    /// A user can (or cannot) read or write a directory.
    UserAccess {
        /// The user name.
        user: String,
        /// The directory.
        path: String,
        /// Read or write.
        access: Access,
        /// Whether the access is expected to succeed.
        allowed: bool,
    },
    /// The image's local time zone is `timezone` (as `date +%Z` prints it).
    Timezone {
        /// The expected zone abbreviation, e.g. `UTC`.
        timezone: String,
    },
    /// A custom async function.
    Custom {
        /// The function.
        #[serde(skip)]
        function: CustomCheck,
    },
}

/// A command's result, as a check target returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit code.
    pub exit_code: i64,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Why a check target could not do what a check asked of it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The engine client's request failed.
    #[error("the engine failed to {action}: {source}")]
    Request {
        /// What was asked.
        action: String,
        /// The client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The engine failed, as the library reports it (the Dagger boundary).
    #[error(transparent)]
    Engine(#[from] Error),
    /// No answer within the time given.
    #[error("no answer within {:.1} s", .0.as_secs_f64())]
    TimedOut(Duration),
    /// The answer is not what was asked for.
    #[error("{0}")]
    Unexpected(String),
}

impl TargetError {
    /// A failed request of the engine's client.
    pub fn request(
        action: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        TargetError::Request {
            action: action.into(),
            source: source.into(),
        }
    }
}

/// A custom check fails with text: `target.exec(..).await?` works in one.
impl From<TargetError> for String {
    fn from(error: TargetError) -> String {
        error.to_string()
    }
}

/// A boxed future, as custom checks and check targets return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A running container a check inspects; engines implement it.
pub trait CheckTarget: Send + Sync {
    /// Runs a command (argv) in the container as `user` (the image's user
    /// when `None`).
    fn exec_as<'a>(
        &'a self,
        user: Option<&'a str>,
        args: &'a [&'a str],
    ) -> BoxFuture<'a, Result<ExecOutput, TargetError>>;
    /// Runs a command (argv) in the container as the image's user.
    fn exec<'a>(&'a self, args: &'a [&'a str]) -> BoxFuture<'a, Result<ExecOutput, TargetError>> {
        self.exec_as(None, args)
    }
    /// Runs a command as `user` for at most `limit`. At the limit an
    /// engine that can stops the process (the Docker engine runs it under
    /// the image's `timeout`) and answers what it printed with exit code
    /// 124; this default drops the request and answers an error.
    fn exec_for<'a>(
        &'a self,
        user: Option<&'a str>,
        args: &'a [&'a str],
        limit: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput, TargetError>> {
        Box::pin(async move {
            tokio::time::timeout(limit, self.exec_as(user, args))
                .await
                .unwrap_or(Err(TargetError::TimedOut(limit)))
        })
    }
    /// Reads a file of the container.
    fn read_file<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Vec<u8>, TargetError>>;
    /// Reads an environment variable of the image.
    fn env_var<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, TargetError>>;
    /// Reads a label of the image.
    fn label<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, TargetError>>;
}

/// The signature of a custom check: `Err(text)` fails it with that text.
pub type CustomCheckFn = for<'a> fn(&'a dyn CheckTarget) -> BoxFuture<'a, Result<(), String>>;

/// A custom check function, compared by address.
#[derive(Clone, Copy)]
pub struct CustomCheck(pub CustomCheckFn);

impl fmt::Debug for CustomCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CustomCheck(fn)")
    }
}

impl PartialEq for CustomCheck {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::fn_addr_eq(self.0, other.0)
    }
}

/// One sanity check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// Stable id; a later version replaces an inherited check by reusing it.
    pub id: String,
    /// What the check asserts, in words.
    pub description: String,
    /// The assertion.
    pub kind: CheckKind,
    /// The user to run as, if not the image's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Time limit, if not the engine's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Whether the check needs the network (checks run without by default).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub network: bool,
}

fn argv<I, S>(args: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    args.into_iter().map(Into::into).collect()
}

impl Check {
    /// A check of the given kind with a description derived from it.
    pub fn new(id: impl Into<String>, kind: CheckKind) -> Self {
        Check {
            id: id.into(),
            description: describe(&kind),
            kind,
            user: None,
            timeout: None,
            network: false,
        }
    }

    /// Replaces the derived description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Runs the check as `user`.
    pub fn as_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Sets the time limit.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Gives the check network access.
    pub fn with_network(mut self) -> Self {
        self.network = true;
        self
    }

    /// Replaces `{image}` and `{base_image}` in every text of the check
    /// with the key and root image of the version it is resolved for.
    pub fn expand(&mut self, image: &str, base_image: &str) {
        let sub = |text: &mut String| {
            if text.contains('{') {
                *text = text.replace("{image}", image).replace("{base_image}", base_image);
            }
        };
        sub(&mut self.description);
        if let Some(user) = &mut self.user {
            sub(user);
        }
        match &mut self.kind {
            CheckKind::CommandSucceeds { args } => args.iter_mut().for_each(sub),
            CheckKind::OutputContains { args, text: value, .. }
            | CheckKind::OutputMatches {
                args, pattern: value, ..
            }
            | CheckKind::ToolVersion { args, version: value } => {
                args.iter_mut().for_each(sub);
                sub(value);
            }
            CheckKind::EnvVarExists { name } => sub(name),
            CheckKind::EnvVarEquals { name, value } | CheckKind::LabelEquals { name, value } => {
                sub(name);
                sub(value);
            }
            CheckKind::FileExists { path, owner, .. } => {
                sub(path);
                if let Some(owner) = owner {
                    sub(owner);
                }
            }
            CheckKind::UserExists { name, .. } => sub(name),
            CheckKind::UserAccess { user, path, .. } => {
                sub(user);
                sub(path);
            }
            CheckKind::Timezone { timezone } => sub(timezone),
            CheckKind::Custom { .. } => {}
        }
    }

    fn problem(&self) -> Option<String> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !id_ok {
            return Some("has an invalid id; an id is 1 to 64 lowercase letters, digits, '.', '_' or '-'".into());
        }
        if self.description.trim().is_empty() {
            return Some("has an empty description".into());
        }
        match &self.kind {
            CheckKind::CommandSucceeds { args }
            | CheckKind::OutputContains { args, .. }
            | CheckKind::OutputMatches { args, .. }
            | CheckKind::ToolVersion { args, .. }
                if args.first().is_none_or(String::is_empty) =>
            {
                Some("has an empty command; give at least the program to run".into())
            }
            CheckKind::OutputMatches { pattern, .. } => regex::Regex::new(pattern)
                .err()
                .map(|e| format!("has an invalid regular expression: {e}")),
            CheckKind::FileExists { path, .. } | CheckKind::UserAccess { path, .. } if !path.starts_with('/') => {
                Some(format!("uses path `{path}`; write an absolute path"))
            }
            _ => None,
        }
    }
}

fn describe(kind: &CheckKind) -> String {
    match kind {
        CheckKind::CommandSucceeds { args } => format!("`{}` succeeds", shell_words(args)),
        CheckKind::OutputContains { args, stream, text } => {
            format!("`{}` {} contains {text:?}", shell_words(args), stream_name(*stream))
        }
        CheckKind::OutputMatches { args, stream, pattern } => {
            format!("`{}` {} matches /{pattern}/", shell_words(args), stream_name(*stream))
        }
        CheckKind::ToolVersion { args, version } => format!("`{}` reports version {version}", shell_words(args)),
        CheckKind::EnvVarExists { name } => format!("environment variable {name} is set"),
        CheckKind::EnvVarEquals { name, value } => format!("environment variable {name} is {value:?}"),
        CheckKind::LabelEquals { name, value } => format!("label {name} is {value:?}"),
        CheckKind::FileExists { path, mode, owner } => {
            let mut text = format!("{path} exists");
            if let Some(mode) = mode {
                text.push_str(&format!(" with mode {mode:o}"));
            }
            if let Some(owner) = owner {
                text.push_str(&format!(", owned by {owner}"));
            }
            text
        }
        CheckKind::UserExists { name, uid, gid } => format!("user {name} exists with uid {uid} and gid {gid}"),
        CheckKind::UserAccess {
            user,
            path,
            access,
            allowed,
        } => format!(
            "user {user} {} {} {path}",
            if *allowed { "can" } else { "cannot" },
            match access {
                Access::Read => "read",
                Access::Write => "write",
            }
        ),
        CheckKind::Timezone { timezone } => format!("the time zone is {timezone}"),
        CheckKind::Custom { .. } => "custom check".into(),
    }
}

fn stream_name(stream: Stream) -> &'static str {
    match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
        Stream::Both => "output",
    }
}

/// The builder a `#[sanity_checks]` function receives and returns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checks {
    items: Vec<Check>,
    removed: Vec<String>,
}

impl Checks {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a check built with [`Check::new`] (for descriptions, users, timeouts).
    pub fn with(mut self, check: Check) -> Self {
        self.items.push(check);
        self
    }

    /// The command exits 0.
    pub fn command_succeeds<I, S>(self, id: &str, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.with(Check::new(id, CheckKind::CommandSucceeds { args: argv(args) }))
    }

    /// The command exits 0 and its stdout contains `text`.
    pub fn output_contains<I, S>(self, id: &str, args: I, text: &str) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.contains_in(id, argv(args), Stream::Stdout, text)
    }

    /// The command exits 0 and its stderr contains `text`.
    pub fn stderr_contains<I, S>(self, id: &str, args: I, text: &str) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.contains_in(id, argv(args), Stream::Stderr, text)
    }

    fn contains_in(self, id: &str, args: Vec<String>, stream: Stream, text: &str) -> Self {
        self.with(Check::new(
            id,
            CheckKind::OutputContains {
                args,
                stream,
                text: text.into(),
            },
        ))
    }

    /// The command exits 0 and its stdout matches `pattern`.
    pub fn output_matches<I, S>(self, id: &str, args: I, pattern: &str) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.with(Check::new(
            id,
            CheckKind::OutputMatches {
                args: argv(args),
                stream: Stream::Stdout,
                pattern: pattern.into(),
            },
        ))
    }

    /// The first version number the command prints equals `version`.
    pub fn tool_version<I, S>(self, id: &str, args: I, version: &str) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.with(Check::new(
            id,
            CheckKind::ToolVersion {
                args: argv(args),
                version: version.into(),
            },
        ))
    }

    /// The environment variable is set.
    pub fn env_var_exists(self, id: &str, name: &str) -> Self {
        self.with(Check::new(id, CheckKind::EnvVarExists { name: name.into() }))
    }

    /// The image's label `name` equals `value`.
    pub fn label_equals(self, id: &str, name: &str, value: &str) -> Self {
        self.with(Check::new(
            id,
            CheckKind::LabelEquals {
                name: name.into(),
                value: value.into(),
            },
        ))
    }

    /// Drops the inherited check `id` (a version that undoes what it checks).
    pub fn without(mut self, id: &str) -> Self {
        self.removed.push(id.to_owned());
        self
    }

    /// The inherited check ids this version drops.
    pub fn removed(&self) -> &[String] {
        &self.removed
    }

    /// The environment variable equals `value`.
    pub fn env_var_equals(self, id: &str, name: &str, value: &str) -> Self {
        self.with(Check::new(
            id,
            CheckKind::EnvVarEquals {
                name: name.into(),
                value: value.into(),
            },
        ))
    }

    /// The path exists.
    pub fn file_exists(self, id: &str, path: &str) -> Self {
        self.with(Check::new(
            id,
            CheckKind::FileExists {
                path: path.into(),
                mode: None,
                owner: None,
            },
        ))
    }

    /// The path exists with permission bits `mode` and owner `user[:group]`.
    pub fn file_with(self, id: &str, path: &str, mode: Option<u32>, owner: Option<&str>) -> Self {
        self.with(Check::new(
            id,
            CheckKind::FileExists {
                path: path.into(),
                mode,
                owner: owner.map(Into::into),
            },
        ))
    }

    /// The user exists with this uid and primary gid.
    pub fn user_exists(self, id: &str, name: &str, uid: u32, gid: u32) -> Self {
        self.with(Check::new(
            id,
            CheckKind::UserExists {
                name: name.into(),
                uid,
                gid,
            },
        ))
    }

    /// The user can or cannot read / write the directory.
    pub fn user_access(self, id: &str, user: &str, path: &str, access: Access, allowed: bool) -> Self {
        self.with(Check::new(
            id,
            CheckKind::UserAccess {
                user: user.into(),
                path: path.into(),
                access,
                allowed,
            },
        ))
    }

    /// The user can create files in the directory.
    pub fn user_can_write(self, id: &str, user: &str, path: &str) -> Self {
        self.user_access(id, user, path, Access::Write, true)
    }

    /// The user cannot create files in the directory.
    pub fn user_cannot_write(self, id: &str, user: &str, path: &str) -> Self {
        self.user_access(id, user, path, Access::Write, false)
    }

    /// The image's time zone is `timezone`.
    pub fn timezone(self, id: &str, timezone: &str) -> Self {
        self.with(Check::new(
            id,
            CheckKind::Timezone {
                timezone: timezone.into(),
            },
        ))
    }

    /// A custom async check with its description.
    pub fn custom(self, id: &str, description: &str, function: CustomCheckFn) -> Self {
        self.with(
            Check::new(
                id,
                CheckKind::Custom {
                    function: CustomCheck(function),
                },
            )
            .description(description),
        )
    }

    /// The checks, in the order added, or the first misuse found.
    pub fn finish(self) -> Result<Vec<Check>, Error> {
        let mut seen = std::collections::BTreeSet::new();
        for check in &self.items {
            if let Some(reason) = check.problem() {
                return Err(Error::InvalidCheck {
                    id: check.id.clone(),
                    reason,
                });
            }
            if !seen.insert(check.id.as_str()) {
                return Err(Error::InvalidCheck {
                    id: check.id.clone(),
                    reason: "is declared twice for the same version; give each check its own id".into(),
                });
            }
        }
        Ok(self.items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_derives_descriptions() {
        let checks = Checks::new()
            .command_succeeds("ffmpeg", ["ffmpeg", "-version"])
            .user_cannot_write("cache-ro", "airbyte", "/custom_cache")
            .finish()
            .unwrap_or_default();
        assert_eq!(checks[0].description, "`ffmpeg -version` succeeds");
        assert_eq!(checks[1].description, "user airbyte cannot write /custom_cache");
    }

    #[test]
    fn finish_reports_misuse() {
        let cases = [
            (Checks::new().command_succeeds("Bad Id", ["true"]), "invalid id"),
            (
                Checks::new().command_succeeds("a", Vec::<String>::new()),
                "empty command",
            ),
            (
                Checks::new().output_matches("a", ["x"], "("),
                "invalid regular expression",
            ),
            (Checks::new().file_exists("a", "rel"), "absolute path"),
            (
                Checks::new().timezone("a", "UTC").timezone("a", "UTC"),
                "declared twice",
            ),
            (
                Checks::new().with(Check::new("a", CheckKind::EnvVarExists { name: "X".into() }).description(" ")),
                "empty description",
            ),
        ];
        for (checks, expected) in cases {
            let err = checks.finish().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(expected), "{err:?} lacks {expected:?}");
        }
    }

    #[test]
    fn serializes_kinds_for_digests() {
        let check = Check::new("tz", CheckKind::Timezone { timezone: "UTC".into() });
        let json = serde_json::to_string(&check).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"id":"tz","description":"the time zone is UTC","kind":{"kind":"timezone","timezone":"UTC"}}"#
        );
    }
}
