//! Building a Recipe on a Docker daemon. The result of each version's
//! last step is tagged `base-images-cache:<key>`, where the key hashes the
//! root image id, the platform, the recipe-prefix digest and the digests
//! of fetched content, so an unchanged prefix is never rebuilt and
//! building 1.0.1 after 1.0.0 runs only 1.0.1's steps (and a catalog
//! built before starts nothing). A step is tagged only once it succeeded.
//!
//! The steps of a version run in the engine's own BuildKit (`buildkit`),
//! as `docker build` runs them; BuildKit's cache keeps the steps inside a
//! version, so a build that failed at step 7 does not run steps 1-6 again.
//! Content with an owner is the exception: it is uploaded to a container
//! of the image as it is at that step (so the owner's ids are read from
//! that image's `/etc/passwd` and `/etc/group`, and new parent
//! directories stay root's, where BuildKit's `COPY --chown` would give
//! them to the owner too) and committed, with the configuration steps that
//! follow it in the same version folded into that commit.

use std::collections::HashMap;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CommitContainerOptions, CreateContainerOptions, CreateImageOptions, TagImageOptions, UploadToContainerOptions,
};
use futures_util::TryStreamExt as _;
use sha2::{Digest as _, Sha256};

use super::buildkit::{Failure, Stretch};
use super::{container_file, engine_error, ContainerFile, DockerEngine, RECIPE_LABEL, RUN_LABEL};
use crate::engine::{BuildRequest, BuiltImage};
use crate::fetch::{unpack, Entry, EntryKind, Pins};
use crate::lower::{operations, Config, Content, Op, Scope, FETCHED_FILE_MODE};
use crate::{Error, ImageAddress, RecipeDigest};

/// The repository cached steps are tagged in.
pub const CACHE_REPOSITORY: &str = "base-images-cache";

/// The image configuration later steps must preserve.
#[derive(Clone, Debug, Default)]
struct State {
    entrypoint: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    caches: Vec<(String, String)>,
}

impl State {
    /// Follows an operation's effect on the configuration.
    fn follow(&mut self, op: &Op<'_>) {
        match op {
            Op::Config(Config::Entrypoint(args)) => {
                // As in a Dockerfile and in Dagger, a new entrypoint resets the default args.
                self.entrypoint = Some(args.to_vec());
                self.cmd = None;
            }
            Op::Config(Config::DefaultArgs(args)) => self.cmd = Some(args.to_vec()),
            Op::Cache { path, cache } => self.caches.push(((*path).to_owned(), (*cache).to_owned())),
            _ => {}
        }
    }
}

/// The tag of the cached image holding a recipe prefix whose fetched
/// content had the digests `inputs` (so changed content is never served
/// from the cache).
fn cache_tag(root_id: &str, platform: &str, prefix: &RecipeDigest, inputs: &[&str]) -> String {
    let mut key = format!("{root_id}\n{platform}\n{prefix}");
    for digest in inputs {
        key.push('\n');
        key.push_str(digest);
    }
    format!("{:x}", Sha256::digest(key))
}

/// The fetched content of a step, from the build's inputs.
fn input<'r>(request: &'r BuildRequest<'_>, url: &str) -> Result<&'r crate::fetch::Fetched, Error> {
    request.inputs.get(url).ok_or_else(|| Error::Engine {
        action: format!("place {url}"),
        reason: "it was not fetched before the build; fetch the recipe's inputs first (fetch::fetch_inputs)".into(),
        source: None,
    })
}

pub(super) async fn build(engine: &DockerEngine, request: BuildRequest<'_>) -> Result<BuiltImage, Error> {
    let recipe = request.recipe;
    let root = recipe.root_address(Some(request.platform))?;
    let root_image = ensure_root(engine, root, request.platform).await?;
    let root_id = root_image.id.clone().unwrap_or_default();
    let config = root_image.config.unwrap_or_default();
    let ops = operations(
        recipe,
        root,
        Scope::of_image(
            config.user.as_deref().unwrap_or_default(),
            config.working_dir.as_deref().unwrap_or_default(),
        ),
    )?;
    let mut state = State {
        entrypoint: config.entrypoint.filter(|e| !e.is_empty()),
        cmd: config.cmd.filter(|c| !c.is_empty()),
        caches: Vec::new(),
    };
    let prefixes = recipe.prefix_digests();
    let mut inputs: Vec<&str> = Vec::new();
    let mut tags = vec![cache_tag(&root_id, request.platform, &prefixes[0], &inputs)];
    for (step, prefix) in recipe.steps.iter().zip(&prefixes[1..]) {
        if let Some((url, _)) = step.fetched() {
            inputs.push(&input(&request, url)?.sha256);
        }
        tags.push(cache_tag(&root_id, request.platform, prefix, &inputs));
    }

    // The longest prefix already built, and a name BuildKit finds it by.
    let mut done = 0;
    let mut current = root_id.clone();
    let mut current_name = held_root_name(root, request.platform)?;
    for n in (1..=recipe.steps.len()).rev() {
        let name = format!("{CACHE_REPOSITORY}:{}", tags[n]);
        if let Ok(image) = engine.docker.inspect_image(&name).await {
            current = image.id.unwrap_or_default();
            current_name = name;
            done = n;
            break;
        }
    }
    for op in &ops[..done] {
        state.follow(op);
    }
    // Fetched content reaches BuildKit through the context, never a URL.
    let pins = Pins::new();
    let mut index = done;
    while index < ops.len() {
        let declared_by = |n: usize| request.declared_by.get(n).cloned().unwrap_or_default();
        let invalid = |n: usize| {
            let op = recipe.steps[n].op();
            move |reason: String| Error::InvalidStep {
                step: n + 1,
                op,
                reason,
            }
        };
        let in_buildkit = runs_in_buildkit(&ops[index]);
        let end = if in_buildkit {
            stretch_end(&ops, request.declared_by, index)
        } else {
            group_end(&ops, request.declared_by, index)
        };
        for (n, step) in recipe.steps.iter().enumerate().take(end).skip(index) {
            tracing::info!(step = n + 1, op = step.op(), declared_by = %declared_by(n), in_buildkit, "building step");
        }
        let tag = &tags[end];
        current = if in_buildkit {
            let mut stretch = Stretch::new(&pins, &current_name, &state.caches).map_err(invalid(index))?;
            for (n, op) in ops.iter().enumerate().take(end).skip(index) {
                let content = content(&request, n, op)?;
                let files = content.as_ref().map(|c| (c.path, &c.entries[..]));
                stretch.push(n, op, files).map_err(invalid(n))?;
            }
            tracing::debug!(dockerfile = stretch.dockerfile(), "building in the engine's BuildKit");
            let name = format!("{CACHE_REPOSITORY}:{tag}");
            let built = stretch
                .build(engine, request.platform, &name, &prefixes[end].to_string())
                .await;
            current_name = name;
            built.map_err(|failure| match failure {
                Failure::Step {
                    op,
                    exit_code,
                    message,
                    output,
                } => match (&ops[op], exit_code) {
                    (Op::Run(run), Some(exit_code)) => Error::StepFailed {
                        step: op + 1,
                        op: recipe.steps[op].op(),
                        declared_by: declared_by(op),
                        command: run.argv.clone(),
                        exit_code,
                        output,
                    },
                    _ => Error::Engine {
                        action: format!(
                            "build step {} ({}, declared by {})",
                            op + 1,
                            recipe.steps[op].op(),
                            declared_by(op)
                        ),
                        reason: [message, output].join("\n").trim_end().to_owned(),
                        source: None,
                    },
                },
                Failure::Engine(reason) => Error::Engine {
                    action: format!("build steps {}-{} with the engine's BuildKit", index + 1, end),
                    reason,
                    source: None,
                },
            })?
        } else {
            // Content with an owner: its ids are the image's, as it is at
            // this step, and its new parent directories stay root's.
            let mut changes = Vec::new();
            for (n, later) in ops.iter().enumerate().take(end).skip(index + 1) {
                if let Op::Config(config) = later {
                    changes.push(config.instruction().map_err(invalid(n))?);
                }
            }
            changes.push(format!("LABEL {RECIPE_LABEL}=\"{}\"", prefixes[end]));
            let Some(content) = content(&request, index, &ops[index])? else {
                unreachable!("only placed content runs outside BuildKit")
            };
            let at = (content.path, content.owner);
            let placed = place(engine, &current, &request, &state, at, &content.entries, tag, changes).await?;
            current_name = format!("{CACHE_REPOSITORY}:{tag}");
            placed
        };
        for op in &ops[index..end] {
            state.follow(op);
        }
        index = end;
    }
    Ok(BuiltImage {
        id: current,
        steps_built: recipe.steps.len() - done,
        steps_cached: done,
    })
}

/// Whether `op` runs in the engine's BuildKit: everything but content with
/// an owner, whose parent directories BuildKit's `COPY --chown` would give
/// to that owner too.
fn runs_in_buildkit(op: &Op<'_>) -> bool {
    match op {
        Op::File(file) => file.owner.is_none(),
        Op::Unpack(unpack) => unpack.owner.is_none(),
        Op::Run(_) | Op::Config(_) | Op::Cache { .. } => true,
    }
}

/// Where the BuildKit stretch starting at `start` ends (exclusive): at the
/// end of the version that declared it (so every version's last step has
/// an image of its own), before content with an owner, and before an
/// entrypoint that follows default args in the same stretch (a
/// Dockerfile's `ENTRYPOINT` keeps a `CMD` set earlier in the same file,
/// where a recipe's entrypoint resets the default args).
fn stretch_end(ops: &[Op<'_>], declared_by: &[String], start: usize) -> usize {
    let mut args_set = false;
    let mut end = start;
    while end < ops.len() && runs_in_buildkit(&ops[end]) && declared_by.get(end) == declared_by.get(start) {
        match &ops[end] {
            Op::Config(Config::Entrypoint(_)) if args_set && end > start => break,
            Op::Config(Config::DefaultArgs(_)) => args_set = true,
            _ => {}
        }
        end += 1;
    }
    end.max(start + 1)
}

/// Content an operation places.
struct Placed<'o> {
    /// Where.
    path: &'o str,
    /// Its owner (root when `None`).
    owner: Option<&'o str>,
    /// The entries; the one with an empty path is `path` itself.
    entries: Vec<Entry>,
}

/// The content operation `index` places (`None` for one that places none).
fn content<'o>(request: &BuildRequest<'_>, index: usize, op: &Op<'o>) -> Result<Option<Placed<'o>>, Error> {
    Ok(match op {
        Op::File(file) => {
            let (contents, mode) = match file.content {
                Content::Inline(text) => (text.as_bytes().to_vec(), file.mode.unwrap_or(0o644)),
                Content::Fetched { url, .. } => (
                    input(request, url)?.bytes.to_vec(),
                    file.mode.unwrap_or(FETCHED_FILE_MODE),
                ),
            };
            let entry = Entry {
                path: String::new(),
                mode,
                kind: EntryKind::File(contents),
            };
            Some(Placed {
                path: file.path,
                owner: file.owner,
                entries: vec![entry],
            })
        }
        Op::Unpack(unpacked) => {
            let bytes = &input(request, unpacked.url)?.bytes;
            let mut entries = vec![Entry {
                path: String::new(),
                mode: 0o755,
                kind: EntryKind::Directory,
            }];
            entries.extend(unpack(unpacked.format, bytes).map_err(|reason| Error::InvalidStep {
                step: index + 1,
                op: request.recipe.steps[index].op(),
                reason: format!("fetches {}, which {reason}", unpacked.url),
            })?);
            Some(Placed {
                path: unpacked.path,
                owner: unpacked.owner,
                entries,
            })
        }
        Op::Run(_) | Op::Config(_) | Op::Cache { .. } => None,
    })
}

/// Where the group of operations starting at `start` (content placed in
/// a container) ends (exclusive): the configuration steps and cache
/// mounts that follow it, declared by the same version, change no file
/// and are folded into its commit. A group never spans two versions, and
/// an entrypoint (which resets the default args) is left to BuildKit.
fn group_end(ops: &[Op<'_>], declared_by: &[String], start: usize) -> usize {
    let foldable = |op: &Op<'_>| match op {
        Op::Config(Config::Entrypoint(_)) => false,
        Op::Config(_) | Op::Cache { .. } => true,
        Op::Run(_) | Op::File(_) | Op::Unpack(_) => false,
    };
    let mut end = start + 1;
    while end < ops.len() && foldable(&ops[end]) && declared_by.get(end) == declared_by.get(start) {
        end += 1;
    }
    end
}

/// Uploads `entries` at `path` (the entry with an empty path is `path`
/// itself) owned by `owner` (root when `None`), in a container of
/// `image`, and commits it.
#[allow(clippy::too_many_arguments)]
async fn place(
    engine: &DockerEngine,
    image: &str,
    request: &BuildRequest<'_>,
    state: &State,
    (path, owner): (&str, Option<&str>),
    entries: &[Entry],
    tag: &str,
    changes: Vec<String>,
) -> Result<String, Error> {
    let container = create(engine, image, request.platform, idle_body(state)).await?;
    let result = async {
        let ids = match owner {
            Some(owner) => owner_ids(engine, &container, owner).await?,
            None => (0, 0),
        };
        upload(engine, &container, path, entries, ids).await?;
        commit(engine, &container, tag, &changes).await
    }
    .await;
    engine.remove(&container).await;
    result
}

/// The body of a container that is created, never started, and committed.
fn idle_body(state: &State) -> ContainerCreateBody {
    // The daemon refuses to create a container with no command at all.
    let needs_cmd = state.cmd.is_none() && state.entrypoint.is_none();
    ContainerCreateBody {
        cmd: needs_cmd.then(|| vec!["true".to_owned()]),
        ..Default::default()
    }
}

/// The root image, pulled only when it is not present.
pub(super) async fn ensure_root(
    engine: &DockerEngine,
    address: &str,
    platform: &str,
) -> Result<bollard::models::ImageInspect, Error> {
    // One root at a time: the engine's store holds one image per name (and
    // Docker 20.10 one per digest), so two chains pulling one address for
    // two platforms would race. Each platform's image of an address pinned
    // by digest (content that cannot change) is kept under a name of its
    // own (ROOT_REPOSITORY), so the next build finds it again.
    let _one_at_a_time = engine.roots.lock().await;
    let parsed = ImageAddress::parse(address)?;
    let own_name = parsed.is_pinned().then(|| root_name(address, platform));
    if let Some(name) = &own_name {
        if let Ok(image) = engine.docker.inspect_image(name).await {
            return Ok(image);
        }
    }
    let local = engine.docker.inspect_image(address).await.ok();
    if let Some(image) = &local {
        if is_for(image, platform) {
            keep_as(engine, image, own_name.as_deref()).await;
            return Ok(image.clone());
        }
        if own_name.is_none() {
            // A name that is not pinned is never moved to another image.
            return Err(Error::RootPlatform {
                address: address.to_owned(),
                held: platform_of(image),
                wanted: platform.to_owned(),
            });
        }
        // Another platform's image holds the pinned name: let it go (the
        // content is pinned and can be pulled again) so this platform's
        // can be pulled.
        let options = bollard::query_parameters::RemoveImageOptions {
            noprune: true,
            ..Default::default()
        };
        let _ = engine.docker.remove_image(address, Some(options), None).await;
    }
    let registry = registry_of(parsed.name());
    tracing::info!(address, "pulling root image");
    let options = CreateImageOptions {
        from_image: Some(address.to_owned()),
        platform: platform.to_owned(),
        ..Default::default()
    };
    let pulled: Result<Vec<_>, _> = engine
        .docker
        .create_image(Some(options), None, None)
        .try_collect()
        .await;
    let pull_error = |reason: String, source| Error::Pull {
        address: address.to_owned(),
        registry: registry.clone(),
        reason,
        source: Box::new(source),
    };
    if let Err(e) = pulled {
        let reason = match local.as_ref().map(platform_of) {
            Some(held) => format!(
                "the local image {address} is for {held}, not {platform}, and pulling it for {platform} failed: {e}"
            ),
            None => e.to_string(),
        };
        return Err(pull_error(reason, e));
    }
    let image = engine
        .docker
        .inspect_image(address)
        .await
        .map_err(|e| pull_error(format!("pulled, but not found afterwards: {e}"), e))?;
    keep_as(engine, &image, own_name.as_deref()).await;
    Ok(image)
}

/// The repository each platform's root image is also tagged in.
pub const ROOT_REPOSITORY: &str = "base-images-root";

/// The name `address`'s image for `platform` is kept as in
/// [`ROOT_REPOSITORY`].
fn root_name(address: &str, platform: &str) -> String {
    let tag = Sha256::digest(format!("{address}\n{platform}").as_bytes());
    format!("{ROOT_REPOSITORY}:{tag:x}")
}

/// The name the engine holds the root `address` for `platform` by, once
/// [`ensure_root`] found or pulled it.
fn held_root_name(address: &str, platform: &str) -> Result<String, Error> {
    Ok(match ImageAddress::parse(address)?.is_pinned() {
        true => root_name(address, platform),
        false => address.to_owned(),
    })
}

/// Tags `image` as `name` (`repository:tag`), if any; a failure only
/// costs a pull next time.
async fn keep_as(engine: &DockerEngine, image: &bollard::models::ImageInspect, name: Option<&str>) {
    let Some(name) = name else { return };
    let (repo, tag) = name.split_once(':').unwrap_or((name, "latest"));
    let options = TagImageOptions {
        repo: Some(repo.to_owned()),
        tag: Some(tag.to_owned()),
    };
    if let Some(id) = &image.id {
        if let Err(e) = engine.docker.tag_image(id, Some(options)).await {
            tracing::warn!(image = %id, error = %e, "could not tag a root image");
        }
    }
}

/// `os/arch[/variant]` of an image.
fn platform_of(image: &bollard::models::ImageInspect) -> String {
    super::platform_text(
        Some(image.os.as_deref().unwrap_or("linux")),
        image.architecture.as_deref(),
        image.variant.as_deref(),
    )
}

/// Whether `image` is for `platform` (a platform without a variant
/// accepts any variant).
fn is_for(image: &bollard::models::ImageInspect, platform: &str) -> bool {
    let held = platform_of(image);
    held == platform || (platform.matches('/').count() == 1 && held.starts_with(&format!("{platform}/")))
}

/// The registry host an image name refers to (Docker's default when none).
fn registry_of(name: &str) -> String {
    match name.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.to_owned(),
        _ => "docker.io (the default registry)".to_owned(),
    }
}

async fn create(
    engine: &DockerEngine,
    image: &str,
    platform: &str,
    body: ContainerCreateBody,
) -> Result<String, Error> {
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        labels: Some(HashMap::from([(RUN_LABEL.to_owned(), engine.run_id.clone())])),
        ..body
    };
    let options = CreateContainerOptions {
        platform: platform.to_owned(),
        ..Default::default()
    };
    let created = engine
        .docker
        .create_container(Some(options), body)
        .await
        .map_err(engine_error(format!("create a container from {image}")))?;
    engine.track(&created.id);
    Ok(created.id)
}

async fn commit(engine: &DockerEngine, container: &str, tag: &str, changes: &[String]) -> Result<String, Error> {
    let options = CommitContainerOptions {
        container: Some(container.to_owned()),
        repo: Some(CACHE_REPOSITORY.to_owned()),
        tag: Some(tag.to_owned()),
        changes: Some(changes.join("\n")),
        pause: false,
        ..Default::default()
    };
    let committed = engine
        .docker
        .commit_container(options, bollard::models::ContainerConfig::default())
        .await
        .map_err(engine_error("commit a build step"))?;
    Ok(committed.id)
}

/// The uid and gid of `user[:group]` in the container's `/etc/passwd` and
/// `/etc/group` (numbers are taken as they are; a user without a group
/// gets its primary group).
async fn owner_ids(engine: &DockerEngine, container: &str, owner: &str) -> Result<(u64, u64), Error> {
    let (user, group) = match owner.split_once(':') {
        Some((user, group)) => (user, Some(group)),
        None => (owner, None),
    };
    let unknown = |what: &str, name: &str| Error::Engine {
        action: format!("give {owner} a file"),
        reason: format!("the image has no {what} `{name}`; create it in an earlier step"),
        source: None,
    };
    let passwd = read_text(engine, container, "/etc/passwd").await?;
    let (uid, primary) = match user.parse::<u64>() {
        Ok(uid) => (uid, uid),
        Err(_) => passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() > 3 && f[0] == user)
            .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
            .ok_or_else(|| unknown("user", user))?,
    };
    let gid = match group {
        None => primary,
        Some(group) => match group.parse::<u64>() {
            Ok(gid) => gid,
            Err(_) => read_text(engine, container, "/etc/group")
                .await?
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() > 2 && f[0] == group)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| unknown("group", group))?,
        },
    };
    Ok((uid, gid))
}

/// A text file of a container (empty when it is not a file).
async fn read_text(engine: &DockerEngine, container: &str, path: &str) -> Result<String, Error> {
    match container_file(engine, container, path).await {
        Ok(ContainerFile::File(bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Ok(ContainerFile::Directory | ContainerFile::Empty) => Ok(String::new()),
        Err(e) => Err(Error::Engine {
            action: format!("read {path}"),
            reason: e.to_string(),
            source: Some(e),
        }),
    }
}

/// Uploads `entries` at `path`, owned by `ids`, creating missing parent
/// directories (0755, root) without touching existing ones.
async fn upload(
    engine: &DockerEngine,
    container: &str,
    path: &str,
    entries: &[Entry],
    ids: (u64, u64),
) -> Result<(), Error> {
    let parts: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let Some((name, dirs)) = parts.split_last() else {
        return Err(Error::Engine {
            action: format!("write {path}"),
            reason: "the path names no file".into(),
            source: None,
        });
    };
    // The deepest existing ancestor directory.
    let mut existing = dirs.len();
    while existing > 0 {
        let dir = format!("/{}", dirs[..existing].join("/"));
        let options = bollard::query_parameters::ContainerArchiveInfoOptions { path: dir };
        if engine
            .docker
            .get_container_archive_info(container, Some(options))
            .await
            .is_ok()
        {
            break;
        }
        existing -= 1;
    }
    let archive = tar_of(&dirs[existing..], name, entries, ids).map_err(|e| Error::Engine {
        action: format!("pack {path}"),
        reason: e.to_string(),
        source: None,
    })?;
    let options = UploadToContainerOptions {
        path: format!("/{}", dirs[..existing].join("/")),
        ..Default::default()
    };
    engine
        .docker
        .upload_to_container(container, Some(options), bollard::body_full(archive.into()))
        .await
        .map_err(engine_error(format!("write {path}")))
}

/// A tar archive with `dirs` (created, 0755, root), then `entries` under
/// `name` inside them (the entry with an empty path is `name` itself),
/// owned by `ids`.
fn tar_of(dirs: &[&str], name: &str, entries: &[Entry], ids: (u64, u64)) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    append_entries(&mut builder, dirs, name, entries, ids)?;
    builder.into_inner()
}

/// Appends what [`tar_of`] holds to `builder`.
pub(super) fn append_entries(
    builder: &mut tar::Builder<Vec<u8>>,
    dirs: &[&str],
    name: &str,
    entries: &[Entry],
    (uid, gid): (u64, u64),
) -> std::io::Result<()> {
    let mut prefix = String::new();
    for dir in dirs {
        prefix.push_str(dir);
        prefix.push('/');
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        header.set_uid(0);
        header.set_gid(0);
        builder.append_data(&mut header, &prefix, std::io::empty())?;
    }
    for entry in entries {
        let mut path = format!("{prefix}{name}");
        if !entry.path.is_empty() {
            path.push('/');
            path.push_str(&entry.path);
        }
        let mut header = tar::Header::new_gnu();
        header.set_mode(entry.mode);
        header.set_uid(uid);
        header.set_gid(gid);
        header.set_size(0);
        match &entry.kind {
            EntryKind::Directory => {
                header.set_entry_type(tar::EntryType::Directory);
                builder.append_data(&mut header, format!("{path}/"), std::io::empty())?;
            }
            EntryKind::File(contents) => {
                header.set_size(contents.len() as u64);
                builder.append_data(&mut header, path, &contents[..])?;
            }
            EntryKind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                builder.append_link(&mut header, path, target)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_tags_depend_on_root_platform_and_prefix() {
        let a = crate::Recipe::from("x:1").digest();
        let b = crate::Recipe::from("x:2").digest();
        let tag = cache_tag("sha256:r", "linux/amd64", &a, &[]);
        assert_eq!(tag.len(), 64);
        assert_ne!(tag, cache_tag("sha256:other", "linux/amd64", &a, &[]));
        assert_ne!(tag, cache_tag("sha256:r", "linux/arm64", &a, &[]));
        assert_ne!(tag, cache_tag("sha256:r", "linux/amd64", &b, &[]));
        assert_ne!(tag, cache_tag("sha256:r", "linux/amd64", &a, &["sha256:fetched"]));
    }

    #[test]
    fn archives_hold_new_dirs_then_the_entries_with_their_owner() {
        let entries = [
            Entry {
                path: String::new(),
                mode: 0o755,
                kind: EntryKind::Directory,
            },
            Entry {
                path: "f.txt".into(),
                mode: 0o600,
                kind: EntryKind::File(b"hi".to_vec()),
            },
        ];
        let bytes = tar_of(&["a"], "b", &entries, (1000, 1001)).unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let listed: Vec<(String, u32, u64, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("a/".into(), 0o755, 0, 0),
                ("a/b/".into(), 0o755, 1000, 1001),
                ("a/b/f.txt".into(), 0o600, 1000, 1001)
            ]
        );
    }

    #[test]
    fn registries_are_named_for_pull_errors() {
        assert_eq!(registry_of("localhost:5000/x"), "localhost:5000");
        assert_eq!(registry_of("quay.io/a/b"), "quay.io");
        assert!(registry_of("python").starts_with("docker.io"));
    }
}
