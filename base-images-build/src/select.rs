//! Selectors on the command line: `family`, `family:version`,
//! `family:latest`; none means every registered version. An unknown one is
//! a usage error that lists what exists.

use base_images::{BaseImage, Lock};

use crate::Error;

/// The versions `selectors` name, sorted by family then version, once each.
pub(crate) fn select(selectors: &[String]) -> Result<Vec<&'static BaseImage>, Error> {
    if selectors.is_empty() {
        return Ok(base_images::all());
    }
    let mut chosen: Vec<&'static BaseImage> = Vec::new();
    for selector in selectors {
        let images =
            if selector.contains(':') {
                vec![base_images::get(selector)?]
            } else {
                let versions = base_images::registry::versions_of(selector);
                if versions.is_empty() {
                    let families = base_images::families();
                    return Err(Error::Usage(format!(
                    "`{selector}` selects nothing: write a family, family:version or family:latest; families are {}",
                    if families.is_empty() { "none (nothing is registered)".to_owned() } else { families.join(", ") }
                )));
                }
                versions
            };
        for image in images {
            if !chosen.iter().any(|c| std::ptr::eq(*c, image)) {
                chosen.push(image);
            }
        }
    }
    chosen.sort_by(|a, b| (a.family(), a.version()).cmp(&(b.family(), b.version())));
    Ok(chosen)
}

/// Every family's latest released version.
pub(crate) fn latest_released(lock: &Lock) -> Result<Vec<&'static BaseImage>, Error> {
    let images: Vec<&'static BaseImage> = base_images::families()
        .iter()
        .filter_map(|family| {
            base_images::registry::versions_of(family)
                .into_iter()
                .filter(|image| lock.get(&image.key()).is_some())
                .max_by(|a, b| a.version().cmp(b.version()))
        })
        .collect();
    if images.is_empty() {
        return Err(Error::Usage(
            "no version is released yet: name the versions to audit (audit FAMILY:VERSION) or an SBOM (--sbom FILE)"
                .into(),
        ));
    }
    Ok(images)
}
