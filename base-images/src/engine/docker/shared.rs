//! The step cache shared through a registry, as BuildKit users share
//! theirs with `--cache-to/--cache-from type=registry`: the image a build
//! ends with is pushed to a cache repository under its cache key (the tag
//! of `base-images-cache:<key>`), by the engine, when writing is on; an
//! engine that lacks a key pulls the longest prefix the repository holds
//! instead of building it, and keeps it only when the image's recipe label
//! is the prefix's digest and its platform the one built. A registry that
//! does not answer slows the build, never fails it: it is said once and
//! not asked again in this run.

use bollard::auth::DockerCredentials;
use bollard::models::ImageInspect;
use bollard::query_parameters::{CreateImageOptions, PushImageOptions, RemoveImageOptions, TagImageOptions};
use bollard::Docker;
use futures_util::TryStreamExt as _;
use oci_client::secrets::RegistryAuth;

use crate::outage::Outage;

/// A cache repository (`host[:port]/path`), and whether this run writes to it.
#[derive(Clone)]
pub struct SharedCache {
    /// `host[:port]/path`.
    repository: String,
    /// Whether built images are pushed.
    write: bool,
    /// The registry credentials the engine is given.
    credentials: Option<DockerCredentials>,
    /// Why the registry stopped counting, once it did.
    down: Outage,
}

impl std::fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCache")
            .field("repository", &self.repository)
            .field("write", &self.write)
            .finish_non_exhaustive()
    }
}

/// What a pull from the cache repository found.
enum Pulled {
    /// An image.
    Image(Box<ImageInspect>),
    /// No such tag.
    Absent,
    /// The registry failed; why.
    Down(String),
}

impl SharedCache {
    /// The cache repository `path` of `registry` (`host[:port]`), pushed
    /// to when `write` is set, with `auth` for the registry.
    pub fn new(registry: &str, path: &str, write: bool, auth: RegistryAuth) -> SharedCache {
        let address = Some(registry.to_owned());
        let credentials = match auth {
            RegistryAuth::Basic(user, password) => Some(DockerCredentials {
                username: Some(user),
                password: Some(password),
                serveraddress: address,
                ..Default::default()
            }),
            RegistryAuth::Bearer(token) => Some(DockerCredentials {
                identitytoken: Some(token),
                serveraddress: address,
                ..Default::default()
            }),
            RegistryAuth::Anonymous => None,
        };
        SharedCache {
            repository: format!("{registry}/{path}"),
            write,
            credentials,
            down: Outage::default(),
        }
    }

    /// The repository.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// Why the registry stopped counting in this run, if it did.
    pub fn down(&self) -> Option<&str> {
        self.down.said()
    }

    /// Records that the registry failed (said once per run).
    fn went_down(&self, reason: String) {
        self.down.record(&self.repository, &reason, "builds without it");
    }

    /// The longest prefix past `after` (an index into `tags`, the keys)
    /// the repository holds for `platform` that `holds` says is the
    /// prefix of its index, pulled into `docker` and tagged `local` of its
    /// key; its index and id.
    pub(super) async fn longest(
        &self,
        docker: &Docker,
        (tags, platform, after): (&[String], &str, usize),
        holds: impl Fn(usize, &ImageInspect) -> bool,
        local: impl Fn(&str) -> String,
    ) -> Option<(usize, String)> {
        for n in (after + 1..tags.len()).rev() {
            if self.down().is_some() {
                return None;
            }
            let image = match self.pull(docker, &tags[n], platform).await {
                Pulled::Image(image) => image,
                Pulled::Absent => continue,
                Pulled::Down(reason) => {
                    self.went_down(reason);
                    return None;
                }
            };
            let remote = format!("{}:{}", self.repository, tags[n]);
            let id = image.id.clone().unwrap_or_default();
            if holds(n, &image) {
                tag(docker, &id, &local(&tags[n])).await;
                untag(docker, &remote).await;
                return Some((n, id));
            }
            tracing::warn!(image = %remote, "ignored a cache entry whose recipe label or platform is not its key's");
            untag(docker, &remote).await;
        }
        None
    }

    /// Pushes image `id` under `key`, when this run writes to the cache.
    pub(super) async fn push(&self, docker: &Docker, id: &str, key: &str) {
        if !self.write || self.down().is_some() {
            return;
        }
        let remote = format!("{}:{key}", self.repository);
        tag(docker, id, &remote).await;
        let options = PushImageOptions {
            tag: Some(key.to_owned()),
            ..Default::default()
        };
        let pushed: Result<Vec<_>, _> = docker
            .push_image(&self.repository, Some(options), self.credentials.clone())
            .try_collect()
            .await;
        untag(docker, &remote).await;
        if let Err(e) = pushed {
            self.went_down(crate::error_chain::error_chain(&e));
        }
    }

    /// Pulls `key` for `platform`.
    async fn pull(&self, docker: &Docker, key: &str, platform: &str) -> Pulled {
        let options = CreateImageOptions {
            from_image: Some(self.repository.clone()),
            tag: Some(key.to_owned()),
            platform: platform.to_owned(),
            ..Default::default()
        };
        let pulled: Result<Vec<_>, _> = docker
            .create_image(Some(options), None, self.credentials.clone())
            .try_collect()
            .await;
        match pulled {
            Ok(_) => match docker.inspect_image(&format!("{}:{key}", self.repository)).await {
                Ok(image) => Pulled::Image(Box::new(image)),
                Err(e) => Pulled::Down(e.to_string()),
            },
            Err(e) if is_absent(&e) => Pulled::Absent,
            Err(e) => Pulled::Down(crate::error_chain::error_chain(&e)),
        }
    }
}

/// Whether a pull failed because the tag is not there (rather than the
/// registry).
fn is_absent(e: &bollard::errors::Error) -> bool {
    // The registry's own answers (a host that does not resolve, "no such
    // host", is the registry failing, not the tag missing).
    let text = e.to_string().to_lowercase();
    ["manifest unknown", "name unknown"].iter().any(|m| text.contains(m))
}

/// Tags image `id` as `name` (`repository:tag`).
async fn tag(docker: &Docker, id: &str, name: &str) {
    let (repo, tag) = name.rsplit_once(':').unwrap_or((name, "latest"));
    let options = TagImageOptions {
        repo: Some(repo.to_owned()),
        tag: Some(tag.to_owned()),
    };
    if let Err(e) = docker.tag_image(id, Some(options)).await {
        tracing::warn!(image = %id, error = %e, "could not tag a cache image");
    }
}

/// Removes the reference `name`: the image too when no other name holds it.
async fn untag(docker: &Docker, name: &str) {
    let _ = docker.remove_image(name, None::<RemoveImageOptions>, None).await;
}
