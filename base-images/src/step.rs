//! The plain values a recipe is made of: its root, its steps and the
//! options a step is built with, and the archive format a fetched
//! archive's URL names. They import nothing else of the crate, so every
//! module that reads recipes (the recipe itself, its digest, the fetcher,
//! the lowering the backends translate) can stand on them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    pub(crate) sha256: Option<String>,
    pub(crate) owner: Option<String>,
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

/// How an archive is packed, told by its URL's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// `.zip`
    Zip,
    /// `.tar`
    Tar,
    /// `.tar.gz` or `.tgz`
    TarGz,
}

impl ArchiveFormat {
    /// The format the name of `url`'s path says, ignoring query and fragment.
    pub fn of_url(url: &str) -> Option<Self> {
        let path = url.split(['?', '#']).next().unwrap_or(url).to_ascii_lowercase();
        if path.ends_with(".zip") {
            Some(ArchiveFormat::Zip)
        } else if path.ends_with(".tar.gz") || path.ends_with(".tgz") {
            Some(ArchiveFormat::TarGz)
        } else if path.ends_with(".tar") {
            Some(ArchiveFormat::Tar)
        } else {
            None
        }
    }

    /// The `sh` script that unpacks `/archive` into `/out` in the unpacking
    /// image (a Dockerfile stage, Dagger's helper container).
    pub(crate) fn unpack_script(self) -> &'static str {
        match self {
            ArchiveFormat::Zip => "mkdir -p /out && unzip -q /archive -d /out",
            ArchiveFormat::Tar => "mkdir -p /out && tar -xf /archive -C /out",
            ArchiveFormat::TarGz => "mkdir -p /out && tar -xzf /archive -C /out",
        }
    }

    /// The format's name, as an error about the archive says it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ArchiveFormat::Zip => "zip",
            ArchiveFormat::Tar => "tar",
            ArchiveFormat::TarGz => "gzip-compressed tar",
        }
    }
}
