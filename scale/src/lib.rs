//! The synthetic family `scale` that `build.rs` generates (see there): the
//! input of the benchmark of how the tool's costs grow with the number of
//! versions (`benches/scale.rs`).

#![allow(missing_docs)]

#[allow(unused_imports)]
use base_images::{base_image, sanity_checks, Checks, Recipe};

include!(concat!(env!("OUT_DIR"), "/family.rs"));
