//! The shipped catalog against the workspace's `versions.lock`: the
//! registry is valid, every catalog version is released (locked) and no
//! released version changed. The catalog's versions were released by
//! Airbyte before this project existed; the lock adopted them once with
//! `BASE_IMAGES_BLESS=1 cargo test -p base-images --test released`, which
//! only ever adds versions.

use std::path::Path;

use base_images::{Error, Lock};

#[test]
fn catalog_is_valid_locked_and_released_versions_never_change() -> Result<(), Error> {
    base_images::validate()?;
    let lock_path = base_images::lock::path_in(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")));
    let lock = Lock::read(&lock_path)?;
    let images = base_images::all();
    if let Err(e) = lock.verify(&images) {
        panic!("{e}");
    }
    if std::env::var_os("BASE_IMAGES_BLESS").is_some() {
        lock.with_released(&images)?.write(&lock_path)?;
        return Ok(());
    }
    let unreleased: Vec<base_images::ImageKey> = images
        .iter()
        .filter(|i| lock.get(&i.key()).is_none())
        .map(|i| i.key())
        .collect();
    assert!(
        unreleased.is_empty(),
        "catalog versions missing from versions.lock: {unreleased:?}"
    );
    assert_eq!(lock.entries().len(), 20, "12 Python and 8 Java versions");
    Ok(())
}
