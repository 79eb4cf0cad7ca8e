//! Validation of a [`Recipe`]: every address, platform, name, path, URL,
//! digest and mode checked, the first problem reported with the number of
//! the step that has it, in words that say how to mend it.

use std::collections::BTreeMap;

use super::model::Recipe;
use crate::address::ImageAddress;
use crate::digest::RecipeDigest;
use crate::step::{ArchiveFormat, Root, Step};
use crate::Error;

impl Recipe {
    /// Checks every address, name and path; the first problem is returned
    /// with the number of the step (1-based) that has it. Steps shared with
    /// a recipe that validated already (the parent's) are not checked again.
    pub fn validate(&self) -> Result<(), Error> {
        self.validate_root()?;
        let (_, pending) = self.steps.uncached(|c| c.cache.valid.get());
        for chunk in pending {
            for (n, step) in chunk.steps().iter().enumerate() {
                validate_step(step).map_err(|reason| Error::InvalidStep {
                    step: chunk.offset() + n + 1,
                    op: step.op(),
                    reason,
                })?;
            }
            let _ = chunk.cache.valid.set(());
        }
        Ok(())
    }

    fn validate_root(&self) -> Result<(), Error> {
        if let Root::PerPlatform(map) = &self.root {
            if map.is_empty() {
                return Err(Error::InvalidRoot {
                    reason: "from_platforms was given no platform; give at least one (platform, address) pair".into(),
                });
            }
            for platform in map.keys() {
                crate::platform::check(platform).map_err(|reason| Error::InvalidRoot {
                    reason: format!("platform `{platform}` {reason}"),
                })?;
            }
        }
        for (_, address) in self.root_addresses() {
            ImageAddress::parse(address)?;
        }
        Ok(())
    }
}

/// Why `step` is malformed, in words that follow its number and op.
fn validate_step(step: &Step) -> Result<(), String> {
    match step {
        Step::Exec {
            args,
            env,
            user,
            workdir,
        } => exec(args, env, user.as_deref(), workdir.as_deref()),
        Step::Env { name, value } => {
            env_name(name)?;
            no_nul(value, "the value")
        }
        Step::UnsetEnv { name } | Step::EnvRoot { name } => env_name(name),
        Step::LabelRoot { name } => label_name(name),
        Step::Workdir { path } => absolute(path),
        Step::User { name } => user_name(name),
        Step::Label { name, value } => {
            label_name(name)?;
            no_nul(value, "the label value")
        }
        Step::Entrypoint { args } => argv(args, "entrypoint"),
        Step::DefaultArgs { args } => args.iter().try_for_each(|a| no_nul(a, "an argument")),
        Step::NewFile { path, contents, mode } => {
            absolute(path)?;
            no_nul(contents, "the contents")?;
            permission_bits(*mode)
        }
        Step::FetchFile {
            url,
            path,
            sha256,
            owner,
            mode,
        } => {
            fetched(url, path, sha256.as_deref(), owner.as_deref())?;
            mode.map_or(Ok(()), permission_bits)
        }
        Step::FetchArchive {
            url,
            path,
            sha256,
            owner,
        } => {
            fetched(url, path, sha256.as_deref(), owner.as_deref())?;
            archive_format(url)
        }
        Step::MountedCache { path, cache } => {
            absolute(path)?;
            cache_id(cache)
        }
    }
}

/// An exec step: its command, its step-scoped environment, user and
/// working directory.
fn exec(
    args: &[String],
    env: &BTreeMap<String, String>,
    user: Option<&str>,
    workdir: Option<&str>,
) -> Result<(), String> {
    argv(args, "command")?;
    for (name, value) in env {
        env_name(name)?;
        no_nul(value, "an environment value")?;
    }
    if let Some(user) = user {
        user_name(user)?;
    }
    if let Some(dir) = workdir {
        absolute(dir)?;
    }
    Ok(())
}

/// A label's name: not blank, no NUL.
fn label_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("has an empty label name".into());
    }
    no_nul(name, "the label name")
}

/// Permission bits, at most `0o7777`.
fn permission_bits(mode: u32) -> Result<(), String> {
    if mode > 0o7777 {
        return Err(format!("has mode {mode:#o}; permission bits go up to 0o7777"));
    }
    Ok(())
}

/// A fetched archive's URL, whose name must say its format.
fn archive_format(url: &str) -> Result<(), String> {
    match ArchiveFormat::of_url(url) {
        Some(_) => Ok(()),
        None => Err(format!(
            "fetches `{url}`, whose name does not say its format; the URL's path must end in .zip, .tar, .tar.gz or .tgz"
        )),
    }
}

/// A cache id: letters, digits, '.', '_' or '-'.
fn cache_id(cache: &str) -> Result<(), String> {
    if cache.is_empty() || !cache.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return Err(format!(
            "names cache `{cache}`; a cache id is letters, digits, '.', '_' or '-'"
        ));
    }
    Ok(())
}

/// The parts every fetched step has: an http(s) URL, an absolute path, a
/// well-formed digest and owner.
fn fetched(url: &str, path: &str, sha256: Option<&str>, owner: Option<&str>) -> Result<(), String> {
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "fetches `{url}`; write an http:// or https:// URL without spaces"
        ));
    }
    absolute(path)?;
    if let Some(digest) = sha256 {
        if RecipeDigest::parse(digest).is_none() {
            return Err(format!(
                "pins `{digest}`; write sha256: and the 64 lowercase hex digits of the content's digest"
            ));
        }
    }
    match owner {
        Some(owner) => user_name(owner),
        None => Ok(()),
    }
}

fn argv(args: &[String], what: &str) -> Result<(), String> {
    match args.first() {
        None => Err(format!("has an empty {what}; give at least the program to run")),
        Some(program) if program.is_empty() => Err(format!("has an empty program name in its {what}")),
        Some(_) => args.iter().try_for_each(|a| no_nul(a, "an argument")),
    }
}

fn no_nul(text: &str, what: &str) -> Result<(), String> {
    if text.contains('\0') {
        return Err(format!(
            "has a NUL character in {what}; NUL cannot be passed to a container"
        ));
    }
    Ok(())
}

fn env_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "names environment variable `{name}`; a name is letters, digits and '_', not starting with a digit"
        ))
    }
}

fn absolute(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!(
            "uses path `{path}`; write an absolute path (starting with '/')"
        ));
    }
    no_nul(path, "the path")
}

fn user_name(user: &str) -> Result<(), String> {
    if user.is_empty() || user.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "names user `{user}`; write a user name or uid[:gid] without spaces"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::{ExecOptions, FetchOptions};

    #[test]
    fn validate_names_the_step_and_problem() {
        let cases: Vec<(Recipe, &str)> = vec![
            (
                Recipe::from("a").with_exec(Vec::<String>::new()),
                "step 1 (exec) has an empty command",
            ),
            (
                Recipe::from("a").with_workdir("/ok").with_workdir("rel"),
                "step 2 (workdir) uses path `rel`",
            ),
            (
                Recipe::from("a").with_env_variable("1A", "x"),
                "environment variable `1A`",
            ),
            (Recipe::from("a").with_new_file("/f", "x", 0o17777), "mode 0o17777"),
            (Recipe::from("a").with_mounted_cache("/c", "a b"), "names cache `a b`"),
            (Recipe::from("a").with_user(""), "names user ``"),
            (Recipe::from("a").with_label(" ", "v"), "empty label name"),
            (Recipe::from("a").with_entrypoint([""]), "empty program name"),
            (
                Recipe::from("a").with_exec_opts(["x"], ExecOptions::default().workdir("w")),
                "path `w`",
            ),
            (Recipe::from("a").with_exec(["echo", "a\0b"]), "NUL"),
            (Recipe::from("UPPER:1"), "not a valid image address"),
            (Recipe::from_platforms(Vec::<(String, String)>::new()), "no platform"),
            (Recipe::from_platforms([("linux", "a")]), "`linux`"),
            (
                Recipe::from("a").with_fetched_file("/f", "ftp://x/f"),
                "write an http:// or https:// URL",
            ),
            (Recipe::from("a").with_fetched_file("f", "https://x/f"), "path `f`"),
            (
                Recipe::from("a").with_fetched_file_opts(
                    "/f",
                    "https://x/f",
                    None,
                    FetchOptions::default().sha256("abc"),
                ),
                "pins `abc`",
            ),
            (
                Recipe::from("a").with_fetched_file_opts("/f", "https://x/f", Some(0o10000), FetchOptions::default()),
                "mode 0o10000",
            ),
            (
                Recipe::from("a").with_fetched_archive("/d", "https://x/data.rar"),
                "must end in .zip, .tar, .tar.gz or .tgz",
            ),
            (
                Recipe::from("a").with_fetched_archive_opts(
                    "/d",
                    "https://x/a.zip",
                    FetchOptions::default().owner("a b"),
                ),
                "names user `a b`",
            ),
        ];
        for (recipe, expected) in cases {
            let err = recipe
                .validate()
                .err()
                .unwrap_or_else(|| panic!("accepted: {recipe:?}"));
            assert!(err.to_string().contains(expected), "{err} does not contain {expected}");
        }
    }
}
