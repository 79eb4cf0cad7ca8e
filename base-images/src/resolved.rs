//! What is derived from a version and its ancestors — the recipe its
//! child receives, its own recipe, its check set — computed once per
//! version from its parent's and kept on the version's static. A family
//! of N versions therefore resolves in N function calls, where applying
//! every ancestor's function for every version costs N²; the recipes share
//! their parents' steps (see `steps`), so they are not copied either.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use crate::checks::{drop_inherited, resolve, Check, Checks, ResolvedCheck};
use crate::image::{check_sets_of, BaseImage, Build};
use crate::{Error, Recipe};

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
        let parent = image.parent().and_then(|p| p.memo().get()).map(|r| r.chain.clone());
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

/// `image`'s derived data, computing it (and that of every ancestor not yet
/// resolved, root first, without recursion) on first use.
pub(crate) fn of(image: &BaseImage) -> &Resolved {
    if let Some(resolved) = image.memo().get() {
        return resolved;
    }
    for pending in unresolved_lineage(image, |i| i.memo().get().is_some()) {
        pending.memo().get_or_init(|| Resolved::new(pending));
    }
    image.memo().get_or_init(|| Resolved::new(image))
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
