//! The builder methods of a [`Recipe`]: each appends one step. They mirror
//! Dagger's `Container` method names so a declaration reads like the seed,
//! and never fail: `validate` reports every malformed part.

use super::model::Recipe;
use crate::step::{ExecOptions, FetchOptions, Step};

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

impl Recipe {
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
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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
}
