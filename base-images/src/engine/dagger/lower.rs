//! The lowering: a Recipe as a `dagger_sdk::Container`, operation by
//! operation (`lower`), with the SDK call that does the same thing. The
//! match over operations is exhaustive, so a step Dagger cannot express is
//! a compile error here, not a surprise at run time. Step-scoped env runs
//! through `env NAME=value` (as on the Docker engine and in the
//! Dockerfile), step-scoped user and workdir are switched around the exec
//! and back. A fetched file is `client.http(url)` with its checksum when
//! one is known (from the URL's mirror when the run fetched it through
//! one); a fetched archive is unpacked in a helper container of
//! [`UNPACK_IMAGE`] and its directory copied in.

use std::collections::BTreeMap;

use dagger_sdk::{
    Container, ContainerWithDirectoryOpts, ContainerWithFileOpts, ContainerWithNewFileOpts, File, Platform, Query,
    QueryContainerOpts, QueryHttpOpts,
};

use crate::fetch::Pins;
use crate::lower::{operations, Config, Content, Op, Run, Scope, Unpack, UNPACK_IMAGE};
use crate::{BaseImage, Error, Recipe};

impl Recipe {
    /// This recipe as a Dagger container, for `platform` (the engine's own
    /// when `None`; required for a root pinned per platform).
    pub fn to_container(&self, client: &Query, platform: Option<&str>) -> Result<Container, Error> {
        self.to_container_pinned(client, platform, &Pins::new())
    }

    /// `to_container`, with the digests `pins` (a lock's) records for
    /// fetched content the recipe does not pin itself.
    pub fn to_container_pinned(&self, client: &Query, platform: Option<&str>, pins: &Pins) -> Result<Container, Error> {
        let (root, ops) = lowered(self, client, platform)?;
        Ok(ops
            .iter()
            .fold(root, |c, op| apply(client, &c, op, pins, &BTreeMap::new())))
    }
}

/// The root container of `recipe` and its operations.
pub(super) fn lowered<'r>(
    recipe: &'r Recipe,
    client: &Query,
    platform: Option<&str>,
) -> Result<(Container, Vec<Op<'r>>), Error> {
    recipe.validate()?;
    let root = recipe.root_address(platform)?;
    let container = match platform {
        Some(p) => client.container_opts(QueryContainerOpts {
            platform: Some(Platform(p.to_owned())),
        }),
        None => client.container(),
    };
    Ok((container.from(root), operations(recipe, root, Scope::default())?))
}

impl BaseImage {
    /// This version as a Dagger container (the whole chain of steps from the
    /// root), on the engine's platform.
    pub fn container(&self, client: &Query) -> Result<Container, Error> {
        self.recipe()?.to_container(client, None).map_err(|e| self.in_image(e))
    }

    /// `container` for one platform of the family.
    pub fn container_for(&self, client: &Query, platform: &str) -> Result<Container, Error> {
        self.recipe()?
            .to_container(client, Some(platform))
            .map_err(|e| self.in_image(e))
    }
}

/// `c` with one operation applied; a fetched URL is downloaded from its
/// source in `sources` (its mirror's URL) when it has one there.
pub(super) fn apply(
    client: &Query,
    c: &Container,
    op: &Op<'_>,
    pins: &Pins,
    sources: &BTreeMap<String, String>,
) -> Container {
    let checksum =
        |url: &str, pinned: Option<&str>| pinned.or_else(|| pins.get(url).map(String::as_str)).map(str::to_owned);
    let source = |url: &str| sources.get(url).cloned().unwrap_or_else(|| url.to_owned());
    match op {
        Op::Run(run) => exec(c, run),
        Op::Config(config) => configure(c, config),
        Op::File(file) => match file.content {
            Content::Inline(contents) => c.with_new_file_opts(
                file.path,
                contents,
                ContainerWithNewFileOpts {
                    permissions: file.mode.map(|m| m as isize),
                    owner: None,
                    expand: None,
                },
            ),
            Content::Fetched { url, sha256 } => {
                let fetched = http(client, &source(url), checksum(url, sha256).as_deref(), file.mode);
                c.with_file_opts(
                    file.path,
                    fetched,
                    ContainerWithFileOpts {
                        expand: None,
                        owner: file.owner,
                        permissions: None,
                    },
                )
            }
        },
        Op::Unpack(unpack) => unpacked(
            client,
            c,
            unpack,
            &source(unpack.url),
            checksum(unpack.url, unpack.sha256).as_deref(),
        ),
        Op::Cache { path, cache } => c.with_mounted_cache(*path, client.cache_volume(*cache)),
    }
}

/// `c` with `run`'s command run, its step-scoped user and workdir
/// switched around it and back.
fn exec(c: &Container, run: &Run<'_>) -> Container {
    let mut c = c.clone();
    if let Some(user) = run.user {
        c = c.with_user(user);
    }
    if let Some(dir) = run.workdir {
        c = c.with_workdir(dir);
    }
    c = c.with_exec(run.argv.clone());
    if run.workdir.is_some() {
        c = c.with_workdir(&run.image_workdir);
    }
    if run.user.is_some() {
        c = c.with_user(&run.image_user);
    }
    c
}

/// `c` with one setting of its image configuration.
fn configure(c: &Container, config: &Config<'_>) -> Container {
    match config {
        Config::Env(name, value) => c.with_env_variable(*name, *value),
        Config::UnsetEnv(name) => c.without_env_variable(*name),
        Config::Workdir(path) => c.with_workdir(*path),
        Config::User(name) => c.with_user(*name),
        Config::Label(name, value) => c.with_label(*name, *value),
        Config::Entrypoint(args) => c.with_entrypoint(args.to_vec()),
        Config::DefaultArgs(args) => c.with_default_args(args.to_vec()),
    }
}

/// The file at `url`, checked against `checksum` when one is known, with
/// `permissions` when given.
fn http(client: &Query, url: &str, checksum: Option<&str>, permissions: Option<u32>) -> File {
    client.http_opts(
        url,
        QueryHttpOpts {
            auth_header: None,
            checksum,
            experimental_service_host: None,
            name: None,
            permissions: permissions.map(|m| m as isize),
        },
    )
}

/// `c` with the archive of `unpack` (downloaded from `source`) unpacked in
/// a helper container of [`UNPACK_IMAGE`] and its directory copied in.
fn unpacked(client: &Query, c: &Container, unpack: &Unpack<'_>, source: &str, checksum: Option<&str>) -> Container {
    let archive = http(client, source, checksum, None);
    let unpacked = client
        .container()
        .from(UNPACK_IMAGE)
        .with_mounted_file("/archive", archive)
        .with_exec(vec!["sh", "-c", unpack.format.unpack_script()])
        .directory("/out");
    c.with_directory_opts(
        unpack.path,
        unpacked,
        ContainerWithDirectoryOpts {
            exclude: None,
            expand: None,
            gitignore: None,
            include: None,
            owner: unpack.owner,
            permissions: None,
        },
    )
}
