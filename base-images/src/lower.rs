//! The one normalisation of a Recipe into backend-neutral operations: each
//! step becomes one `Op` with everything a backend needs resolved (the
//! command line with its step-scoped env, the user and workdir a
//! step-scoped switch goes back to, a file's mode and owner, an archive's
//! format). The Dockerfile renderer, the Docker engine and the Dagger
//! lowering only translate operations, so a new step kind is one `Step`
//! variant, one arm in `operations` and one arm per backend over `Op`, and
//! the compiler lists every place. The Dockerfile words the Docker engine
//! also speaks (`Config::instruction`, `json`, `word`) live here too.

use std::collections::BTreeMap;

use crate::recipe::Recipe;
use crate::step::{ArchiveFormat, Step};
use crate::Error;

/// The permission bits of a fetched file that sets none: what a
/// Dockerfile's `ADD` and Dagger's `http` give.
pub(crate) const FETCHED_FILE_MODE: u32 = 0o600;

/// The image a Dockerfile stage and Dagger unpack a fetched archive in
/// (its `unzip` and `tar`), never the image being built. Pinned by the
/// digest of its multi-platform index, so the tag cannot be moved under
/// a build (the tag stays to say which busybox it is).
pub const UNPACK_IMAGE: &str =
    "docker.io/library/busybox:1.36.1@sha256:73aaf090f3d85aa34ee199857f03fa3a95c8ede2ffd4cc2cdb5b94e566b11662";

/// The user and working directory a recipe has set so far: what a
/// step-scoped user or workdir switches back to after its exec (Docker's
/// defaults, `root` and `/`, when nothing set one).
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    user: Option<String>,
    workdir: Option<String>,
}

impl Scope {
    /// A scope starting from an image's configured user and workdir (empty
    /// means unset).
    pub(crate) fn of_image(user: &str, workdir: &str) -> Scope {
        let set = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        Scope {
            user: set(user),
            workdir: set(workdir),
        }
    }

    fn follow(&mut self, step: &Step) {
        match step {
            Step::User { name } => self.user = Some(name.clone()),
            Step::Workdir { path } => self.workdir = Some(path.clone()),
            _ => {}
        }
    }

    fn user(&self) -> &str {
        self.user.as_deref().unwrap_or("root")
    }

    fn workdir(&self) -> &str {
        self.workdir.as_deref().unwrap_or("/")
    }

    fn runs_as_root(&self) -> bool {
        matches!(self.user(), "root" | "0" | "0:0")
    }
}

/// One backend-neutral operation; `operations` gives one per recipe step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op<'a> {
    /// Runs a command and keeps its file-system changes.
    Run(Run<'a>),
    /// Changes the image configuration only.
    Config(Config<'a>),
    /// Places one file (inline contents, or content fetched on the host).
    File(FileOp<'a>),
    /// Unpacks an archive fetched on the host into a directory.
    Unpack(Unpack<'a>),
    /// Mounts a cache volume for every later run.
    Cache {
        /// Where.
        path: &'a str,
        /// The cache's identity.
        cache: &'a str,
    },
}

/// A command to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Run<'a> {
    /// The argv, behind `env NAME=value …` for step-scoped variables (so
    /// they do not persist in the image).
    pub(crate) argv: Vec<String>,
    /// A step-scoped user.
    pub(crate) user: Option<&'a str>,
    /// A step-scoped working directory.
    pub(crate) workdir: Option<&'a str>,
    /// The user the image has set, which a step-scoped user switches back to.
    pub(crate) image_user: String,
    /// The workdir the image has set, which a step-scoped one switches back to.
    pub(crate) image_workdir: String,
}

/// A change of the image configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Config<'a> {
    /// Sets a variable.
    Env(&'a str, &'a str),
    /// Removes a variable (set empty where that cannot be said).
    UnsetEnv(&'a str),
    /// Sets the working directory.
    Workdir(&'a str),
    /// Sets the user.
    User(&'a str),
    /// Sets a label.
    Label(&'a str, &'a str),
    /// Sets the entrypoint (and resets the default args).
    Entrypoint(&'a [String]),
    /// Sets the default args.
    DefaultArgs(&'a [String]),
}

impl Config<'_> {
    /// The Dockerfile instruction (`ENV`, `WORKDIR`, `USER`, `LABEL`,
    /// `ENTRYPOINT`, `CMD`); the Docker engine commits with it as a change.
    pub(crate) fn instruction(&self) -> Result<String, String> {
        Ok(match self {
            Config::Env(name, value) => format!("ENV {name}={}", quoted(value)?),
            Config::UnsetEnv(name) => format!("ENV {name}=\"\""),
            Config::Workdir(path) => format!("WORKDIR {}", word(path)?),
            Config::User(name) => format!("USER {}", word(name)?),
            Config::Label(name, value) => format!("LABEL {}={}", quoted(name)?, quoted(value)?),
            Config::Entrypoint(args) => format!("ENTRYPOINT {}", json(args)),
            Config::DefaultArgs(args) => format!("CMD {}", json(args)),
        })
    }
}

/// Where a file's content comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Content<'a> {
    /// Contents written in the recipe.
    Inline(&'a str),
    /// Content the build tool fetches on the host.
    Fetched {
        /// Its URL.
        url: &'a str,
        /// The digest the recipe pins, if any.
        sha256: Option<&'a str>,
    },
}

/// A file to place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileOp<'a> {
    /// Its absolute path.
    pub(crate) path: &'a str,
    /// Its content.
    pub(crate) content: Content<'a>,
    /// Its permission bits, when the recipe sets them.
    pub(crate) mode: Option<u32>,
    /// Its owner, `user[:group]` (root when `None`).
    pub(crate) owner: Option<&'a str>,
    /// The image's user when it is not root: a backend that writes the file
    /// by running a command runs it as root and switches back to this one.
    pub(crate) image_user: Option<String>,
}

/// An archive to unpack into a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Unpack<'a> {
    /// The directory.
    pub(crate) path: &'a str,
    /// The archive's URL.
    pub(crate) url: &'a str,
    /// The digest the recipe pins, if any.
    pub(crate) sha256: Option<&'a str>,
    /// How it is packed.
    pub(crate) format: ArchiveFormat,
    /// The owner of the directory and its entries (root when `None`).
    pub(crate) owner: Option<&'a str>,
}

/// The operations of `recipe` built on the root address `root`, one per
/// step, starting from the image user and workdir `start` (the root
/// image's, or Docker's defaults).
pub(crate) fn operations<'a>(recipe: &'a Recipe, root: &'a str, start: Scope) -> Result<Vec<Op<'a>>, Error> {
    let mut scope = start;
    let mut ops = Vec::with_capacity(recipe.steps.len());
    for (index, step) in recipe.steps.iter().enumerate() {
        scope.follow(step);
        ops.push(operation(step, root, &scope).map_err(|reason| Error::InvalidStep {
            step: index + 1,
            op: step.op(),
            reason,
        })?);
    }
    Ok(ops)
}

/// The operation of one step, in `scope` (the user and workdir set so far).
fn operation<'a>(step: &'a Step, root: &'a str, scope: &Scope) -> Result<Op<'a>, String> {
    Ok(match step {
        Step::Exec {
            args,
            env,
            user,
            workdir,
        } => Op::Run(run(args, env, user.as_deref(), workdir.as_deref(), scope)),
        Step::Env { name, value } => Op::Config(Config::Env(name, value)),
        Step::UnsetEnv { name } => Op::Config(Config::UnsetEnv(name)),
        Step::EnvRoot { name } => Op::Config(Config::Env(name, root)),
        Step::LabelRoot { name } => Op::Config(Config::Label(name, root)),
        Step::Workdir { path } => Op::Config(Config::Workdir(path)),
        Step::User { name } => Op::Config(Config::User(name)),
        Step::Label { name, value } => Op::Config(Config::Label(name, value)),
        Step::Entrypoint { args } => Op::Config(Config::Entrypoint(args)),
        Step::DefaultArgs { args } => Op::Config(Config::DefaultArgs(args)),
        Step::NewFile { path, contents, mode } => Op::File(FileOp {
            path,
            content: Content::Inline(contents),
            mode: Some(*mode),
            owner: None,
            image_user: user_to_restore(scope),
        }),
        Step::FetchFile {
            url,
            path,
            sha256,
            owner,
            mode,
        } => Op::File(FileOp {
            path,
            content: Content::Fetched {
                url,
                sha256: sha256.as_deref(),
            },
            mode: *mode,
            owner: owner.as_deref(),
            image_user: user_to_restore(scope),
        }),
        Step::FetchArchive {
            url,
            path,
            sha256,
            owner,
        } => Op::Unpack(unpack(url, path, sha256.as_deref(), owner.as_deref())?),
        Step::MountedCache { path, cache } => Op::Cache { path, cache },
    })
}

/// An exec step as a command line: its step-scoped environment through
/// `env`, then its argv.
fn run<'a>(
    args: &[String],
    env: &BTreeMap<String, String>,
    user: Option<&'a str>,
    workdir: Option<&'a str>,
    scope: &Scope,
) -> Run<'a> {
    let mut argv: Vec<String> = Vec::new();
    if !env.is_empty() {
        argv.push("env".into());
        argv.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    }
    argv.extend(args.iter().cloned());
    Run {
        argv,
        user,
        workdir,
        image_user: scope.user().to_owned(),
        image_workdir: scope.workdir().to_owned(),
    }
}

/// The image's user a backend writing a file as root switches back to
/// (none when the image runs as root).
fn user_to_restore(scope: &Scope) -> Option<String> {
    (!scope.runs_as_root()).then(|| scope.user().to_owned())
}

/// A fetched archive to unpack, its format told by its URL's name.
fn unpack<'a>(
    url: &'a str,
    path: &'a str,
    sha256: Option<&'a str>,
    owner: Option<&'a str>,
) -> Result<Unpack<'a>, String> {
    Ok(Unpack {
        path,
        url,
        sha256,
        format: ArchiveFormat::of_url(url)
            .ok_or_else(|| format!("fetches `{url}`, whose name does not say its format"))?,
        owner,
    })
}

/// A JSON array of strings, as exec-form instructions take.
pub(crate) fn json(args: &[String]) -> String {
    // A list of strings always serializes.
    serde_json::Value::from(args.to_vec()).to_string()
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
pub(crate) fn quoted(text: &str) -> Result<String, String> {
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
    use crate::step::{ExecOptions, FetchOptions};

    #[test]
    fn a_step_scoped_switch_knows_what_to_go_back_to() {
        let r = Recipe::from("a")
            .with_user("app")
            .with_exec_opts(["id"], ExecOptions::default().user("root").env("K", "v"));
        let ops = operations(&r, "a", Scope::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ops[1],
            Op::Run(Run {
                argv: vec!["env".into(), "K=v".into(), "id".into()],
                user: Some("root"),
                workdir: None,
                image_user: "app".into(),
                image_workdir: "/".into(),
            })
        );
    }

    #[test]
    fn files_know_the_image_user_and_archives_their_format() {
        let r = Recipe::from("a")
            .with_user("app")
            .with_fetched_file_opts("/f", "https://h/f", None, FetchOptions::default().owner("app"))
            .with_fetched_archive("/d", "https://h/d.tar.gz?x=1");
        let ops = operations(&r, "a", Scope::default()).unwrap_or_else(|e| panic!("{e}"));
        let Op::File(file) = &ops[1] else { panic!("{ops:?}") };
        assert_eq!(file.image_user.as_deref(), Some("app"));
        assert_eq!(file.owner, Some("app"));
        let Op::Unpack(unpack) = &ops[2] else { panic!("{ops:?}") };
        assert_eq!(unpack.format, ArchiveFormat::TarGz);
    }

    #[test]
    fn the_unpacking_image_is_pinned_by_digest() {
        let address = crate::address::ImageAddress::parse(UNPACK_IMAGE).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            address.is_pinned(),
            "{UNPACK_IMAGE} can be moved under us: pin it by digest"
        );
        assert_eq!(
            address.tag(),
            Some("1.36.1"),
            "the tag says which busybox the digest is"
        );
    }

    #[test]
    fn root_valued_env_and_labels_name_the_platforms_root() {
        let r = Recipe::from_platforms([("linux/amd64", "a@sha256:1"), ("linux/arm64", "b@sha256:2")])
            .with_root_env_variable("BASE")
            .with_root_label("base");
        let root = r.root_for("linux/arm64").unwrap_or_default();
        let ops = operations(&r, root, Scope::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ops,
            [
                Op::Config(Config::Env("BASE", "b@sha256:2")),
                Op::Config(Config::Label("base", "b@sha256:2"))
            ]
        );
    }

    #[test]
    fn the_image_scope_is_where_a_switch_goes_back_to() {
        let r = Recipe::from("a").with_exec_opts(["id"], ExecOptions::default().workdir("/tmp"));
        let ops = operations(&r, "a", Scope::of_image("svc", "/srv")).unwrap_or_else(|e| panic!("{e}"));
        let Op::Run(run) = &ops[0] else { panic!("{ops:?}") };
        assert_eq!((run.image_user.as_str(), run.image_workdir.as_str()), ("svc", "/srv"));
    }
}
