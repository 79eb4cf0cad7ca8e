//! The check model: a [`Check`] has a stable id, a description and a
//! [`CheckKind`] (a built-in assertion, or a custom async function run
//! against the built image), all plain data; the kinds' descriptions and
//! the misuse a declared check can have are derived here.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::target::{BoxFuture, CheckTarget};
use crate::shell::shell_words;

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

    /// What is wrong with the check as declared, if anything.
    pub(super) fn problem(&self) -> Option<String> {
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

/// The description a check of `kind` gets unless it is given one.
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

/// How a description names `stream`.
pub(super) fn stream_name(stream: Stream) -> &'static str {
    match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
        Stream::Both => "output",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
