//! What is installed in a built image, read through the engine without
//! network: a container is created from the image (never started) and its
//! file system export is streamed through the SBOM scanner, which keeps
//! only the package databases. An image with an RPM database is then asked
//! with `rpm -qa` in a check container without network, since that
//! database is a binary format only `rpm` reads reliably (and, when the
//! image has Python distributions, for the file lists that say which RPM
//! package owns each).

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::CreateContainerOptions;
use futures_util::StreamExt as _;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::client::{engine_error, DockerEngine, RUN_LABEL};
use crate::checks::CheckTarget as _;
use crate::engine::{BuiltImage, Engine as _};
use crate::sbom::cache::InventoryCache;
use crate::sbom::scan::{self, Inventory};
use crate::Error;

impl DockerEngine {
    /// The OS and packages installed in image `id`.
    pub async fn inventory(&self, id: &str) -> Result<Inventory, Error> {
        let body = ContainerCreateBody {
            image: Some(id.to_owned()),
            entrypoint: Some(vec!["true".into()]),
            cmd: None,
            labels: Some(HashMap::from([(RUN_LABEL.to_owned(), self.run_id.clone())])),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(None::<CreateContainerOptions>, body)
            .await
            .map_err(engine_error(format!("create a container of {id} to read its packages")))?;
        self.track(&created.id);
        let scanned = self.scan_container(id, &created.id).await;
        self.remove(&created.id).await;
        self.with_rpm_packages(id, scanned?).await
    }

    /// `inventory` (of the files of image `id`) with the packages of the RPM
    /// database it found, and which of them owns each Python distribution,
    /// asked of `rpm` in the image.
    pub async fn with_rpm_packages(&self, id: &str, mut inventory: Inventory) -> Result<Inventory, Error> {
        if let Some(database) = inventory.rpm_database.clone() {
            inventory.packages.extend(self.rpm_packages(id, &database).await?);
            let unowned = inventory
                .packages
                .iter()
                .any(|p| p.ecosystem == scan::Ecosystem::Pypi && p.owner.is_none());
            if unowned {
                let output = self.rpm(id, &scan::rpm_files_query(&database)).await?;
                scan::set_owners(&mut inventory.packages, &scan::rpm_owners(&output));
            }
            inventory.packages.sort();
        }
        Ok(inventory)
    }

    /// Streams the export of `container` (of image `id`) through the
    /// scanner (on a blocking thread, as the export arrives).
    async fn scan_container(&self, id: &str, container: &str) -> Result<Inventory, Error> {
        let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(16);
        let chunks = futures_util::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|chunk| (chunk, receiver))
        });
        let reader = SyncIoBridge::new(StreamReader::new(Box::pin(chunks)));
        let scanning = tokio::task::spawn_blocking(move || scan::scan(reader));
        let mut export = self.docker.export_container(container);
        let mut failed = None;
        while let Some(chunk) = export.next().await {
            let chunk = chunk.map_err(|e| {
                let reason = e.to_string();
                failed = Some(e);
                std::io::Error::other(reason)
            });
            // The scanner stops reading at the end of the archive.
            if sender.send(chunk).await.is_err() || failed.is_some() {
                break;
            }
        }
        drop(sender);
        if let Some(e) = failed {
            return Err(engine_error(format!("export the file system of container {container}"))(e));
        }
        let scanned = scanning.await.map_err(|e| Error::Engine {
            action: format!("read the file system of container {container}"),
            reason: e.to_string(),
            source: None,
        })?;
        scanned.map_err(|e| scan_error(id, container, e))
    }

    /// What is installed in image `id`: as `cache` recorded it, else read
    /// through the engine ([`DockerEngine::inventory`]) and recorded there.
    pub async fn cached_inventory(&self, id: &str, cache: Option<&InventoryCache>) -> Result<Inventory, Error> {
        if let Some(known) = cache.and_then(|c| c.get(id)) {
            return Ok(known);
        }
        let inventory = self.inventory(id).await?;
        if let Some(Err(e)) = cache.map(|c| c.put(id, &inventory)) {
            tracing::warn!(image = id, "the SBOM cache is not written: {e}");
        }
        Ok(inventory)
    }

    /// The packages of the RPM database at `database` in image `id`.
    async fn rpm_packages(&self, id: &str, database: &str) -> Result<Vec<scan::Package>, Error> {
        let output = self.rpm(id, &scan::rpm_query(database)).await?;
        Ok(scan::rpm_packages(&output, database))
    }

    /// The standard output of `rpm` run as `query` in a check container of
    /// image `id`.
    async fn rpm(&self, id: &str, query: &[String]) -> Result<String, Error> {
        let image = BuiltImage {
            id: id.to_owned(),
            steps_built: 0,
            steps_cached: 0,
        };
        let target = self.start(&image, false).await?;
        let args: Vec<&str> = query.iter().map(String::as_str).collect();
        let output = target.exec_as(Some("0"), &args).await;
        self.stop(target).await;
        let failed = |reason: String| Error::Engine {
            action: format!(
                "ask the RPM database of {id} (`{}`)",
                query[..4.min(query.len())].join(" ")
            ),
            reason,
            source: None,
        };
        let output = output.map_err(|e| failed(e.to_string()))?;
        if output.exit_code != 0 {
            return Err(failed(format!(
                "exit code {}: {}{}; an image with an RPM database needs `rpm` to list it",
                output.exit_code,
                output.stdout.trim(),
                output.stderr.trim()
            )));
        }
        Ok(output.stdout)
    }
}

/// The error of a scan of `container` (of image `id`) that failed with `e`:
/// the image's own when it holds more than the scanner reads, else the
/// engine's export.
fn scan_error(id: &str, container: &str, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::FileTooLarge {
        return Error::ScanTooLarge {
            image: id.to_owned(),
            reason: e.to_string(),
        };
    }
    Error::Engine {
        action: format!("read the file system of container {container}"),
        reason: e.to_string(),
        source: Some(Box::new(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_past_the_scanners_limits_is_named_not_blamed_on_the_engine() {
        let mut header = tar::Header::new_gnu();
        header.set_size(scan::MAX_FILE + 1);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_path("var/lib/dpkg/status").expect("a short path");
        header.set_cksum();
        let refused = scan::scan(&header.as_bytes()[..])
            .err()
            .map(|e| scan_error("sha256:img", "c1", e).to_string());
        assert_eq!(
            refused,
            Some(format!(
                "no SBOM of sha256:img is made: /var/lib/dpkg/status is more than {} bytes, the most the SBOM scanner \
                 reads of one file; an SBOM without that file would leave out what it lists",
                scan::MAX_FILE
            ))
        );
        let broken = scan_error("sha256:img", "c1", std::io::Error::other("unexpected end of archive")).to_string();
        assert_eq!(
            broken,
            "the container engine failed to read the file system of container c1: unexpected end of archive"
        );
    }
}
