//! The registry of every declared version: the lookup API (`all`, `get`,
//! `latest`, `families`) over the `linkme` slices the macros append to
//! (`declared`'s, re-exported here), and `validate`, which checks what the
//! compiler cannot see across modules (duplicate versions, one root per
//! family, cycles, one check set per version, recipes and checks
//! well-formed).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

#[doc(hidden)]
pub use crate::declared::{BASE_IMAGES, CHECK_SETS};
use crate::image::{BaseImage, Build, CheckSet};
use crate::key::ImageKey;
use crate::Error;

/// Every registered version, sorted by family then version.
pub fn all() -> Vec<&'static BaseImage> {
    let mut images: Vec<&'static BaseImage> = BASE_IMAGES.iter().collect();
    images.sort_by(|a, b| (a.family(), a.version()).cmp(&(b.family(), b.version())));
    images
}

/// The family names, sorted.
pub fn families() -> Vec<&'static str> {
    let set: BTreeSet<&'static str> = BASE_IMAGES.iter().map(|i| i.family()).collect();
    set.into_iter().collect()
}

/// The versions of one family, lowest first.
pub fn versions_of(family: &str) -> Vec<&'static BaseImage> {
    all().into_iter().filter(|i| i.family() == family).collect()
}

/// The version a user names: `family:version`, or `family:latest` (see
/// [`latest`]).
pub fn get(text: &str) -> Result<&'static BaseImage, Error> {
    match text.strip_suffix(":latest") {
        Some(family) if !family.is_empty() => latest(family),
        _ => lookup(&text.parse()?),
    }
}

/// The version registered under `key`.
pub fn lookup(key: &ImageKey) -> Result<&'static BaseImage, Error> {
    let versions = versions_of(key.family());
    if versions.is_empty() {
        return Err(not_found_family(&key.to_string()));
    }
    versions
        .iter()
        .copied()
        .find(|i| i.version().to_semver() == *key.version())
        .ok_or_else(|| Error::NotFound {
            key: key.to_string(),
            hint: format!(
                "family `{}` has versions {}",
                key.family(),
                versions.iter().map(|i| i.version_str()).collect::<Vec<_>>().join(", ")
            ),
        })
}

/// The highest released (non-pre-release) version of a family, or its
/// highest pre-release when it has no release yet.
pub fn latest(family: &str) -> Result<&'static BaseImage, Error> {
    let versions = versions_of(family);
    versions
        .iter()
        .rev()
        .find(|i| !i.version().is_prerelease())
        .or(versions.last())
        .copied()
        .ok_or_else(|| not_found_family(family))
}

fn not_found_family(key: &str) -> Error {
    let families = families();
    Error::NotFound {
        key: key.to_owned(),
        hint: if families.is_empty() {
            "no base image is registered at all; is the crate that declares them linked?".to_owned()
        } else {
            format!("known families are {}", families.join(", "))
        },
    }
}

/// Checks the invariants the compiler cannot see; lists every problem.
pub fn validate() -> Result<(), Error> {
    validate_images(&all(), &CHECK_SETS.iter().collect::<Vec<_>>())
}

/// `validate` over explicit lists (what the registry holds, or a test's).
pub fn validate_images(images: &[&BaseImage], check_sets: &[&CheckSet]) -> Result<(), Error> {
    let registered: HashSet<*const BaseImage> = images.iter().map(|i| *i as *const BaseImage).collect();
    let mut problems = declaration_problems(images);
    problems.extend(lineage_problems(images, &registered));
    problems.extend(check_set_problems(check_sets, &registered));
    if problems.is_empty() {
        // Only well-formed chains are worth building.
        problems.extend(build_problems(images));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Registry(problems))
    }
}

/// The problems with the declarations themselves: a version declared more
/// than once, a family with more than one root.
fn declaration_problems(images: &[&BaseImage]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut by_key: BTreeMap<ImageKey, Vec<&BaseImage>> = BTreeMap::new();
    let mut roots: BTreeMap<&str, Vec<&BaseImage>> = BTreeMap::new();
    for image in images {
        by_key.entry(image.key()).or_default().push(image);
        if matches!(image.build(), Build::Root(_)) {
            roots.entry(image.family()).or_default().push(image);
        }
    }
    for (key, same) in &by_key {
        if same.len() > 1 {
            problems.push(format!(
                "{key} is declared {} times, at {}; give each declaration its own version",
                same.len(),
                same.iter()
                    .map(|i| i.location().to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ));
        }
    }
    for (family, family_roots) in &roots {
        if family_roots.len() > 1 {
            problems.push(format!(
                "family `{family}` has {} root versions ({}); only its first version may omit `parent`",
                family_roots.len(),
                family_roots
                    .iter()
                    .map(|i| format!("{i} at {}", i.location()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    problems
}

/// The problems with the `#[sanity_checks]` functions: more than one for a
/// version, or one naming a version that is not registered.
fn check_set_problems(check_sets: &[&CheckSet], registered: &HashSet<*const BaseImage>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut sets_per_image: HashMap<*const BaseImage, usize> = HashMap::new();
    for set in check_sets {
        *sets_per_image.entry(set.image as *const BaseImage).or_default() += 1;
    }
    let mut reported = HashSet::new();
    for set in check_sets {
        let image = set.image as *const BaseImage;
        let count = sets_per_image.get(&image).copied().unwrap_or(0);
        if count > 1 && reported.insert(image) {
            problems.push(format!(
                "{} has {count} #[sanity_checks] functions; merge them into one",
                set.image
            ));
        }
        if !registered.contains(&image) {
            problems.push(format!(
                "the #[sanity_checks] at {} names {}, which is not registered",
                set.location, set.image
            ));
        }
    }
    problems
}

/// Whether every version's recipe validates and its check set resolves.
fn build_problems(images: &[&BaseImage]) -> Vec<String> {
    let mut problems = Vec::new();
    for image in images {
        if let Err(e) = image.recipe() {
            problems.push(e.to_string());
        }
        if let Err(e) = image.checks_resolve() {
            problems.push(e.to_string());
        }
    }
    problems
}

/// The problems with the images' chains of parents: a parent that is
/// unregistered, of another family or not lower (each link checked once),
/// and cycles (each image's chain walked only up to where a walk already
/// went).
fn lineage_problems(images: &[&BaseImage], registered: &HashSet<*const BaseImage>) -> Vec<String> {
    let mut problems = Vec::new();
    for current in images {
        let Some(parent) = current.parent() else { continue };
        if !registered.contains(&(parent as *const BaseImage)) {
            problems.push(format!(
                "{current} (at {}) has parent {parent}, which is not registered; is the module declaring it compiled?",
                current.location()
            ));
        } else if parent.family() != current.family() || parent.version() >= current.version() {
            problems.push(format!(
                "{current} (at {}) has parent {parent}: a parent must be a lower version of the same family",
                current.location()
            ));
        }
    }
    let mut walked: HashSet<*const BaseImage> = HashSet::new();
    for image in images {
        let mut path: Vec<&BaseImage> = Vec::new();
        let mut on_path = HashSet::new();
        let mut next = Some(*image);
        while let Some(node) = next.filter(|n| !walked.contains(&(*n as *const BaseImage))) {
            if !on_path.insert(node as *const BaseImage) {
                problems.push(format!(
                    "{image} has a cycle in its parents: {}",
                    path.iter()
                        .chain([&node])
                        .map(|i| i.key().to_string())
                        .collect::<Vec<_>>()
                        .join(" -> ")
                ));
                break;
            }
            path.push(node);
            next = node.parent();
        }
        walked.extend(path.iter().map(|i| *i as *const BaseImage));
    }
    problems
}
