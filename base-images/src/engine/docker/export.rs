//! Images in and out of the engine for publishing: a built image's facts
//! (platform, runtime configuration, layer diff ids) from the image
//! inspect API, its bytes from the image export API (`docker save`),
//! streamed to a file, and a published image pulled back for `verify`
//! (and removed after it).

use std::path::Path;

use futures_util::StreamExt as _;
use tokio::io::AsyncWriteExt as _;

use super::client::{engine_error, DockerEngine, RUN_LABEL};
use crate::publish::ImageFacts;
use crate::Error;

impl DockerEngine {
    /// The platform, runtime configuration and layer diff ids of image `id`.
    pub async fn image_facts(&self, id: &str) -> Result<ImageFacts, Error> {
        let inspect = self
            .docker
            .inspect_image(id)
            .await
            .map_err(engine_error(format!("inspect image {id}")))?;
        let config = inspect.config.unwrap_or_default();
        Ok(ImageFacts {
            os: inspect.os.unwrap_or_else(|| "linux".into()),
            architecture: inspect.architecture.unwrap_or_default(),
            variant: inspect.variant.filter(|v| !v.is_empty()),
            user: config.user.filter(|v| !v.is_empty()),
            exposed_ports: config.exposed_ports.unwrap_or_default(),
            env: config.env.unwrap_or_default(),
            entrypoint: config.entrypoint,
            cmd: config.cmd,
            volumes: config.volumes.unwrap_or_default(),
            working_dir: config.working_dir.filter(|v| !v.is_empty()),
            // The run label of the step containers is not part of the image.
            labels: config
                .labels
                .unwrap_or_default()
                .into_iter()
                .filter(|(key, _)| key != RUN_LABEL)
                .collect(),
            stop_signal: config.stop_signal.filter(|v| !v.is_empty()),
            diff_ids: inspect.root_fs.and_then(|r| r.layers).unwrap_or_default(),
            created: inspect.created.filter(|v| !v.is_empty()),
        })
    }

    /// Pulls `address` (`registry/repository@digest`) for `platform`;
    /// returns the pulled image's id.
    pub async fn pull(&self, address: &str, platform: &str) -> Result<String, Error> {
        use futures_util::TryStreamExt as _;
        let options = bollard::query_parameters::CreateImageOptions {
            from_image: Some(address.to_owned()),
            platform: platform.to_owned(),
            ..Default::default()
        };
        let action = format!("pull {address} for {platform}");
        let _: Vec<_> = self
            .docker
            .create_image(Some(options), None, None)
            .try_collect()
            .await
            .map_err(engine_error(&action))?;
        let image = self.docker.inspect_image(address).await.map_err(engine_error(action))?;
        Ok(image.id.unwrap_or_default())
    }

    /// Whether the engine holds an image named `reference`.
    pub async fn has_image(&self, reference: &str) -> bool {
        self.docker.inspect_image(reference).await.is_ok()
    }

    /// Removes the name `reference` (an image `pull` fetched), and the
    /// image with it when no other name holds it.
    pub async fn remove_image(&self, reference: &str) -> Result<(), Error> {
        self.docker
            .remove_image(reference, None::<bollard::query_parameters::RemoveImageOptions>, None)
            .await
            .map(|_| ())
            .map_err(engine_error(format!("remove image {reference}")))
    }

    /// Writes the engine's export (`docker save`) of images `ids` to
    /// `path`: each layer they share once.
    pub async fn export_images(&self, ids: &[&str], path: &Path) -> Result<(), Error> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = tokio::fs::File::create(path).await.map_err(io)?;
        let mut stream = self.docker.export_images(ids);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(engine_error(format!("export images {}", ids.join(", "))))?;
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        Ok(())
    }
}
