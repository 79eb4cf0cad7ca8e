//! What is derived from a version and its ancestors — the recipe its
//! child receives, its own recipe, its check set — computed once per
//! version from its parent's and kept for the process in a memo cell per
//! version: a table indexed by the version's position in the registry
//! (the static is its registry element), so the statics themselves stay
//! plain data. A family of N versions therefore resolves in N function
//! calls, where applying every ancestor's function for every version
//! costs N²; the recipes share their parents' steps (see `steps`), so
//! they are not copied either. The `BaseImage` methods that answer from
//! this memo (`recipe`, `step_origins`, `checks`, ...) are defined here.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::checks::{drop_inherited, resolve, Check, Checks, ResolvedCheck};
use crate::declared::{check_sets_of, BASE_IMAGES};
use crate::image::{BaseImage, Build};
use crate::recipe::Recipe;
use crate::steps::Steps;
use crate::Error;

/// A version's check set before `{image}` and `{base_image}` are expanded.
pub(crate) type CheckSet = Arc<Vec<Arc<ResolvedCheck>>>;

/// One version's derived data (see the module documentation).
pub(crate) struct Resolved {
    /// Every function from the root applied, without the family's finish:
    /// what a child receives as its parent.
    pub(crate) chain: Recipe,
    /// `chain` with the family's finishing touch.
    pub(crate) recipe: Recipe,
    /// The check set, once it resolved (a failure is not kept).
    checks: OnceLock<CheckSet>,
}

impl Resolved {
    fn new(image: &BaseImage) -> Resolved {
        let parent = image.parent().and_then(|p| memo(p).get()).map(|r| r.chain.clone());
        let chain = match (image.build(), parent) {
            (Build::Root(root), _) => root(),
            (Build::Child(child), Some(parent)) => child(parent),
            // A child whose chain has no root (a cycle): validate() reports
            // it; start from nothing so the rest still shows.
            (Build::Child(child), None) => child(Recipe::from("")),
        };
        let recipe = match image.finish() {
            Some(finish) => finish(chain.clone(), image),
            None => chain.clone(),
        };
        Resolved {
            chain,
            recipe,
            checks: OnceLock::new(),
        }
    }
}

/// What a version's derived data answers: its recipe, where each step
/// came from, its check set. Defined here, beside the memo, so the
/// declaration (`image`) stays plain data that imports none of this.
impl BaseImage {
    /// The recipe, with every step of every ancestor applied from the root,
    /// validated.
    pub fn recipe(&self) -> Result<Recipe, Error> {
        let recipe = self.unvalidated_recipe();
        recipe.validate().map_err(|e| self.in_image(e))?;
        Ok(recipe)
    }

    /// The recipe without validation (for diagnostics of broken ones).
    pub fn unvalidated_recipe(&self) -> Recipe {
        of(self).recipe.clone()
    }

    /// For each step of the recipe, the `family:version` that declared it:
    /// the oldest version in the lineage whose recipe has the same steps up
    /// to and including that one.
    pub fn step_origins(&self) -> Vec<String> {
        let own = &of(self).recipe.steps;
        let lineage = self.lineage();
        let recipes: Vec<&Steps> = lineage.iter().map(|i| &of(i).recipe.steps).collect();
        let mut origins = Vec::with_capacity(own.len());
        for (image, common) in lineage.iter().zip(own.common_prefix_lens(&recipes)) {
            if common > origins.len() {
                origins.resize(common, image.key().to_string());
            }
        }
        origins.resize(own.len(), self.key().to_string());
        origins
    }

    /// This version's own checks, as its `#[sanity_checks]` function declares
    /// them (empty when it has none).
    pub fn own_checks(&self) -> Result<Vec<Check>, Error> {
        Ok(own_changes(self)?.0)
    }

    /// The resolved check set: the parent's resolved set without the checks
    /// this version drops, with its own checks applied on top (same id
    /// replaces), and `{image}` / `{base_image}` in any text replaced by
    /// this version's key and root image.
    pub fn checks(&self) -> Result<Vec<ResolvedCheck>, Error> {
        self.checks_with_base(&self.unvalidated_recipe().base_image_name())
    }

    /// `checks` as they run on `platform`: `{base_image}` is the root
    /// address of that platform (a root pinned per platform has one each).
    pub fn checks_for(&self, platform: &str) -> Result<Vec<ResolvedCheck>, Error> {
        let recipe = self.unvalidated_recipe();
        let base = recipe
            .root_for(platform)
            .map_or_else(|| recipe.base_image_name(), str::to_owned);
        self.checks_with_base(&base)
    }

    /// Whether the check set resolves (what `registry::validate` needs,
    /// without expanding every version's checks).
    pub(crate) fn checks_resolve(&self) -> Result<(), Error> {
        checks(self).map(drop)
    }

    fn checks_with_base(&self, base: &str) -> Result<Vec<ResolvedCheck>, Error> {
        let key = self.key().to_string();
        Ok(checks(self)?
            .iter()
            .map(|shared| {
                let mut resolved = ResolvedCheck::clone(shared);
                resolved.check.expand(&key, base);
                resolved
            })
            .collect())
    }
}

/// `image`'s derived data, computing it (and that of every ancestor not yet
/// resolved, root first, without recursion) on first use.
pub(crate) fn of(image: &BaseImage) -> &Resolved {
    let cell = memo(image);
    if let Some(resolved) = cell.get() {
        return resolved;
    }
    for pending in unresolved_lineage(image, |i| memo(i).get().is_some()) {
        memo(pending).get_or_init(|| Resolved::new(pending));
    }
    cell.get_or_init(|| Resolved::new(image))
}

/// The memo cell of `image`: the one at its position in the registry, or,
/// for a version made outside the registry (as tests make them), one kept
/// by its address for the rest of the process.
fn memo(image: &BaseImage) -> &'static OnceLock<Resolved> {
    static REGISTERED: OnceLock<Box<[OnceLock<Resolved>]>> = OnceLock::new();
    static OTHERS: OnceLock<Mutex<HashMap<usize, &'static OnceLock<Resolved>>>> = OnceLock::new();
    let cells = REGISTERED.get_or_init(|| BASE_IMAGES.iter().map(|_| OnceLock::new()).collect());
    if let Some(n) = registry_position(&BASE_IMAGES, image) {
        return &cells[n];
    }
    let mut others = OTHERS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    others
        .entry(std::ptr::from_ref(image) as usize)
        .or_insert_with(|| Box::leak(Box::default()))
}

/// Where `image` is in `all`, if it is one of its elements (by address:
/// an element is the version's static itself).
fn registry_position(all: &[BaseImage], image: &BaseImage) -> Option<usize> {
    let size = std::mem::size_of::<BaseImage>();
    let offset = (std::ptr::from_ref(image) as usize).checked_sub(all.as_ptr() as usize)?;
    (offset % size == 0 && offset / size < all.len()).then_some(offset / size)
}

/// `image`'s resolved check set: its parent's, without the checks it drops,
/// with its own on top.
pub(crate) fn checks(image: &BaseImage) -> Result<CheckSet, Error> {
    let resolved = of(image);
    if let Some(set) = resolved.checks.get() {
        return Ok(set.clone());
    }
    let done = |i: &BaseImage| of(i).checks.get().is_some();
    let mut set: CheckSet = Arc::default();
    for pending in unresolved_lineage(image, done) {
        let inherited = pending
            .parent()
            .and_then(|p| of(p).checks.get().cloned())
            .unwrap_or_default();
        let (own, removed) = own_changes(pending)?;
        set = if own.is_empty() && removed.is_empty() {
            inherited
        } else {
            let key = pending.key().to_string();
            let mut checks = inherited.as_ref().clone();
            drop_inherited(&mut checks, &removed, &key).map_err(|e| pending.in_image(e))?;
            Arc::new(resolve(checks, own, &key))
        };
        set = of(pending).checks.get_or_init(|| set).clone();
    }
    Ok(set)
}

/// A version's own checks, and the ids of inherited checks it drops
/// (`without`), as its `#[sanity_checks]` function declares them.
pub(crate) fn own_changes(image: &BaseImage) -> Result<(Vec<Check>, Vec<String>), Error> {
    match check_sets_of(image).first() {
        Some(set) => {
            let checks = (set.build)(Checks::new());
            let removed = checks.removed().to_vec();
            Ok((checks.finish().map_err(|e| image.in_image(e))?, removed))
        }
        None => Ok((Vec::new(), Vec::new())),
    }
}

/// `image` and the ancestors above it up to (not including) the nearest
/// one that is `done`, root side first. A cycle ends the walk.
fn unresolved_lineage(image: &BaseImage, done: impl Fn(&BaseImage) -> bool) -> Vec<&BaseImage> {
    let mut path = vec![image];
    let mut seen = HashSet::from([image as *const BaseImage]);
    let mut current = image;
    while let Some(parent) = current.parent() {
        if done(parent) || !seen.insert(parent as *const BaseImage) {
            break;
        }
        path.push(parent);
        current = parent;
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{poisoned_recipe, Declaration, Location};
    use crate::version::Version;

    const fn declared(minor: u64) -> BaseImage {
        BaseImage::__declare(Declaration {
            family: "memo-test",
            version: Version {
                major: 1,
                minor,
                patch: 0,
                pre: "",
            },
            version_text: "1.x.0",
            parent: None,
            changelog: "x",
            platforms: &["linux/amd64"],
            finish: None,
            repositories: &[],
            build: Build::Root(poisoned_recipe),
            location: Location {
                file: "resolved.rs",
                line: 1,
                module: "resolved",
            },
            poisoned: false,
        })
    }

    static ALL: [BaseImage; 3] = [declared(0), declared(1), declared(2)];
    static OUTSIDE: BaseImage = declared(3);

    #[test]
    fn a_registry_element_is_found_at_its_position_and_nothing_else_is() {
        for (n, image) in ALL.iter().enumerate() {
            assert_eq!(registry_position(&ALL, image), Some(n));
        }
        assert_eq!(registry_position(&ALL, &OUTSIDE), None);
        assert_eq!(registry_position(&ALL[..1], &ALL[2]), None, "past the end");
        assert_eq!(registry_position(&ALL[1..], &ALL[0]), None, "before the start");
        assert_eq!(registry_position(&[], &ALL[0]), None);
    }

    #[test]
    fn every_version_keeps_one_memo_of_its_own() {
        let registered: Vec<&BaseImage> = BASE_IMAGES.iter().collect();
        assert!(!registered.is_empty(), "the catalog registers versions");
        let mut cells = HashSet::new();
        for image in registered.iter().copied().chain([&OUTSIDE, &ALL[0]]) {
            let cell = memo(image);
            assert!(std::ptr::eq(cell, memo(image)), "{image}: the same cell every time");
            assert!(
                cells.insert(std::ptr::from_ref(cell) as usize),
                "{image}: a cell of its own"
            );
        }
        let image = registered[registered.len() - 1];
        assert!(std::ptr::eq(of(image), of(image)), "resolved once, then kept");
    }
}
