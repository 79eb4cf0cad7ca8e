//! Test families, declared exactly as a user declares theirs, until the
//! Airbyte catalog lands in the library: `seed-example` reproduces the
//! seed's 1.0.0 -> 1.0.1 (ffmpeg) example; `test-multi` exercises
//! per-platform roots, pre-releases, a root change and check overrides;
//! `e2e-python` and `e2e-broken` are built and checked for real on the
//! local engine.

pub mod advisories;
pub mod broken;
pub mod builder;
pub mod dual;
pub mod e2e;
pub mod finish;
pub mod fixtures;
pub mod gate;
pub mod multi;
pub mod oci_registry;
pub mod platforms;
pub mod rpm;
pub mod seed;
pub mod team;
pub mod unpinned;
