//! [`Checks`], the builder a `#[sanity_checks]` function receives and
//! returns: one method per check kind, `without` to drop an inherited
//! check. It records misuse instead of panicking, and `finish` reports it.

use super::model::{Access, Check, CheckKind, CustomCheck, CustomCheckFn, Stream};
use crate::Error;

fn argv<I, S>(args: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    args.into_iter().map(Into::into).collect()
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
}
