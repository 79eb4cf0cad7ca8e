//! Which versions are built for which platforms. By default every version
//! is built for every platform its family declares; `--platform P` keeps
//! one platform, and a family built for fewer platforms than it declares
//! is not released by that run (every platform is built and checked before
//! a version is released or published).

use std::collections::BTreeMap;

use base_images::engine::pipeline::ImageReport;
use base_images::fetch::Pins;
use base_images::{BaseImage, ImageKey};

use crate::{Error, Ui};

/// The versions to build and, for each, its platforms.
#[derive(Debug)]
pub(crate) struct Plan {
    /// (version, platforms), in selection order.
    builds: Vec<(&'static BaseImage, Vec<&'static str>)>,
    /// The one platform asked for, if any.
    only: Option<String>,
}

impl Plan {
    /// The plan for `selected` versions. With `platform`, versions not built
    /// for it are skipped (said), or refused when `named` (the user named
    /// them): a usage error naming the family's platforms.
    pub(crate) fn new(
        selected: Vec<&'static BaseImage>,
        platform: Option<&str>,
        named: bool,
        ui: &Ui,
    ) -> Result<Plan, Error> {
        let Some(platform) = platform else {
            let builds = selected.into_iter().map(|i| (i, i.platforms().to_vec())).collect();
            return Ok(Plan { builds, only: None });
        };
        let (images, skipped): (Vec<&'static BaseImage>, Vec<&'static BaseImage>) =
            selected.into_iter().partition(|i| i.platforms().contains(&platform));
        if named && !skipped.is_empty() {
            let named: Vec<String> = skipped
                .iter()
                .map(|i| format!("{i} ({})", i.platforms().join(", ")))
                .collect();
            return Err(Error::Usage(format!(
                "--platform {platform}: not a platform of {}; build each for one of the platforms its family declares",
                named.join(", ")
            )));
        }
        for image in &skipped {
            ui.note(&format!("skipping {image}: it is not built for {platform}"));
        }
        if images.is_empty() {
            return Err(Error::Usage(format!("nothing to build for {platform}")));
        }
        let builds = images
            .into_iter()
            .map(|i| {
                let declared = i.platforms().iter().copied().find(|p| *p == platform);
                (i, declared.into_iter().collect())
            })
            .collect();
        Ok(Plan {
            builds,
            only: Some(platform.to_owned()),
        })
    }

    /// The versions to build.
    pub(crate) fn images(&self) -> Vec<&'static BaseImage> {
        self.builds.iter().map(|(i, _)| *i).collect()
    }

    /// Each version to build with its platforms.
    pub(crate) fn versions(&self) -> impl Iterator<Item = (&'static BaseImage, &[&'static str])> + '_ {
        self.builds.iter().map(|(i, platforms)| (*i, platforms.as_slice()))
    }

    /// Every (version, platform) to build.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&'static BaseImage, &'static str)> + '_ {
        self.versions()
            .flat_map(|(i, platforms)| platforms.iter().map(move |p| (i, *p)))
    }

    /// How many images are built (versions x platforms).
    pub(crate) fn builds(&self) -> usize {
        self.pairs().count()
    }

    /// Every platform built, sorted.
    pub(crate) fn platforms(&self) -> Vec<&'static str> {
        let mut all: Vec<&'static str> = self.pairs().map(|(_, p)| p).collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// One chain per (platform, family): its versions in order, so each
    /// reuses its parent's cached steps; chains are independent.
    pub(crate) fn chains(&self) -> Vec<(&'static str, Vec<&'static BaseImage>)> {
        let mut chains: BTreeMap<(&str, &str), Vec<&'static BaseImage>> = BTreeMap::new();
        for (image, platform) in self.pairs() {
            chains.entry((image.family(), platform)).or_default().push(image);
        }
        chains
            .into_iter()
            .map(|((_, platform), chain)| (platform, chain))
            .collect()
    }

    /// Why this run is not a release, when `--platform` left out a platform
    /// a selected family declares.
    pub(crate) fn partial(&self) -> Option<String> {
        let only = self.only.as_deref()?;
        let mut families: Vec<String> = self
            .builds
            .iter()
            .filter(|(i, _)| i.platforms().len() > 1)
            .map(|(i, _)| format!("{} ({})", i.family(), i.platforms().join(", ")))
            .collect();
        families.dedup();
        (!families.is_empty()).then(|| {
            format!(
                "built for {only} only, but {} declare(s) more platforms: not a release, nothing is locked or written \
                 (every platform is built and checked before a version is released; drop --platform)",
                families.join(", ")
            )
        })
    }
}

/// What each version fetched, from its reports on every platform (the same
/// inputs for every platform: the recipe names them, not the platform).
pub(crate) fn fetched_by_version(reports: &[ImageReport]) -> BTreeMap<ImageKey, Pins> {
    let mut fetched: BTreeMap<ImageKey, Pins> = BTreeMap::new();
    for report in reports {
        fetched
            .entry(report.key.clone())
            .or_default()
            .extend(report.fetched.clone());
    }
    fetched
}
