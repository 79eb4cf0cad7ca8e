//! Immutability: the test families' released versions are in this crate's
//! `versions.lock`, and `cargo test` fails when one of their recipes
//! changes. The lock is written only through `Lock::write` (atomic); set
//! `BASE_IMAGES_BLESS=1` to add new versions to it, never to change one.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use std::path::PathBuf;

use base_images::{Error, Lock, LockEntry, RecipeDigest};
// Link the crate that declares the test families (linkme entries live there).
use base_images_tests as _;

fn lock_path() -> PathBuf {
    base_images::lock::path_in(env!("CARGO_MANIFEST_DIR").as_ref())
}

fn test_families() -> Vec<&'static base_images::BaseImage> {
    let ours = ["seed-example", "test-multi"];
    base_images::all()
        .into_iter()
        .filter(|i| ours.contains(&i.family()))
        .collect()
}

#[test]
fn released_versions_never_change() -> Result<(), Error> {
    let lock = Lock::read(&lock_path())?;
    // The failure message is the point of this test: print it whole.
    if let Err(e) = lock.verify(&test_families()) {
        panic!("{e}");
    }
    if std::env::var_os("BASE_IMAGES_BLESS").is_some() {
        lock.with_released(&test_families())?.write(&lock_path())?;
    }
    assert_eq!(
        lock.entries().len(),
        5,
        "every test version is released; bless new ones with BASE_IMAGES_BLESS=1"
    );
    Ok(())
}

#[test]
fn a_changed_recipe_is_refused_with_the_release_message() -> Result<(), Error> {
    let lock = Lock::read(&lock_path())?;
    let text = lock.render()?.replace(
        lock.get(&"seed-example:1.0.0".parse().unwrap())
            .unwrap()
            .recipe
            .as_str(),
        &format!("sha256:{}", "0".repeat(64)),
    );
    let tampered = Lock::parse(&text, &lock_path())?;
    // The problem is data: which version, and both digests.
    match tampered.verify(&test_families()) {
        Err(Error::Released(problems)) => match problems.as_slice() {
            [base_images::ReleaseProblem::Changed { key, locked, .. }] => {
                assert_eq!(key.to_string(), "seed-example:1.0.0");
                assert_eq!(locked.as_str(), format!("sha256:{}", "0".repeat(64)));
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let message = tampered.verify(&test_families()).unwrap_err().to_string();
    assert!(
        message.contains("seed-example:1.0.0 is released and must never change; declare a new version instead"),
        "{message}"
    );
    assert!(
        !message.contains("seed-example:1.0.1"),
        "only the changed version is named: {message}"
    );
    Ok(())
}

#[test]
fn a_released_version_that_disappears_is_refused() -> Result<(), Error> {
    let mut text = Lock::read(&lock_path())?.render()?;
    text.push_str(&format!(
        "\n[[image]]\nname = \"seed-example:0.9.0\"\nrecipe = \"sha256:{}\"\n",
        "1".repeat(64)
    ));
    let message = Lock::parse(&text, &lock_path())?
        .verify(&test_families())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("seed-example:0.9.0 is released (in versions.lock) but no longer declared"),
        "{message}"
    );
    Ok(())
}

#[test]
fn new_versions_are_added_and_released_ones_kept() -> Result<(), Error> {
    let images = test_families();
    let empty = Lock::default();
    empty.verify(&images)?; // unlocked versions are new, not an error
    let partial = empty.with_released(&images[..1])?;
    assert_eq!(partial.entries().len(), 1);
    let full = partial.with_released(&images)?;
    assert_eq!(full.entries().len(), images.len());
    assert_eq!(full.entries()[0], partial.entries()[0]);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("versions.lock");
    full.write(&path)?;
    assert_eq!(Lock::read(&path)?, full);
    Ok(())
}

#[test]
fn lock_entries_are_sorted_by_semver() -> Result<(), Error> {
    let lock = Lock::read(&lock_path())?;
    let names: Vec<String> = lock.entries().iter().map(|e: &LockEntry| e.name.to_string()).collect();
    assert_eq!(
        names,
        [
            "seed-example:1.0.0",
            "seed-example:1.0.1",
            "test-multi:0.1.0",
            "test-multi:1.0.0-rc.1",
            "test-multi:1.0.0"
        ]
    );
    assert!(lock
        .entries()
        .iter()
        .all(|e| RecipeDigest::parse(e.recipe.as_str()).is_some()));
    Ok(())
}
