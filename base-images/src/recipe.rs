//! The Recipe IR: plain data describing an image as a root address (one, or
//! one per platform) plus ordered steps. Its builder mirrors Dagger's
//! `Container` method names so a declaration reads like the seed; it never
//! fails, and `validate` reports every malformed part with its step number.
//! Everything else is derived from a Recipe: its digest (`canonical`), its
//! Dockerfile (`dockerfile`), and later the engines' builds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::address::ImageAddress;
use crate::steps::Steps;
use crate::Error;

/// An image description: a root plus ordered steps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Where the image starts.
    pub root: Root,
    /// What is done on top of the root, in order.
    #[serde(default, skip_serializing_if = "Steps::is_empty")]
    pub steps: Steps,
}

/// The image a recipe starts from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Root {
    /// One address for every platform (a multi-platform index, or a tag).
    Address(String),
    /// One address per platform (`linux/amd64` → `python@sha256:…`).
    PerPlatform(BTreeMap<String, String>),
}

/// Options that apply to one exec step only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecOptions {
    /// Extra environment variables for this step.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The user to run this step as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The working directory of this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
}

impl ExecOptions {
    /// Runs the step as `user`.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Runs the step in `dir`.
    pub fn workdir(mut self, dir: impl Into<String>) -> Self {
        self.workdir = Some(dir.into());
        self
    }

    /// Sets `name=value` for this step only.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }
}

/// One step of a recipe. Field names and order are part of the canonical
/// encoding (see `docs/recipe-encoding.md`): never rename or reorder them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Runs a command (argv, no shell) and keeps its file-system changes.
    Exec {
        /// The command and its arguments.
        args: Vec<String>,
        /// Extra environment variables for this step only.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        env: BTreeMap<String, String>,
        /// The user this step runs as, if not the image's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
        /// The working directory of this step, if not the image's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        workdir: Option<String>,
    },
    /// Sets an environment variable in the image.
    Env {
        /// The variable's name.
        name: String,
        /// Its value.
        value: String,
    },
    /// Sets an environment variable to the root address of the platform
    /// being built (a root pinned per platform has one per platform).
    EnvRoot {
        /// The variable's name.
        name: String,
    },
    /// Sets a label to the root address of the platform being built.
    LabelRoot {
        /// The label's name.
        name: String,
    },
    /// Removes an environment variable from the image.
    UnsetEnv {
        /// The variable's name.
        name: String,
    },
    /// Sets the working directory.
    Workdir {
        /// An absolute path.
        path: String,
    },
    /// Sets the user later steps and containers run as.
    User {
        /// A user name or `uid[:gid]`.
        name: String,
    },
    /// Sets an image label.
    Label {
        /// The label's name.
        name: String,
        /// Its value.
        value: String,
    },
    /// Sets the entrypoint.
    Entrypoint {
        /// The entrypoint argv.
        args: Vec<String>,
    },
    /// Sets the default arguments (`CMD`).
    DefaultArgs {
        /// The default argv.
        args: Vec<String>,
    },
    /// Writes a file with the given contents and permission bits.
    NewFile {
        /// An absolute path.
        path: String,
        /// The file's contents.
        contents: String,
        /// Permission bits, e.g. `0o644`.
        mode: u32,
    },
    /// Mounts a persistent cache volume at a path for every later exec.
    MountedCache {
        /// An absolute path.
        path: String,
        /// The cache's identity, shared by every recipe that names it.
        cache: String,
    },
    /// Places a file fetched from a URL by the build tool, on the host
    /// (never by a step inside the image).
    FetchFile {
        /// Where the content comes from (`http://` or `https://`).
        url: String,
        /// The absolute path of the file in the image.
        path: String,
        /// The expected `sha256:<hex>` of the content, when pinned up front.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
        /// The owner, `user[:group]` (root when unset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        /// Permission bits (0o600 when unset, as `ADD` and Dagger's `http` give).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<u32>,
    },
    /// Unpacks a zip or tar archive fetched from a URL by the build tool
    /// into a directory.
    FetchArchive {
        /// Where the archive comes from; its name ends in `.zip`, `.tar`,
        /// `.tar.gz` or `.tgz`.
        url: String,
        /// The absolute path of the directory its entries go into.
        path: String,
        /// The expected `sha256:<hex>` of the archive, when pinned up front.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
        /// The owner of the directory and its entries (root when unset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
    },
}

/// Options of a fetched file or archive: a digest pinned up front, an owner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchOptions {
    sha256: Option<String>,
    owner: Option<String>,
}

impl FetchOptions {
    /// Pins the content's digest up front (`sha256:<64 hex>`).
    pub fn sha256(mut self, digest: impl Into<String>) -> Self {
        self.sha256 = Some(digest.into());
        self
    }

    /// Makes `user[:group]` the owner.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }
}

impl Step {
    /// The step's operation name, as in the canonical encoding.
    pub fn op(&self) -> &'static str {
        match self {
            Step::Exec { .. } => "exec",
            Step::Env { .. } => "env",
            Step::UnsetEnv { .. } => "unset_env",
            Step::Workdir { .. } => "workdir",
            Step::User { .. } => "user",
            Step::Label { .. } => "label",
            Step::Entrypoint { .. } => "entrypoint",
            Step::DefaultArgs { .. } => "default_args",
            Step::NewFile { .. } => "new_file",
            Step::MountedCache { .. } => "mounted_cache",
            Step::FetchFile { .. } => "fetch_file",
            Step::EnvRoot { .. } => "env_root",
            Step::LabelRoot { .. } => "label_root",
            Step::FetchArchive { .. } => "fetch_archive",
        }
    }

    /// The URL and pinned digest of a step that fetches content.
    pub fn fetched(&self) -> Option<(&str, Option<&str>)> {
        match self {
            Step::FetchFile { url, sha256, .. } | Step::FetchArchive { url, sha256, .. } => {
                Some((url, sha256.as_deref()))
            }
            _ => None,
        }
    }
}

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

impl From<&str> for Recipe {
    fn from(address: &str) -> Self {
        Recipe::from(address.to_owned())
    }
}

impl From<String> for Recipe {
    fn from(address: String) -> Self {
        Recipe {
            root: Root::Address(address),
            steps: Steps::new(),
        }
    }
}

impl Recipe {
    /// A recipe rooted at one address per platform.
    pub fn from_platforms<I, P, A>(roots: I) -> Self
    where
        I: IntoIterator<Item = (P, A)>,
        P: Into<String>,
        A: Into<String>,
    {
        Recipe {
            root: Root::PerPlatform(roots.into_iter().map(|(p, a)| (p.into(), a.into())).collect()),
            steps: Steps::new(),
        }
    }

    /// Keeps every step but starts from another root address.
    pub fn with_root(mut self, address: impl Into<String>) -> Self {
        self.root = Root::Address(address.into());
        self
    }

    /// Keeps every step but starts each platform from another root address
    /// (a family pinned per platform, rebased on moved roots).
    pub fn with_platform_roots<I, P, A>(mut self, roots: I) -> Self
    where
        I: IntoIterator<Item = (P, A)>,
        P: Into<String>,
        A: Into<String>,
    {
        self.root = Root::PerPlatform(roots.into_iter().map(|(p, a)| (p.into(), a.into())).collect());
        self
    }

    fn step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// Runs a command (argv form, no shell).
    pub fn with_exec<I, S>(self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.with_exec_opts(args, ExecOptions::default())
    }

    /// Runs a command with step-scoped user, workdir or environment.
    pub fn with_exec_opts<I, S>(self, args: I, options: ExecOptions) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.step(Step::Exec {
            args: strings(args),
            env: options.env,
            user: options.user,
            workdir: options.workdir,
        })
    }

    /// Sets an environment variable.
    pub fn with_env_variable(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.step(Step::Env {
            name: name.into(),
            value: value.into(),
        })
    }

    /// Sets an environment variable to the root address of the platform
    /// being built.
    pub fn with_root_env_variable(self, name: impl Into<String>) -> Self {
        self.step(Step::EnvRoot { name: name.into() })
    }

    /// Sets a label to the root address of the platform being built.
    pub fn with_root_label(self, name: impl Into<String>) -> Self {
        self.step(Step::LabelRoot { name: name.into() })
    }

    /// Removes an environment variable.
    pub fn without_env_variable(self, name: impl Into<String>) -> Self {
        self.step(Step::UnsetEnv { name: name.into() })
    }

    /// Sets the working directory.
    pub fn with_workdir(self, path: impl Into<String>) -> Self {
        self.step(Step::Workdir { path: path.into() })
    }

    /// Sets the user.
    pub fn with_user(self, name: impl Into<String>) -> Self {
        self.step(Step::User { name: name.into() })
    }

    /// Sets a label.
    pub fn with_label(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.step(Step::Label {
            name: name.into(),
            value: value.into(),
        })
    }

    /// Sets the entrypoint.
    pub fn with_entrypoint<I, S>(self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.step(Step::Entrypoint { args: strings(args) })
    }

    /// Sets the default arguments.
    pub fn with_default_args<I, S>(self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.step(Step::DefaultArgs { args: strings(args) })
    }

    /// Writes a file with `contents` and permission bits `mode`.
    pub fn with_new_file(self, path: impl Into<String>, contents: impl Into<String>, mode: u32) -> Self {
        self.step(Step::NewFile {
            path: path.into(),
            contents: contents.into(),
            mode,
        })
    }

    /// Mounts the cache volume `cache` at `path` for every later exec.
    pub fn with_mounted_cache(self, path: impl Into<String>, cache: impl Into<String>) -> Self {
        self.step(Step::MountedCache {
            path: path.into(),
            cache: cache.into(),
        })
    }

    /// Places the file at `url`, fetched by the build tool, at `path`
    /// (owned by root, mode 0o600, as `ADD` and Dagger's `http` give it).
    pub fn with_fetched_file(self, path: impl Into<String>, url: impl Into<String>) -> Self {
        self.with_fetched_file_opts(path, url, None, FetchOptions::default())
    }

    /// `with_fetched_file` with permission bits `mode`, a pinned digest or
    /// an owner.
    pub fn with_fetched_file_opts(
        self,
        path: impl Into<String>,
        url: impl Into<String>,
        mode: Option<u32>,
        options: FetchOptions,
    ) -> Self {
        self.step(Step::FetchFile {
            url: url.into(),
            path: path.into(),
            sha256: options.sha256,
            owner: options.owner,
            mode,
        })
    }

    /// Unpacks the zip or tar archive at `url`, fetched by the build tool,
    /// into the directory `path` (its entries keep their modes).
    pub fn with_fetched_archive(self, path: impl Into<String>, url: impl Into<String>) -> Self {
        self.with_fetched_archive_opts(path, url, FetchOptions::default())
    }

    /// `with_fetched_archive` with a pinned digest or an owner.
    pub fn with_fetched_archive_opts(
        self,
        path: impl Into<String>,
        url: impl Into<String>,
        options: FetchOptions,
    ) -> Self {
        self.step(Step::FetchArchive {
            url: url.into(),
            path: path.into(),
            sha256: options.sha256,
            owner: options.owner,
        })
    }

    /// The root address to use for `platform`, if the recipe has one.
    pub fn root_for(&self, platform: &str) -> Option<&str> {
        match &self.root {
            Root::Address(a) => Some(a),
            Root::PerPlatform(map) => map.get(platform).map(String::as_str),
        }
    }

    /// The root address a build for `platform` starts from (`None`: the
    /// engine's own platform, for a root that is one address for all); an
    /// error naming the platforms the recipe pins when it has none.
    pub fn root_address(&self, platform: Option<&str>) -> Result<&str, Error> {
        let found = match platform {
            Some(platform) => self.root_for(platform),
            None => match self.root_addresses().as_slice() {
                [(None, address)] => Some(*address),
                _ => None,
            },
        };
        found.ok_or_else(|| Error::InvalidRoot {
            reason: format!(
                "has no address for {}; name a platform it pins ({})",
                platform.map_or_else(|| "the engine's platform".to_owned(), |p| format!("platform `{p}`")),
                self.root_addresses()
                    .iter()
                    .filter_map(|(p, _)| *p)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    /// The same recipe with every root address equal to a `from` replaced by
    /// its `to` (a local smoke test of a version's steps on another root).
    pub fn with_root_overrides(mut self, overrides: &[(String, String)]) -> Recipe {
        let swap = |address: &mut String| {
            if let Some((_, to)) = overrides.iter().find(|(from, _)| from == address) {
                *address = to.clone();
            }
        };
        match &mut self.root {
            Root::Address(address) => swap(address),
            Root::PerPlatform(map) => map.values_mut().for_each(swap),
        }
        self
    }

    /// The root as one name for metadata: its address, or for a root
    /// pinned per platform the `name:tag` its addresses share (all of them,
    /// comma-separated, when they differ).
    pub fn base_image_name(&self) -> String {
        match &self.root {
            Root::Address(a) => a.clone(),
            Root::PerPlatform(map) => {
                let names: std::collections::BTreeSet<&str> =
                    map.values().map(|a| a.split('@').next().unwrap_or(a)).collect();
                names.into_iter().collect::<Vec<_>>().join(", ")
            }
        }
    }

    /// Every root address, with the platform it is pinned for (if any).
    pub fn root_addresses(&self) -> Vec<(Option<&str>, &str)> {
        match &self.root {
            Root::Address(a) => vec![(None, a.as_str())],
            Root::PerPlatform(map) => map.iter().map(|(p, a)| (Some(p.as_str()), a.as_str())).collect(),
        }
    }

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

fn validate_step(step: &Step) -> Result<(), String> {
    match step {
        Step::Exec {
            args,
            env,
            user,
            workdir,
        } => {
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
        Step::Env { name, value } => {
            env_name(name)?;
            no_nul(value, "the value")
        }
        Step::UnsetEnv { name } | Step::EnvRoot { name } => env_name(name),
        Step::LabelRoot { name } => {
            if name.trim().is_empty() {
                return Err("has an empty label name".into());
            }
            no_nul(name, "the label name")
        }
        Step::Workdir { path } => absolute(path),
        Step::User { name } => user_name(name),
        Step::Label { name, value } => {
            if name.trim().is_empty() {
                return Err("has an empty label name".into());
            }
            no_nul(name, "the label name")?;
            no_nul(value, "the label value")
        }
        Step::Entrypoint { args } => argv(args, "entrypoint"),
        Step::DefaultArgs { args } => args.iter().try_for_each(|a| no_nul(a, "an argument")),
        Step::NewFile { path, contents, mode } => {
            absolute(path)?;
            no_nul(contents, "the contents")?;
            if *mode > 0o7777 {
                return Err(format!("has mode {mode:#o}; permission bits go up to 0o7777"));
            }
            Ok(())
        }
        Step::FetchFile {
            url,
            path,
            sha256,
            owner,
            mode,
        } => {
            fetched(url, path, sha256.as_deref(), owner.as_deref())?;
            match mode {
                Some(mode) if *mode > 0o7777 => Err(format!("has mode {mode:#o}; permission bits go up to 0o7777")),
                _ => Ok(()),
            }
        }
        Step::FetchArchive {
            url,
            path,
            sha256,
            owner,
        } => {
            fetched(url, path, sha256.as_deref(), owner.as_deref())?;
            match crate::fetch::ArchiveFormat::of_url(url) {
                Some(_) => Ok(()),
                None => Err(format!(
                    "fetches `{url}`, whose name does not say its format; the URL's path must end in .zip, .tar, .tar.gz or .tgz"
                )),
            }
        }
        Step::MountedCache { path, cache } => {
            absolute(path)?;
            if cache.is_empty() || !cache.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                return Err(format!(
                    "names cache `{cache}`; a cache id is letters, digits, '.', '_' or '-'"
                ));
            }
            Ok(())
        }
    }
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
        if crate::RecipeDigest::parse(digest).is_none() {
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

    #[test]
    fn builder_appends_steps_in_order() {
        let r = Recipe::from("debian:bookworm")
            .with_env_variable("A", "1")
            .with_exec(["true"])
            .with_workdir("/w");
        assert_eq!(r.steps.len(), 3);
        assert_eq!(
            r.steps[1],
            Step::Exec {
                args: vec!["true".into()],
                env: BTreeMap::new(),
                user: None,
                workdir: None
            }
        );
        assert_eq!(r.root_for("linux/arm64"), Some("debian:bookworm"));
    }

    #[test]
    fn with_root_keeps_steps() {
        let r = Recipe::from("a:1").with_exec(["true"]).with_root("a:2");
        assert_eq!(r.root, Root::Address("a:2".into()));
        assert_eq!(r.steps.len(), 1);
    }

    #[test]
    fn per_platform_roots() {
        let r = Recipe::from_platforms([("linux/amd64", "a:1"), ("linux/arm64", "b:1")]);
        assert_eq!(r.root_for("linux/arm64"), Some("b:1"));
        assert_eq!(r.root_for("linux/s390x"), None);
        assert!(r.validate().is_ok());
    }

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
