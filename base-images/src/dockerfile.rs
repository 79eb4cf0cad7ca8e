//! Rendering a Recipe as an equivalent Dockerfile for one platform, for
//! users who build with `docker build` rather than Dagger.
//!
//! Only instructions the builder understands without pulling a frontend
//! image are used (no `# syntax=` line, no heredocs): exec-form `RUN`,
//! `ENV`, `WORKDIR`, `USER`, `LABEL`, `ENTRYPOINT`, `CMD`. Special steps:
//! - a new file is a `RUN` of `/bin/sh` that writes the contents, passed as
//!   an argument, and sets the mode (as root, like Dagger's `withNewFile`);
//! - a cache mount adds `--mount=type=cache,id=…,target=…` to every later
//!   `RUN` (BuildKit's built-in frontend, the default builder since 23.0);
//! - step-scoped env runs the command through `env NAME=value …`;
//!   step-scoped user/workdir switch `USER`/`WORKDIR` around the `RUN` and
//!   switch back to the recipe's previous value, or to Docker's defaults
//!   (`root`, `/`) when the recipe never set one;
//! - removing a variable cannot be expressed: it is set empty, with a
//!   comment saying so.

use std::fmt::Write as _;

use crate::recipe::{Recipe, Scope, Step};
use crate::Error;

/// Renders `recipe` as a Dockerfile for `platform` (e.g. `linux/arm64`).
pub fn render(recipe: &Recipe, platform: &str) -> Result<String, Error> {
    recipe.validate()?;
    let root = recipe.root_for(platform).ok_or_else(|| Error::InvalidRoot {
        reason: format!(
            "has no root address for platform `{platform}` (it pins {}); pick one of those platforms",
            recipe
                .root_addresses()
                .iter()
                .filter_map(|(p, _)| *p)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })?;
    let mut out = Renderer::default();
    out.line(format!("FROM --platform={platform} {root}"));
    for (index, step) in recipe.steps.iter().enumerate() {
        out.step(step).map_err(|reason| Error::InvalidStep {
            step: index + 1,
            op: step.op(),
            reason,
        })?;
    }
    Ok(out.text)
}

#[derive(Default)]
struct Renderer {
    text: String,
    scope: Scope,
    mounts: String,
}

impl Renderer {
    fn line(&mut self, line: impl AsRef<str>) {
        self.text.push_str(line.as_ref());
        self.text.push('\n');
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Exec {
                args,
                env,
                user,
                workdir,
            } => {
                let argv = crate::recipe::command_line(args, env);
                self.run_as(user.as_deref(), workdir.as_deref(), &argv)
            }
            Step::Workdir { .. } | Step::User { .. } => {
                self.scope.follow(step);
                self.config(step)
            }
            Step::UnsetEnv { name } => {
                self.line(format!(
                    "# without_env_variable({name}): a Dockerfile cannot remove a variable; it is set empty"
                ));
                self.config(step)
            }
            Step::Env { .. } | Step::Label { .. } | Step::Entrypoint { .. } | Step::DefaultArgs { .. } => {
                self.config(step)
            }
            Step::NewFile { path, contents, mode } => {
                let script =
                    format!("mkdir -p \"$(dirname \"$1\")\" && printf '%s' \"$2\" > \"$1\" && chmod {mode:o} \"$1\"");
                let argv = [
                    "/bin/sh".to_owned(),
                    "-c".into(),
                    script,
                    "sh".into(),
                    path.clone(),
                    contents.clone(),
                ];
                let as_root = (!self.scope.runs_as_root()).then_some("root");
                self.run_as(as_root, None, &argv)
            }
            Step::MountedCache { path, cache } => {
                if path.contains([',', '"', '=']) {
                    return Err(format!(
                        "mounts a cache at `{path}`; a Dockerfile mount target cannot hold ',', '\"' or '='"
                    ));
                }
                write!(self.mounts, "--mount=type=cache,id={cache},target={path} ").map_err(|e| e.to_string())?;
                Ok(())
            }
        }
    }

    fn config(&mut self, step: &Step) -> Result<(), String> {
        if let Some(line) = config_instruction(step)? {
            self.line(line);
        }
        Ok(())
    }

    /// Emits a `RUN`, switching user/workdir around it when asked.
    fn run_as(&mut self, user: Option<&str>, workdir: Option<&str>, argv: &[String]) -> Result<(), String> {
        if let Some(user) = user {
            self.line(format!("USER {}", word(user)?));
        }
        if let Some(dir) = workdir {
            self.line(format!("WORKDIR {}", word(dir)?));
        }
        let run = format!("RUN {}{}", self.mounts, json(argv));
        self.line(run);
        if workdir.is_some() {
            let back = word(self.scope.workdir())?;
            self.line(format!("WORKDIR {back}"));
        }
        if user.is_some() {
            let back = word(self.scope.user())?;
            self.line(format!("USER {back}"));
        }
        Ok(())
    }
}

/// The Dockerfile instruction of a step that only changes the image
/// configuration (`ENV`, `WORKDIR`, `USER`, `LABEL`, `ENTRYPOINT`, `CMD`);
/// `None` for the others. Engines commit containers with these as changes.
pub(crate) fn config_instruction(step: &Step) -> Result<Option<String>, String> {
    Ok(Some(match step {
        Step::Env { name, value } => format!("ENV {name}={}", quoted(value)?),
        Step::UnsetEnv { name } => format!("ENV {name}=\"\""),
        Step::Workdir { path } => format!("WORKDIR {}", word(path)?),
        Step::User { name } => format!("USER {}", word(name)?),
        Step::Label { name, value } => format!("LABEL {}={}", quoted(name)?, quoted(value)?),
        Step::Entrypoint { args } => format!("ENTRYPOINT {}", json(args)),
        Step::DefaultArgs { args } => format!("CMD {}", json(args)),
        Step::Exec { .. } | Step::NewFile { .. } | Step::MountedCache { .. } => return Ok(None),
    }))
}

/// A JSON array of strings, as exec-form instructions take.
pub(crate) fn json(args: &[String]) -> String {
    serde_json::to_string(args).unwrap_or_default()
}

fn single_line(text: &str) -> Result<(), String> {
    if text.contains(['\n', '\r']) {
        return Err(format!(
            "has a line break in {text:?}, which a Dockerfile instruction cannot hold"
        ));
    }
    Ok(())
}

/// A double-quoted Dockerfile word: `\`, `"` and `$` escaped.
fn quoted(text: &str) -> Result<String, String> {
    single_line(text)?;
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '\\' | '"' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// An unquoted Dockerfile word (`USER`, `WORKDIR`): `\` and `$` escaped.
pub(crate) fn word(text: &str) -> Result<String, String> {
    single_line(text)?;
    Ok(text.replace('\\', "\\\\").replace('$', "\\$"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::ExecOptions;

    #[test]
    fn renders_each_instruction() {
        let r = Recipe::from("debian:bookworm")
            .with_env_variable("A", "x \"y\" $z")
            .with_label("org.k", "v")
            .with_workdir("/w")
            .with_exec(["sh", "-c", "echo hi"])
            .with_entrypoint(["/bin/sh"])
            .with_default_args(["-c", "true"]);
        let text = render(&r, "linux/amd64").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            text,
            "FROM --platform=linux/amd64 debian:bookworm\n\
             ENV A=\"x \\\"y\\\" \\$z\"\n\
             LABEL \"org.k\"=\"v\"\n\
             WORKDIR /w\n\
             RUN [\"sh\",\"-c\",\"echo hi\"]\n\
             ENTRYPOINT [\"/bin/sh\"]\n\
             CMD [\"-c\",\"true\"]\n"
        );
    }

    #[test]
    fn step_scoped_options_are_restored() {
        let r = Recipe::from("a").with_user("app").with_exec_opts(
            ["id"],
            ExecOptions::default().user("root").workdir("/tmp").env("K", "v"),
        );
        let text = render(&r, "linux/amd64").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            text.ends_with("USER app\nUSER root\nWORKDIR /tmp\nRUN [\"env\",\"K=v\",\"id\"]\nWORKDIR /\nUSER app\n"),
            "{text}"
        );
    }

    #[test]
    fn cache_mounts_apply_to_later_runs() {
        let r = Recipe::from("a")
            .with_exec(["one"])
            .with_mounted_cache("/c", "pip")
            .with_exec(["two"]);
        let text = render(&r, "linux/amd64").unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains("RUN [\"one\"]\n"));
        assert!(text.contains("RUN --mount=type=cache,id=pip,target=/c [\"two\"]\n"));
    }

    #[test]
    fn new_file_is_written_as_root() {
        let r = Recipe::from("a").with_user("app").with_new_file("/etc/x", "1\n", 0o600);
        let text = render(&r, "linux/amd64").unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains("USER root\nRUN [\"/bin/sh\",\"-c\","), "{text}");
        assert!(text.contains("chmod 600"), "{text}");
        assert!(text.contains("\"sh\",\"/etc/x\",\"1\\n\"]\nUSER app\n"), "{text}");
    }

    #[test]
    fn per_platform_root_and_missing_platform() {
        let r = Recipe::from_platforms([("linux/amd64", "a:1"), ("linux/arm64", "b:1")]);
        let arm = render(&r, "linux/arm64").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(arm, "FROM --platform=linux/arm64 b:1\n");
        let err = render(&r, "linux/s390x")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("no root address for platform `linux/s390x`"), "{err}");
        assert!(err.contains("linux/amd64, linux/arm64"), "{err}");
    }

    #[test]
    fn line_breaks_are_refused_where_they_cannot_be_expressed() {
        let r = Recipe::from("a").with_env_variable("A", "x\ny");
        let err = render(&r, "linux/amd64")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("step 1 (env) has a line break"), "{err}");
    }
}
