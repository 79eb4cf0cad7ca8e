//! Building a Recipe on a Docker daemon. The image a build ends with is
//! tagged `base-images-cache:<key>`, where the key hashes the root image
//! id, the platform, the recipe-prefix digest and the digests of fetched
//! content, so building 1.0.1 after 1.0.0 starts from 1.0.0's image and a
//! catalog built before starts nothing. An image is tagged only once its
//! build succeeded.
//!
//! The steps run in the engine's own BuildKit (`buildkit`), as `docker
//! build` runs them, with no container of ours; BuildKit's own cache
//! keeps every step that succeeded, so an unchanged prefix is never run
//! again and a build that failed at step 7 starts at step 7. Fetched and
//! new files come from the build context, with their mode, owned by root
//! or by their owner (`COPY --chown`, resolved in the image as it is at
//! that step). A rebuilding engine (`DockerEngine::rebuilding`) serves
//! nothing from either cache.

use std::collections::HashMap;
use std::ops::Range;

use bollard::query_parameters::{CreateImageOptions, ListImagesOptions, TagImageOptions};
use futures_util::TryStreamExt as _;

use super::buildkit::{Failure, Placed, Stretch};
use super::client::{DockerEngine, RECIPE_LABEL};
use crate::engine::{BuildRequest, BuiltImage};
use crate::fetch::{unpack, Entry, EntryKind, Pins};
use crate::lower::{operations, Config, Content, Op, Scope, FETCHED_FILE_MODE};
use crate::platform::Platform;
use crate::{docker_hub, Error, ImageAddress, RecipeDigest};

/// The repository cached steps are tagged in.
pub const CACHE_REPOSITORY: &str = "base-images-cache";

/// How recipes are lowered to the engine; a change that gives the same
/// recipe other image content changes it, so no image of the old
/// lowering is served from the cache (`buildkit-2`: an archive's hard
/// links are kept, where `buildkit-1` dropped them).
const LOWERING: &str = "buildkit-2";

/// The tag of the cached image holding a recipe prefix whose fetched
/// content had the digests `inputs` (so changed content is never served
/// from the cache).
fn cache_tag(root_id: &str, platform: &str, prefix: &RecipeDigest, inputs: &[&str]) -> String {
    let mut key = format!("{LOWERING}\n{root_id}\n{platform}\n{prefix}");
    for digest in inputs {
        key.push('\n');
        key.push_str(digest);
    }
    crate::sha256::hex_of(key.as_bytes())
}

/// The fetched content of a step, from the build's inputs.
fn input<'r>(request: &'r BuildRequest<'_>, url: &str) -> Result<&'r crate::fetch::Fetched, Error> {
    request.inputs.get(url).ok_or_else(|| Error::Engine {
        action: format!("place {url}"),
        reason: "it was not fetched before the build; fetch the recipe's inputs first (fetch::fetch_inputs)".into(),
        source: None,
    })
}

/// Builds the request's recipe in the engine's BuildKit, from the longest
/// prefix the cache holds on, stretch by stretch.
pub(super) async fn build(engine: &DockerEngine, request: BuildRequest<'_>) -> Result<BuiltImage, Error> {
    let recipe = request.recipe;
    let root = recipe.root_address(Some(request.platform))?;
    let root_image = ensure_root(engine, root, request.platform).await?;
    let root_id = root_image.id.clone().unwrap_or_default();
    let config = root_image.config.clone().unwrap_or_default();
    let ops = operations(
        recipe,
        root,
        Scope::of_image(
            config.user.as_deref().unwrap_or_default(),
            config.working_dir.as_deref().unwrap_or_default(),
        ),
    )?;
    let prefixes = recipe.prefix_digests();
    let tags = cache_tags(&request, &root_id, &prefixes)?;

    // The longest prefix already built, and a name BuildKit finds it by.
    let cached = if engine.rebuild {
        None
    } else {
        longest_held(engine, (&tags, &prefixes), (request.platform, &root_image)).await
    };
    let (done, mut current, mut current_name) = match cached {
        Some((n, id)) => (n, id, format!("{CACHE_REPOSITORY}:{}", tags[n])),
        None => (0, root_id.clone(), held_root_name(root, request.platform)?),
    };
    // Fetched content reaches BuildKit through the context, never a URL.
    let pins = Pins::new();
    let mut index = done;
    while index < ops.len() {
        let end = stretch_end(&ops, index);
        let stretch = stretch_of(&request, &ops, &pins, &current_name, index..end)?;
        tracing::debug!(dockerfile = stretch.dockerfile(), "building in the engine's BuildKit");
        let name = format!("{CACHE_REPOSITORY}:{}", tags[end]);
        current = stretch
            .build(engine, &name, &prefixes[end].to_string())
            .await
            .map_err(|failure| stretch_error(&request, &ops, index..end, failure))?;
        current_name = name;
        index = end;
    }
    if let Some(shared) = engine.shared.as_ref().filter(|_| !ops.is_empty()) {
        shared.push(&engine.docker, &current, &tags[ops.len()]).await;
    }
    Ok(BuiltImage {
        id: current,
        steps_built: recipe.steps.len() - done,
        steps_cached: done,
    })
}

/// The cache tag of each prefix of the request's recipe (the root alone
/// first), each over the digests of the content fetched up to it.
fn cache_tags(request: &BuildRequest<'_>, root_id: &str, prefixes: &[RecipeDigest]) -> Result<Vec<String>, Error> {
    let mut inputs: Vec<&str> = Vec::new();
    let mut tags = vec![cache_tag(root_id, request.platform, &prefixes[0], &inputs)];
    for (step, prefix) in request.recipe.steps.iter().zip(&prefixes[1..]) {
        if let Some((url, _)) = step.fetched() {
            inputs.push(&input(request, url)?.sha256);
        }
        tags.push(cache_tag(root_id, request.platform, prefix, &inputs));
    }
    Ok(tags)
}

/// The `family:version` that declared step `n` (0-based) of the request.
fn declared_by(request: &BuildRequest<'_>, n: usize) -> String {
    request.declared_by.get(n).cloned().unwrap_or_default()
}

/// The error of step `n` (0-based) that BuildKit cannot be given.
fn invalid(request: &BuildRequest<'_>, n: usize) -> impl Fn(String) -> Error {
    let op = request.recipe.steps[n].op();
    move |reason: String| Error::InvalidStep {
        step: n + 1,
        op,
        reason,
    }
}

/// The BuildKit stretch of the operations `range` of `ops`, starting from
/// the image the engine holds as `from`, each step logged as it is added.
fn stretch_of<'p>(
    request: &BuildRequest<'_>,
    ops: &[Op<'_>],
    pins: &'p Pins,
    from: &str,
    range: Range<usize>,
) -> Result<Stretch<'p>, Error> {
    let steps = &request.recipe.steps;
    for (n, step) in steps.iter().enumerate().take(range.end).skip(range.start) {
        tracing::info!(step = n + 1, op = step.op(), declared_by = %declared_by(request, n), "building step");
    }
    let mut stretch =
        Stretch::new(pins, request.platform, from, &ops[..range.start]).map_err(invalid(request, range.start))?;
    for (n, op) in ops.iter().enumerate().take(range.end).skip(range.start) {
        let content = content(request, op)?;
        stretch.push(n, op, content.as_ref()).map_err(invalid(request, n))?;
    }
    Ok(stretch)
}

/// The error of the stretch `range` of `ops` that did not build: a
/// failed command as the step that ran it, anything else as the engine's.
fn stretch_error(request: &BuildRequest<'_>, ops: &[Op<'_>], range: Range<usize>, failure: Failure) -> Error {
    let steps = &request.recipe.steps;
    match failure {
        Failure::Step {
            op,
            exit_code,
            message,
            output,
        } => match (&ops[op], exit_code) {
            (Op::Run(run), Some(exit_code)) => Error::StepFailed {
                step: op + 1,
                op: steps[op].op(),
                declared_by: declared_by(request, op),
                command: run.argv.clone(),
                exit_code,
                output,
            },
            _ => Error::Engine {
                action: format!(
                    "build step {} ({}, declared by {})",
                    op + 1,
                    steps[op].op(),
                    declared_by(request, op)
                ),
                reason: [message, output].join("\n").trim_end().to_owned(),
                source: None,
            },
        },
        Failure::Engine(reason) => Error::Engine {
            action: format!(
                "build steps {}-{} with the engine's BuildKit",
                range.start + 1,
                range.end
            ),
            reason,
            source: None,
        },
    }
}

/// The longest prefix the engine holds, or the shared cache holds past it
/// (pulled, and kept only when its recipe label is the prefix's digest,
/// its platform `platform` and its first layers the root's, `root`);
/// its index in `tags` and its image id.
async fn longest_held(
    engine: &DockerEngine,
    (tags, prefixes): (&[String], &[RecipeDigest]),
    (platform, root): (&str, &bollard::models::ImageInspect),
) -> Option<(usize, String)> {
    let local = longest_cached(engine, tags).await;
    let after = local.as_ref().map_or(0, |(n, _)| *n);
    let Some(shared) = engine.shared.as_ref().filter(|_| after + 1 < tags.len()) else {
        return local;
    };
    let named = |key: &str| format!("{CACHE_REPOSITORY}:{key}");
    let holds = |n: usize, image: &bollard::models::ImageInspect| {
        let label = image
            .config
            .as_ref()
            .and_then(|c| c.labels.as_ref())
            .and_then(|l| l.get(RECIPE_LABEL));
        label.is_some_and(|l| *l == prefixes[n].to_string()) && is_for(image, platform) && starts_with(image, root)
    };
    shared
        .longest(&engine.docker, (tags, platform, after), holds, named)
        .await
        .or(local)
}

/// Whether `image`'s layers begin with all of `root`'s.
fn starts_with(image: &bollard::models::ImageInspect, root: &bollard::models::ImageInspect) -> bool {
    let layers =
        |i: &bollard::models::ImageInspect| i.root_fs.as_ref().and_then(|r| r.layers.clone()).unwrap_or_default();
    let (held, root) = (layers(image), layers(root));
    !root.is_empty() && held.starts_with(&root)
}

/// The longest prefix (after `n` >= 1 steps; `tags[n]` is its tag) the
/// engine holds, with its image id: the whole recipe by one inspection (a
/// catalog built before), else by one listing of the cache repository
/// rather than an inspection per step.
async fn longest_cached(engine: &DockerEngine, tags: &[String]) -> Option<(usize, String)> {
    let last = tags.len() - 1;
    if last == 0 {
        return None;
    }
    let whole = format!("{CACHE_REPOSITORY}:{}", tags[last]);
    if let Ok(image) = engine.docker.inspect_image(&whole).await {
        return Some((last, image.id.unwrap_or_default()));
    }
    let options = ListImagesOptions {
        filters: Some(HashMap::from([(
            "reference".to_owned(),
            vec![CACHE_REPOSITORY.to_owned()],
        )])),
        ..Default::default()
    };
    let wanted: HashMap<&str, usize> = tags.iter().enumerate().map(|(n, tag)| (tag.as_str(), n)).collect();
    let listed = engine.docker.list_images(Some(options)).await.unwrap_or_default();
    let mut longest: Option<(usize, String)> = None;
    for image in listed {
        for tag in &image.repo_tags {
            let key = tag.strip_prefix(CACHE_REPOSITORY).and_then(|t| t.strip_prefix(':'));
            if let Some(&n) = key.and_then(|key| wanted.get(key)) {
                if n > 0 && longest.as_ref().is_none_or(|(best, _)| n > *best) {
                    longest = Some((n, image.id.clone()));
                }
            }
        }
    }
    longest
}

/// Where the BuildKit stretch starting at `start` ends (exclusive): at
/// the end of the recipe, or before an entrypoint that follows default
/// args in the same stretch (a Dockerfile's `ENTRYPOINT` keeps a `CMD` set
/// earlier in the same file, where a recipe's entrypoint resets the
/// default args). A stretch spans versions: building 1.2.0 from cold is
/// one BuildKit build, as `docker build` of its Dockerfile is, and each
/// version the build tool builds in turn gets its own image and tag.
fn stretch_end(ops: &[Op<'_>], start: usize) -> usize {
    let mut args_set = false;
    let mut end = start;
    while end < ops.len() {
        match &ops[end] {
            Op::Config(Config::Entrypoint(_)) if args_set && end > start => break,
            Op::Config(Config::DefaultArgs(_)) => args_set = true,
            _ => {}
        }
        end += 1;
    }
    end.max(start + 1)
}

/// The content `op` places (`None` for one that places none).
fn content<'o>(request: &BuildRequest<'_>, op: &Op<'o>) -> Result<Option<Placed<'o>>, Error> {
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
            let limits = request.inputs.archive_limits();
            entries.extend(
                unpack(unpacked.format, bytes, limits).map_err(|reason| Error::ArchiveRefused {
                    url: unpacked.url.to_owned(),
                    reason,
                })?,
            );
            Some(Placed {
                path: unpacked.path,
                owner: unpacked.owner,
                entries,
            })
        }
        Op::Run(_) | Op::Config(_) | Op::Cache { .. } => None,
    })
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
    let image = pull(engine, &parsed, address, platform, local.as_ref()).await?;
    keep_as(engine, &image, own_name.as_deref()).await;
    Ok(image)
}

/// Pulls `address` (`parsed`) for `platform` and inspects what was pulled;
/// a failure names the registry, and `local`'s platform when the engine
/// held the address for another one.
async fn pull(
    engine: &DockerEngine,
    parsed: &ImageAddress,
    address: &str,
    platform: &str,
    local: Option<&bollard::models::ImageInspect>,
) -> Result<bollard::models::ImageInspect, Error> {
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
        let reason = match local.map(platform_of) {
            Some(held) => format!(
                "the local image {address} is for {held}, not {platform}, and pulling it for {platform} failed: {e}"
            ),
            None => e.to_string(),
        };
        return Err(pull_error(reason, e));
    }
    engine
        .docker
        .inspect_image(address)
        .await
        .map_err(|e| pull_error(format!("pulled, but not found afterwards: {e}"), e))
}

/// The repository each platform's root image is also tagged in.
pub const ROOT_REPOSITORY: &str = "base-images-root";

/// The name `address`'s image for `platform` is kept as in
/// [`ROOT_REPOSITORY`].
fn root_name(address: &str, platform: &str) -> String {
    let tag = crate::sha256::hex_of(format!("{address}\n{platform}").as_bytes());
    format!("{ROOT_REPOSITORY}:{tag}")
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

/// The platform of an image (`linux` when it names no OS, `?` for an
/// architecture it leaves out).
fn held_platform(image: &bollard::models::ImageInspect) -> Platform {
    Platform::from_parts(
        image.os.as_deref().unwrap_or("linux"),
        image.architecture.as_deref().unwrap_or("?"),
        image.variant.as_deref(),
    )
}

/// `os/arch[/variant]` of an image.
fn platform_of(image: &bollard::models::ImageInspect) -> String {
    held_platform(image).to_string()
}

/// Whether `image` is for `platform` (a platform without a variant
/// accepts any variant; `platform` is a validated recipe's).
fn is_for(image: &bollard::models::ImageInspect, platform: &str) -> bool {
    platform
        .parse::<Platform>()
        .is_ok_and(|wanted| wanted.is_served_by(&held_platform(image)))
}

/// The registry host an image name refers to (Docker's default when none).
fn registry_of(name: &str) -> String {
    let default = || format!("{} (the default registry)", docker_hub::HOST);
    match ImageAddress::parse(name)
        .ok()
        .and_then(|a| a.registry_and_path().0.map(str::to_owned))
    {
        Some(host) => host,
        None => default(),
    }
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
    fn registries_are_named_for_pull_errors() {
        assert_eq!(registry_of("localhost:5000/x"), "localhost:5000");
        assert_eq!(registry_of("quay.io/a/b"), "quay.io");
        assert!(registry_of("python").starts_with("docker.io"));
    }
}
