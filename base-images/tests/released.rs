//! The shipped catalog against the workspace's `versions.lock`: the
//! registry is valid and no released catalog version changed.

use std::path::Path;

use base_images::{Error, Lock};

#[test]
fn catalog_is_valid_and_released_versions_never_change() -> Result<(), Error> {
    base_images::validate()?;
    let lock_path = base_images::lock::path_in(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")));
    let lock = Lock::read(&lock_path)?;
    if let Err(e) = lock.verify(&base_images::all()) {
        panic!("{e}");
    }
    Ok(())
}
