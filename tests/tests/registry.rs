//! The registry as a user sees it: every declared version is registered
//! (linkme entries can be lost by the linker, so the count is compared with
//! a scan of the sources), lookups, the seed example's inheritance of steps
//! and checks, and `validate` on registries the compiler cannot refuse.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use std::path::{Path, PathBuf};

use base_images::checks::Origin;
// Link the crate that declares the test families (linkme entries live there).
use base_images::{get, latest, BaseImage, Error, Step};
use base_images_tests as _;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Counts `#[name]` attributes on functions in every `.rs` file under `dir`.
fn count_annotated(dir: &Path, name: &str) -> usize {
    fn items(list: &[syn::Item], name: &str) -> usize {
        list.iter()
            .map(|item| match item {
                syn::Item::Fn(f) => usize::from(f.attrs.iter().any(|a| a.path().is_ident(name))),
                syn::Item::Mod(m) => m.content.as_ref().map_or(0, |(_, inner)| items(inner, name)),
                _ => 0,
            })
            .sum()
    }
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            total += count_annotated(&path, name);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let file = syn::parse_file(&std::fs::read_to_string(&path).unwrap()).unwrap();
            total += items(&file.items, name);
        }
    }
    total
}

#[test]
fn every_declared_version_and_check_set_is_registered() {
    let sources = [crate_dir().join("src"), crate_dir().join("../base-images/src/catalog")];
    let declared: usize = sources.iter().map(|d| count_annotated(d, "base_image")).sum();
    let checks: usize = sources.iter().map(|d| count_annotated(d, "sanity_checks")).sum();
    assert!(declared >= 5, "the scan found only {declared} declarations");
    assert_eq!(
        base_images::all().len(),
        declared,
        "registered versions vs #[base_image] functions in the sources"
    );
    assert_eq!(
        base_images::registry::CHECK_SETS.len(),
        checks,
        "registered check sets vs #[sanity_checks]"
    );
}

#[test]
fn the_registry_is_valid() {
    base_images::validate().unwrap();
}

#[test]
fn seed_example_inherits_steps_and_checks() -> Result<(), Error> {
    let parent = get("seed-example:1.0.0")?;
    let image = get("seed-example:1.0.1")?;
    assert!(std::ptr::eq(image.parent().unwrap(), parent));
    assert_eq!(image.family(), "seed-example");
    assert_eq!(image.version().to_string(), "1.0.1");
    assert_eq!(image.changelog(), "Add ffmpeg to the base image.");

    let parent_recipe = parent.recipe()?;
    let recipe = image.recipe()?;
    assert_eq!(recipe.root, parent_recipe.root);
    assert_eq!(
        recipe.steps.to_vec()[..parent_recipe.steps.len()],
        parent_recipe.steps.to_vec()[..]
    );
    assert_eq!(
        recipe.steps.to_vec()[parent_recipe.steps.len()..],
        [Step::Exec {
            args: vec![
                "sh".into(),
                "-c".into(),
                "apt-get update && apt-get install -y ffmpeg".into()
            ],
            env: Default::default(),
            user: None,
            workdir: None,
        }]
    );

    let checks = image.checks()?;
    let ids: Vec<&str> = checks.iter().map(|c| c.check.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "python-version",
            "pip-version",
            "pip-version-check-off",
            "ffmpeg-installed"
        ]
    );
    let key = image.key().to_string();
    assert_eq!(
        checks[0].origin(&key),
        Origin::Inherited {
            from: "seed-example:1.0.0".into()
        }
    );
    assert_eq!(checks[3].origin(&key), Origin::Own);
    Ok(())
}

#[test]
fn a_new_root_keeps_steps_and_an_own_check_replaces_the_inherited_one() -> Result<(), Error> {
    let first = get("test-multi:0.1.0")?;
    let release = get("test-multi:1.0.0")?;
    assert_eq!(
        release.platforms(),
        ["linux/amd64", "linux/arm64"],
        "platforms come from the root"
    );
    let (a, b) = (first.recipe()?, release.recipe()?);
    assert_ne!(a.root, b.root);
    assert_eq!(b.steps.to_vec()[..a.steps.len()], a.steps.to_vec()[..]);
    assert_eq!(a.root_for("linux/arm64").map(|r| r.contains("2222")), Some(true));

    let checks = release.checks()?;
    let ids: Vec<&str> = checks.iter().map(|c| c.check.id.as_str()).collect();
    assert_eq!(
        ids,
        ["motd", "utc", "os-release", "airbyte-user", "airbyte-home"],
        "replaced in place"
    );
    assert_eq!(
        checks[2].origin(&release.key().to_string()),
        Origin::Overriding {
            replaces: "test-multi:0.1.0".into()
        }
    );
    Ok(())
}

#[test]
fn lookups() -> Result<(), Error> {
    assert_eq!(
        base_images::families(),
        [
            "airbyte-java-connector-base",
            "airbyte-python-connector-base",
            "e2e-broken",
            "e2e-dual",
            "e2e-dual-broken",
            "e2e-index",
            "e2e-mirrored",
            "e2e-python",
            "e2e-rpm",
            "e2e-single",
            "e2e-unpinned",
            "seed-example",
            "test-finish",
            "test-multi"
        ]
    );
    assert_eq!(latest("test-multi")?.key(), "test-multi:1.0.0");
    assert_eq!(get("seed-example:latest")?.key(), "seed-example:1.0.1");
    let keys: Vec<String> = base_images::all()
        .iter()
        .filter(|i| ["seed-example", "test-multi"].contains(&i.family()))
        .map(|i| i.key().to_string())
        .collect();
    assert_eq!(
        keys,
        [
            "seed-example:1.0.0",
            "seed-example:1.0.1",
            "test-multi:0.1.0",
            "test-multi:1.0.0-rc.1",
            "test-multi:1.0.0"
        ]
    );

    let err = |key: &str| get(key).unwrap_err().to_string();
    assert!(
        err("seed-example").contains("write family:version"),
        "{}",
        err("seed-example")
    );
    assert!(
        err("seed-example:9.9.9").contains("has versions 1.0.0, 1.0.1"),
        "{}",
        err("seed-example:9.9.9")
    );
    assert!(
        err("nope:1.0.0")
            .contains("known families are airbyte-java-connector-base, airbyte-python-connector-base, e2e-broken"),
        "{}",
        err("nope:1.0.0")
    );
    let unknown = latest("nope").unwrap_err().to_string();
    assert!(
        unknown.starts_with("no base image `nope`: known families are airbyte-java-connector-base, "),
        "{unknown}"
    );
    Ok(())
}

mod broken {
    //! Registries the macro cannot refuse on its own, built by hand through
    //! the macro's hidden constructor.
    use std::sync::atomic::{AtomicUsize, Ordering};

    use base_images::__private::Declaration;
    use base_images::{BaseImage, Build, Location, Recipe, Version};

    const HERE: Location = Location {
        file: file!(),
        line: 0,
        module: module_path!(),
    };

    const fn image(
        family: &'static str,
        minor: u64,
        text: &'static str,
        parent: Option<&'static BaseImage>,
    ) -> BaseImage {
        let build = match parent {
            None => Build::Root(root),
            Some(_) => Build::Child(child),
        };
        declared(family, minor, text, parent, build)
    }

    const fn declared(
        family: &'static str,
        minor: u64,
        text: &'static str,
        parent: Option<&'static BaseImage>,
        build: Build,
    ) -> BaseImage {
        BaseImage::__declare(Declaration {
            family,
            version: Version {
                major: 1,
                minor,
                patch: 0,
                pre: "",
            },
            version_text: text,
            parent,
            changelog: "x",
            platforms: &["linux/amd64"],
            finish: None,
            repositories: &[],
            build,
            location: HERE,
            poisoned: false,
        })
    }

    fn root() -> Recipe {
        Recipe::from("debian:bookworm")
    }

    fn child(parent: Recipe) -> Recipe {
        parent.with_exec(["true"])
    }

    fn bad_child(parent: Recipe) -> Recipe {
        parent.with_exec(Vec::<String>::new())
    }

    /// How many times the counted family's functions ran.
    pub(crate) static CALLS: AtomicUsize = AtomicUsize::new(0);

    fn counted_root() -> Recipe {
        CALLS.fetch_add(1, Ordering::SeqCst);
        root()
    }

    fn counted_child(parent: Recipe) -> Recipe {
        CALLS.fetch_add(1, Ordering::SeqCst);
        child(parent)
    }

    pub(crate) static COUNTED_ROOT: BaseImage = declared("e", 0, "1.0.0", None, Build::Root(counted_root));
    pub(crate) static COUNTED_1: BaseImage =
        declared("e", 1, "1.1.0", Some(&COUNTED_ROOT), Build::Child(counted_child));
    pub(crate) static COUNTED_2: BaseImage = declared("e", 2, "1.2.0", Some(&COUNTED_1), Build::Child(counted_child));

    pub(crate) static ROOT: BaseImage = image("b", 0, "1.0.0", None);
    pub(crate) static DUPLICATE: BaseImage = image("b", 0, "1.0.0", None);
    pub(crate) static OTHER_ROOT: BaseImage = image("b", 1, "1.1.0", None);
    pub(crate) static CYCLE_A: BaseImage = image("c", 1, "1.1.0", Some(&CYCLE_B));
    pub(crate) static CYCLE_B: BaseImage = image("c", 2, "1.2.0", Some(&CYCLE_A));
    pub(crate) static ORPHAN: BaseImage = image("d", 1, "1.1.0", Some(&ROOT));
    pub(crate) static EMPTY_EXEC: BaseImage = BaseImage::__declare(Declaration {
        build: Build::Child(bad_child),
        ..image_parts()
    });

    const fn image_parts() -> Declaration {
        Declaration {
            family: "b",
            version: Version {
                major: 1,
                minor: 5,
                patch: 0,
                pre: "",
            },
            version_text: "1.5.0",
            parent: Some(&ROOT),
            changelog: "x",
            platforms: &["linux/amd64"],
            finish: None,
            repositories: &[],
            build: Build::Root(root),
            location: HERE,
            poisoned: false,
        }
    }
}

fn problems(images: &[&BaseImage]) -> String {
    base_images::registry::validate_images(images, &[])
        .unwrap_err()
        .to_string()
}

#[test]
fn validate_reports_what_the_compiler_cannot_see() {
    use broken::*;
    let dup = problems(&[&ROOT, &DUPLICATE]);
    assert!(dup.contains("b:1.0.0 is declared 2 times"), "{dup}");
    let roots = problems(&[&ROOT, &OTHER_ROOT]);
    assert!(roots.contains("family `b` has 2 root versions"), "{roots}");
    let cycle = problems(&[&CYCLE_A, &CYCLE_B]);
    assert!(
        cycle.contains("has a cycle in its parents: c:1.1.0 -> c:1.2.0 -> c:1.1.0"),
        "{cycle}"
    );
    let orphan = problems(&[&ORPHAN]);
    assert!(
        orphan.contains("d:1.1.0 (at ") && orphan.contains("has parent b:1.0.0, which is not registered"),
        "{orphan}"
    );
    let family = problems(&[&ROOT, &ORPHAN]);
    assert!(
        family.contains("a parent must be a lower version of the same family"),
        "{family}"
    );
    let recipe = problems(&[&ROOT, &EMPTY_EXEC]);
    assert!(
        recipe.contains("b:1.5.0") && recipe.contains("step 1 (exec)"),
        "{recipe}"
    );
    assert!(base_images::registry::validate_images(&[&ROOT], &[]).is_ok());
}

#[test]
fn a_family_finish_touches_each_version_once_and_checks_name_their_version() -> Result<(), Error> {
    let first = get("test-finish:1.0.0")?.recipe()?;
    let second = get("test-finish:1.1.0")?.recipe()?;
    let env = |recipe: &base_images::Recipe| -> Vec<String> {
        recipe
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Env { name, value } if name == "BASE_IMAGE" => Some(value.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(env(&first), ["test-finish:1.0.0"]);
    assert_eq!(
        env(&second),
        ["test-finish:1.1.0"],
        "the parent's metadata is not inherited"
    );
    assert_eq!(second.steps[0], first.steps[0], "the parent's own step is inherited");
    assert_eq!(
        second.steps[1],
        Step::Exec {
            args: vec!["userdel".into(), "tester".into()],
            env: Default::default(),
            user: None,
            workdir: None
        }
    );

    let checks = get("test-finish:1.1.0")?.checks()?;
    let ids: Vec<&str> = checks.iter().map(|c| c.check.id.as_str()).collect();
    assert_eq!(
        ids,
        ["image-env", "image-label", "base-env"],
        "`without` dropped the user check"
    );
    assert_eq!(
        checks[0].check.kind,
        base_images::CheckKind::EnvVarEquals {
            name: "BASE_IMAGE".into(),
            value: "test-finish:1.1.0".into()
        }
    );
    assert!(checks[2].check.description.contains("debian:bookworm-slim@sha256:5555"));
    Ok(())
}

#[test]
fn each_version_function_runs_once_however_often_its_descendants_resolve() -> Result<(), Error> {
    use broken::{CALLS, COUNTED_1, COUNTED_2, COUNTED_ROOT};
    use std::sync::atomic::Ordering;
    for _ in 0..3 {
        for image in [&COUNTED_2, &COUNTED_1, &COUNTED_ROOT] {
            image.recipe()?.digest();
            image.checks()?;
            image.step_origins();
        }
    }
    assert_eq!(CALLS.load(Ordering::SeqCst), 3, "one call per version");
    let (child, parent) = (COUNTED_2.recipe()?, COUNTED_1.recipe()?);
    assert_eq!(child.steps.len(), parent.steps.len() + 1);
    assert_eq!(
        COUNTED_2.step_origins(),
        ["e:1.1.0", "e:1.2.0"],
        "each step is declared by the version that added it"
    );
    Ok(())
}
