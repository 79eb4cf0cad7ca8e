//! Rendering a Recipe as an equivalent Dockerfile for one platform, for
//! users who build with `docker build` rather than Dagger. It translates
//! the recipe's operations (`lower`) into instructions:
//! - exec-form `RUN`, `ENV`, `WORKDIR`, `USER`, `LABEL`, `ENTRYPOINT`, `CMD`;
//! - a new file is a `RUN` of `/bin/sh` that writes the contents, passed as
//!   an argument, and sets the mode (as root, like Dagger's `withNewFile`);
//! - a cache mount adds `--mount=type=cache,id=…,target=…` to every later
//!   `RUN` (BuildKit's built-in frontend, the default builder since 23.0);
//! - step-scoped env runs the command through `env NAME=value …`;
//!   step-scoped user/workdir switch `USER`/`WORKDIR` around the `RUN` and
//!   switch back to the recipe's previous value, or to Docker's defaults
//!   (`root`, `/`) when the recipe never set one;
//! - a fetched file is `ADD --checksum=sha256:… [--chown] [--chmod] URL
//!   PATH`; a fetched archive is a named stage on [`UNPACK_IMAGE`] that
//!   fetches and unpacks it, then `COPY --from=… [--chown]`. `--checksum`
//!   (and `--chmod`) need a newer Dockerfile frontend than older engines
//!   build in, so a Dockerfile that uses them starts with a `# syntax=`
//!   line. The digest is the recipe's pin or the lock's; without either,
//!   `ADD` goes unchecked and a comment says so;
//! - removing a variable cannot be expressed: it is set empty, with a
//!   comment saying so.

use std::fmt::Write as _;

use crate::lock::Pins;
use crate::lower::{json, operations, word, Config, Content, FileOp, Op, Scope, Unpack, UNPACK_IMAGE};
use crate::recipe::Recipe;
use crate::Error;

/// The frontend a Dockerfile with fetched content names on its first line.
pub const SYNTAX: &str = "# syntax=docker/dockerfile:1.6";

/// Renders `recipe` as a Dockerfile for `platform` (e.g. `linux/arm64`).
pub fn render(recipe: &Recipe, platform: &str) -> Result<String, Error> {
    render_pinned(recipe, platform, &Pins::new())
}

/// `render`, with the digests `pins` (a lock's) records for fetched content
/// the recipe does not pin itself.
pub fn render_pinned(recipe: &Recipe, platform: &str, pins: &Pins) -> Result<String, Error> {
    recipe.validate()?;
    let root = recipe.root_address(Some(platform))?;
    let ops = operations(recipe, root, Scope::default())?;
    let mut out = Renderer::new(pins);
    if ops.iter().any(|op| out.needs_frontend(op)) {
        out.line(SYNTAX);
    }
    // Archives are unpacked in stages of their own, before the image's.
    for (index, op) in ops.iter().enumerate() {
        if let Op::Unpack(unpack) = op {
            out.stage(index + 1, unpack);
        }
    }
    out.line(format!("FROM --platform={platform} {root}"));
    for (index, (op, step)) in ops.iter().zip(&recipe.steps).enumerate() {
        out.op(index + 1, op).map_err(|reason| Error::InvalidStep {
            step: index + 1,
            op: step.op(),
            reason,
        })?;
    }
    Ok(out.text)
}

/// Dockerfile text being written, operation by operation; the Docker
/// engine writes its BuildKit segments with it too.
pub(crate) struct Renderer<'a> {
    pins: &'a Pins,
    /// The instructions so far.
    pub(crate) text: String,
    /// The `--mount` flags every later `RUN` gets.
    mounts: String,
}

impl<'a> Renderer<'a> {
    /// An empty Dockerfile; `pins` are the digests of fetched content.
    pub(crate) fn new(pins: &'a Pins) -> Self {
        Renderer {
            pins,
            text: String::new(),
            mounts: String::new(),
        }
    }

    /// Appends one line.
    pub(crate) fn line(&mut self, line: impl AsRef<str>) {
        self.text.push_str(line.as_ref());
        self.text.push('\n');
    }

    /// Whether `op` renders a flag the built-in frontend of older engines
    /// lacks (`ADD --checksum`, `--chmod`).
    fn needs_frontend(&self, op: &Op<'_>) -> bool {
        let known = |url: &str, pinned: Option<&str>| pinned.is_some() || self.pins.contains_key(url);
        match op {
            Op::File(FileOp {
                content: Content::Fetched { url, sha256 },
                mode,
                ..
            }) => known(url, *sha256) || mode.is_some(),
            Op::Unpack(unpack) => known(unpack.url, unpack.sha256),
            _ => false,
        }
    }

    /// `--checksum=…` for `url`, or a comment line saying it is not pinned.
    fn checksum(&mut self, url: &str, pinned: Option<&str>) -> String {
        match pinned.or_else(|| self.pins.get(url).map(String::as_str)) {
            Some(digest) => format!("--checksum={digest} "),
            None => {
                self.line(format!(
                    "# {url} is not pinned yet: its sha256 is recorded in versions.lock by the first build"
                ));
                String::new()
            }
        }
    }

    fn stage(&mut self, step: usize, unpack: &Unpack<'_>) {
        let checksum = self.checksum(unpack.url, unpack.sha256);
        self.line(format!("FROM {UNPACK_IMAGE} AS fetched-{step}"));
        self.line(format!("ADD {checksum}{} /archive", unpack.url));
        self.line(format!(
            "RUN {}",
            json(&["sh".into(), "-c".into(), unpack.format.unpack_script().into()])
        ));
    }

    /// Appends the instructions of operation `op`, step `step` (1-based).
    pub(crate) fn op(&mut self, step: usize, op: &Op<'_>) -> Result<(), String> {
        match op {
            Op::Run(run) => self.run_as(run.user, run.workdir, &run.argv, &run.image_user, &run.image_workdir),
            Op::Config(config) => {
                if let Config::UnsetEnv(name) = config {
                    self.line(format!(
                        "# without_env_variable({name}): a Dockerfile cannot remove a variable; it is set empty"
                    ));
                }
                let line = config.instruction()?;
                self.line(line);
                Ok(())
            }
            Op::File(file) => self.file(file),
            Op::Unpack(unpack) => {
                let chown = chown(unpack.owner)?;
                self.line(format!(
                    "COPY --from=fetched-{step} {chown}/out/ {}/",
                    word(unpack.path)?
                ));
                Ok(())
            }
            Op::Cache { path, cache } => {
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

    fn file(&mut self, file: &FileOp<'_>) -> Result<(), String> {
        match file.content {
            Content::Inline(contents) => {
                let mode = file.mode.unwrap_or(0o644);
                let script =
                    format!("mkdir -p \"$(dirname \"$1\")\" && printf '%s' \"$2\" > \"$1\" && chmod {mode:o} \"$1\"");
                let argv = [
                    "/bin/sh".to_owned(),
                    "-c".into(),
                    script,
                    "sh".into(),
                    file.path.to_owned(),
                    contents.to_owned(),
                ];
                let back = file.image_user.as_deref().unwrap_or("root");
                self.run_as(file.image_user.as_ref().map(|_| "root"), None, &argv, back, "/")
            }
            Content::Fetched { url, sha256 } => {
                let checksum = self.checksum(url, sha256);
                let chmod = file.mode.map(|m| format!("--chmod={m:o} ")).unwrap_or_default();
                let chown = chown(file.owner)?;
                self.line(format!("ADD {checksum}{chown}{chmod}{url} {}", word(file.path)?));
                Ok(())
            }
        }
    }

    /// Emits a `RUN`, switching user/workdir around it when asked and back
    /// to `back_user` / `back_workdir` after.
    fn run_as(
        &mut self,
        user: Option<&str>,
        workdir: Option<&str>,
        argv: &[String],
        back_user: &str,
        back_workdir: &str,
    ) -> Result<(), String> {
        if let Some(user) = user {
            self.line(format!("USER {}", word(user)?));
        }
        if let Some(dir) = workdir {
            self.line(format!("WORKDIR {}", word(dir)?));
        }
        let run = format!("RUN {}{}", self.mounts, json(argv));
        self.line(run);
        if workdir.is_some() {
            self.line(format!("WORKDIR {}", word(back_workdir)?));
        }
        if user.is_some() {
            self.line(format!("USER {}", word(back_user)?));
        }
        Ok(())
    }
}

/// `--chown=… ` for an owner, or nothing.
pub(crate) fn chown(owner: Option<&str>) -> Result<String, String> {
    Ok(match owner {
        Some(owner) => format!("--chown={} ", word(owner)?),
        None => String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::ExecOptions;

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
    fn fetched_content_is_added_with_its_checksum_or_a_note() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = Recipe::from("a")
            .with_fetched_file_opts(
                "/airbyte/base.sh",
                "https://h/base.sh",
                Some(0o755),
                crate::FetchOptions::default().owner("airbyte"),
            )
            .with_fetched_archive("/usr/share/nltk_data/taggers", "https://h/tagger.zip");
        let pins = Pins::from([("https://h/tagger.zip".to_owned(), digest.clone())]);
        let text = render_pinned(&r, "linux/amd64", &pins).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            text,
            format!(
                "{SYNTAX}\n\
                 FROM {UNPACK_IMAGE} AS fetched-2\n\
                 ADD --checksum={digest} https://h/tagger.zip /archive\n\
                 RUN [\"sh\",\"-c\",\"mkdir -p /out && unzip -q /archive -d /out\"]\n\
                 FROM --platform=linux/amd64 a\n\
                 # https://h/base.sh is not pinned yet: its sha256 is recorded in versions.lock by the first build\n\
                 ADD --chown=airbyte --chmod=755 https://h/base.sh /airbyte/base.sh\n\
                 COPY --from=fetched-2 /out/ /usr/share/nltk_data/taggers/\n"
            )
        );
    }

    #[test]
    fn the_syntax_line_only_when_a_flag_needs_it() {
        let r = Recipe::from("a").with_fetched_file_opts(
            "/f",
            "https://h/f",
            None,
            crate::FetchOptions::default().owner("app"),
        );
        let plain = render(&r, "linux/amd64").unwrap_or_else(|e| panic!("{e}"));
        assert!(!plain.contains(SYNTAX), "{plain}");
        let pins = Pins::from([("https://h/f".to_owned(), format!("sha256:{}", "c".repeat(64)))]);
        let pinned = render_pinned(&r, "linux/amd64", &pins).unwrap_or_else(|e| panic!("{e}"));
        assert!(pinned.starts_with(SYNTAX), "{pinned}");
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
        assert!(err.contains("no address for platform `linux/s390x`"), "{err}");
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
