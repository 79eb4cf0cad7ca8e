//! Where a version is published: a registry, a repository path and the
//! version as the tag, from the repositories its family declares (or
//! versions.lock records), on the registry an override names.

use crate::{BaseImage, ImageAddress};

use super::PublishError;

/// Where a version is published: `registry/repository:tag`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `host[:port]`.
    pub registry: String,
    /// The repository path on that registry.
    pub repository: String,
    /// The tag: the version.
    pub tag: String,
}

impl Target {
    /// Where `image` goes: each repository its family declares (the first
    /// first), each on `registry_override` when given (repositories that
    /// then coincide are one); empty when the family declares none.
    pub fn all(image: &BaseImage, registry_override: Option<&str>) -> Result<Vec<Target>, crate::Error> {
        let mut targets: Vec<Target> = Vec::new();
        for repository in image.repositories() {
            let target = Target::in_repository(image, repository, registry_override)?;
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        Ok(targets)
    }

    /// Where `image` goes first: its family's first repository.
    pub fn of(image: &BaseImage, registry_override: Option<&str>) -> Result<Option<Target>, crate::Error> {
        Ok(Target::all(image, registry_override)?.into_iter().next())
    }

    /// Where `image` goes in `repository` (an address such as
    /// `org/name` or `ghcr.io/org/name`), on `registry_override` when given.
    fn in_repository(
        image: &BaseImage,
        repository: &str,
        registry_override: Option<&str>,
    ) -> Result<Target, crate::Error> {
        let address = ImageAddress::parse(repository)?;
        let (registry, path) = address.registry_and_path();
        let path = match registry {
            None => crate::docker_hub::full_path(path),
            Some(_) => path.to_owned(),
        };
        Ok(Target {
            registry: registry_override
                .or(registry)
                .unwrap_or(crate::docker_hub::HOST)
                .to_owned(),
            repository: path,
            tag: image.key().version().to_string(),
        })
    }

    /// Where `image` is in `repository_address` (`registry/path`, as
    /// versions.lock records it).
    pub fn recorded(image: &BaseImage, repository_address: &str) -> Result<Target, crate::Error> {
        let (registry, path) = repository_address.split_once('/').ok_or_else(|| {
            crate::Error::from(PublishError::Document(format!(
                "{repository_address}: versions.lock records no registry/path here"
            )))
        })?;
        Ok(Target {
            registry: registry.to_owned(),
            repository: path.to_owned(),
            tag: image.key().version().to_string(),
        })
    }

    /// `registry/repository`.
    pub fn repository_address(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `registry/repository:tag`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.repository_address(), self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_goes_to_its_repository_or_the_override() -> Result<(), crate::Error> {
        let image = crate::get("airbyte-python-connector-base:1.0.0")?;
        let target = Target::of(image, None)?.expect("the catalog declares a repository");
        assert_eq!(target.address(), "docker.io/airbyte/python-connector-base:1.0.0");
        let moved = Target::of(image, Some("127.0.0.1:5000"))?.expect("a repository");
        assert_eq!(moved.address(), "127.0.0.1:5000/airbyte/python-connector-base:1.0.0");
        Ok(())
    }

    static MIRRORED: BaseImage = BaseImage::__declare(crate::image::Declaration::example(
        "mirrored",
        &["org/mirrored", "ghcr.io/org/mirrored", "127.0.0.1:5000/org/mirrored"],
        "publish/target.rs",
    ));

    #[test]
    fn a_family_of_several_repositories_goes_to_each_and_an_override_merges_them() -> Result<(), crate::Error> {
        let addresses = |targets: Vec<Target>| targets.iter().map(Target::address).collect::<Vec<_>>();
        assert_eq!(
            addresses(Target::all(&MIRRORED, None)?),
            [
                "docker.io/org/mirrored:1.0.0",
                "ghcr.io/org/mirrored:1.0.0",
                "127.0.0.1:5000/org/mirrored:1.0.0"
            ]
        );
        assert_eq!(
            addresses(Target::all(&MIRRORED, Some("127.0.0.1:5999"))?),
            ["127.0.0.1:5999/org/mirrored:1.0.0"],
            "the same path on one registry is one target"
        );
        assert_eq!(
            Target::of(&MIRRORED, None)?.map(|t| t.registry).as_deref(),
            Some("docker.io")
        );
        let recorded = Target::recorded(&MIRRORED, "127.0.0.1:5000/org/mirrored")?;
        assert_eq!(recorded.address(), "127.0.0.1:5000/org/mirrored:1.0.0");
        assert!(Target::recorded(&MIRRORED, "no-path").is_err());
        Ok(())
    }
}
