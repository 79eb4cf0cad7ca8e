//! Every declaration the macros register, in the two `linkme` slices they
//! append to: each `#[base_image]` static ([`BASE_IMAGES`]) and each
//! `#[sanity_checks]` function ([`CHECK_SETS`]), with the index that finds
//! a version's check sets. They stand below what reads them: the memo of
//! what is derived from a version (`resolved`) and the registry's lookup
//! and validation (`registry`).

use std::collections::HashMap;
use std::sync::OnceLock;

use linkme::distributed_slice;

use crate::image::{BaseImage, CheckSet};

/// Every `#[base_image]` static, in link order: each version's static is
/// itself the element, so a version adds one static, not two.
#[doc(hidden)]
#[distributed_slice]
pub static BASE_IMAGES: [BaseImage];

/// Every `#[sanity_checks]` declaration, in link order (the registry
/// validates them; a version finds its own here).
#[doc(hidden)]
#[distributed_slice]
pub static CHECK_SETS: [CheckSet];

/// The check sets registered for `image` (indexed once by version).
pub(crate) fn check_sets_of(image: &BaseImage) -> &'static [&'static CheckSet] {
    static INDEX: OnceLock<HashMap<usize, Vec<&'static CheckSet>>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut index: HashMap<usize, Vec<&'static CheckSet>> = HashMap::new();
        for set in CHECK_SETS.iter() {
            index
                .entry(set.image as *const BaseImage as usize)
                .or_default()
                .push(set);
        }
        index
    });
    index
        .get(&(image as *const BaseImage as usize))
        .map_or(&[], Vec::as_slice)
}
