//! `airbyte-python-connector-base`: Airbyte's Python connector base image,
//! with its real history (docs/catalog.md: what Airbyte published, version
//! by version). Shared step blocks are the functions below; a version whose
//! steps are a reordering of its parent's builds from its root with them
//! (its checks are still inherited). Only the development-era 0.1.0
//! carries Airbyte's image metadata.

use super::{metadata, metadata_checks, METADATA_CHECKS};
use crate::checks::Access;
use crate::{base_image, sanity_checks, Check, CheckKind, Checks, Recipe};

/// Python 3.9.18 (development era, non-slim), pinned per platform.
pub const ROOT_3_9_18_AMD64: &str =
    "docker.io/library/python:3.9.18-bookworm@sha256:40582fe697811beb7bfceef2087416336faa990fd7e24984a7c18a86d3423d58";
/// Python 3.9.18 (development era, non-slim), arm64.
pub const ROOT_3_9_18_ARM64: &str =
    "docker.io/library/python:3.9.18-bookworm@sha256:0d132e30eb9325d53c790738e5478e9abffc98b69115e7de429d7c6fc52dddac";
/// Python 3.9.18 slim.
pub const ROOT_3_9_18_SLIM: &str = "docker.io/library/python:3.9.18-slim-bookworm@sha256:44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0";
/// Python 3.9.19 slim: the arm64 manifest, not the index (1.2.1's mistake).
pub const ROOT_3_9_19_ARM64_ONLY: &str = "docker.io/library/python:3.9.19-slim-bookworm@sha256:b92e6f45b58d9cafacc38563e946f8d249d850db862cbbd8befcf7f49eef8209";
/// Python 3.9.19 slim, the multi-platform index (1.2.2's fix).
pub const ROOT_3_9_19: &str = "docker.io/library/python:3.9.19-slim-bookworm@sha256:088d9217202188598aac37f8db0929345e124a82134ac66b8bb50ee9750b045b";
/// Python 3.9.19 slim, newer.
pub const ROOT_3_9_19_E694: &str = "docker.io/library/python:3.9.19-slim-bookworm@sha256:e6941b744e8eb9df6cf6baf323d2b9ad1dfe17d118f5efee14634aff4d47c76f";
/// Python 3.10.14 slim.
pub const ROOT_3_10_14: &str = "docker.io/library/python:3.10.14-slim-bookworm@sha256:3b37199fbc5a730a551909b3efa7b29105c859668b7502451c163f2a4a7ae1ed";
/// Python 3.10.14 slim, newer.
pub const ROOT_3_10_14_2407: &str = "docker.io/library/python:3.10.14-slim-bookworm@sha256:2407c61b1a18067393fecd8a22cf6fceede893b6aaca817bf9fbfe65e33614a3";

/// Where the CDK's NLTK data comes from: the nltk_data repository at the
/// commit Airbyte pinned.
const NLTK_DATA: &str = "https://github.com/nltk/nltk_data/raw/5db857e6f7df11eabb5e5665836db9ec8df07e28/packages";

/// The NLTK data sets: (directory under /usr/share/nltk_data, archive, the
/// name `nltk.data.find` looks up, check id).
const NLTK_SETS: [(&str, &str, &str, &str); 2] = [
    ("tokenizers", "tokenizers/punkt.zip", "tokenizers/punkt", "nltk-punkt"),
    (
        "taggers",
        "taggers/averaged_perceptron_tagger.zip",
        "taggers/averaged_perceptron_tagger",
        "nltk-tagger",
    ),
];

/// PIP_CACHE before the airbyte user: mounted before the first step.
fn pip_cache_root(r: Recipe) -> Recipe {
    r.with_mounted_cache("/root/.cache/pip", "pip_cache")
}

/// PIP_CACHE with the airbyte user (PIP_CACHE_DIR is set by `user`).
fn pip_cache_custom(r: Recipe) -> Recipe {
    r.with_mounted_cache("/custom_cache/pip", "pip_cache")
}

/// TZ: UTC as the local time.
fn tz(r: Recipe) -> Recipe {
    r.with_exec(["ln", "-snf", "/usr/share/zoneinfo/Etc/UTC", "/etc/localtime"])
}

/// The pip of the first images.
fn pip_23(r: Recipe) -> Recipe {
    r.with_exec(["pip", "install", "--upgrade", "pip==23.2.1"])
}

/// pip and setuptools from 1.2.1 on.
fn pip_24(r: Recipe) -> Recipe {
    r.with_exec(["pip", "install", "--upgrade", "pip==24.0", "setuptools==70.0.0"])
}

/// POETRY 1.6.1.
fn poetry(r: Recipe) -> Recipe {
    r.with_env_variable("POETRY_VIRTUALENVS_CREATE", "false")
        .with_env_variable("POETRY_VIRTUALENVS_IN_PROJECT", "false")
        .with_env_variable("POETRY_NO_INTERACTION", "1")
        .with_exec(["pip", "install", "poetry==1.6.1"])
}

/// USER: the airbyte system user (uid 1000) and its directories.
fn user(r: Recipe) -> Recipe {
    r.with_exec([
        "adduser",
        "--uid",
        "1000",
        "--system",
        "--group",
        "--no-create-home",
        "airbyte",
    ])
    .with_exec(["mkdir", "--mode", "755", "/custom_cache"])
    .with_exec(["mkdir", "--mode", "755", "/airbyte"])
    .with_exec(["chown", "airbyte:airbyte", "/airbyte"])
    .with_env_variable("PIP_CACHE_DIR", "/custom_cache/pip")
}

/// SOCAT 1.7.4.4, after `apt update` (Airbyte's `apt`, not `apt-get`).
fn socat(r: Recipe) -> Recipe {
    r.with_exec(["sh", "-c", "apt update && apt-get install -y socat=1.7.4.4-2"])
}

/// SOCAT from 1.2.3 on: no update at all (UPGRADE ran before it).
fn socat_after_upgrade(r: Recipe) -> Recipe {
    r.with_exec(["sh", "-c", "apt-get install -y socat=1.7.4.4-2"])
}

/// How the NLTK data directory is made.
#[derive(Clone, Copy)]
enum NltkDir {
    /// `mkdir /usr/share/nltk_data` (1.2.0 to 2.0.0).
    Plain,
    /// `mkdir -p 755 /usr/share/nltk_data` (1.2.2-rc.1 and the 3.0 line),
    /// which also makes a stray `./755`.
    WithStrayMode,
}

/// CDK: Tesseract and Poppler, then the NLTK data, fetched by the build
/// tool (never inside the image) and unpacked in place.
fn cdk(r: Recipe, dir: NltkDir) -> Recipe {
    let mkdir: &[&str] = match dir {
        NltkDir::Plain => &["mkdir", "/usr/share/nltk_data"],
        NltkDir::WithStrayMode => &["mkdir", "-p", "755", "/usr/share/nltk_data"],
    };
    let r = r
        .with_exec([
            "sh",
            "-c",
            "apt-get update && apt-get install -y tesseract-ocr=5.3.0-2 poppler-utils=22.12.0-2+b1",
        ])
        .with_exec(mkdir.iter().copied());
    NLTK_SETS.iter().fold(r, |r, (dir, archive, _, _)| {
        r.with_fetched_archive(format!("/usr/share/nltk_data/{dir}"), format!("{NLTK_DATA}/{archive}"))
    })
}

/// UPGRADE: every system package upgraded.
fn upgrade(r: Recipe) -> Recipe {
    r.with_exec([
        "sh",
        "-c",
        "apt-get update && apt-get upgrade -y && apt-get dist-upgrade -y && apt-get clean",
    ])
}

/// The first published image's steps on `root` (metadata aside).
fn steps_1_0_0(root: Recipe) -> Recipe {
    poetry(pip_23(tz(pip_cache_root(root))))
}

/// The steps of 1.2.1 (and 1.2.2) on `root`.
fn steps_1_2_1(root: &str) -> Recipe {
    let r = poetry(pip_24(tz(pip_cache_root(Recipe::from(root)))));
    cdk(socat(r), NltkDir::Plain)
}

/// The steps of 1.2.3 (and 2.0.0) on `root`.
fn steps_1_2_3(root: &str) -> Recipe {
    let r = upgrade(poetry(pip_24(tz(pip_cache_root(Recipe::from(root))))));
    cdk(socat_after_upgrade(r), NltkDir::Plain)
}

/// The steps of the 3.0 line on `root`; `chown_tmp` adds 3.0.1-rc.1's step.
fn steps_3_0(root: &str, chown_tmp: bool) -> Recipe {
    let r = pip_cache_custom(user(tz(Recipe::from(root))));
    let mut r = socat_after_upgrade(upgrade(poetry(pip_24(r))));
    if chown_tmp {
        r = r.with_exec(["chown", "-R", "airbyte:airbyte", "/tmp"]);
    }
    cdk(r, NltkDir::WithStrayMode)
}

/// The first image (development era): Airbyte's metadata on it alone.
#[base_image(
    family = "airbyte-python-connector-base",
    repository = "airbyte/python-connector-base",
    version = "0.1.0",
    platforms = ["linux/amd64", "linux/arm64"],
    changelog = "Initial release: Python 3.9.18, pip 23.2.1, UTC time zone."
)]
fn v0_1_0() -> Recipe {
    let root = Recipe::from_platforms([("linux/amd64", ROOT_3_9_18_AMD64), ("linux/arm64", ROOT_3_9_18_ARM64)]);
    pip_23(tz(metadata(pip_cache_root(root), &V0_1_0)))
}

#[sanity_checks(V0_1_0)]
fn v0_1_0_checks(checks: Checks) -> Checks {
    metadata_checks(checks)
        .timezone("timezone-utc", "UTC")
        .output_matches("bash-version", ["bash", "--version"], r"\S")
        .python_is("3.9.18")
        .pip_is("23.2.1")
        .env_var_exists("env-python-version", "PYTHON_VERSION")
        .env_var_exists("env-home", "HOME")
        .env_var_exists("env-path", "PATH")
        .env_var_exists("env-lang", "LANG")
        .env_var_exists("env-gpg-key", "GPG_KEY")
}

/// Slim root; Poetry; no metadata (built from its root).
#[base_image(version = "1.0.0", parent = V0_1_0, changelog = "Use the slim Python 3.9.18 image and add Poetry 1.6.1.")]
fn v1_0_0(_parent: Recipe) -> Recipe {
    steps_1_0_0(Recipe::from(ROOT_3_9_18_SLIM))
}

#[sanity_checks(V1_0_0)]
fn v1_0_0_checks(checks: Checks) -> Checks {
    METADATA_CHECKS
        .iter()
        .fold(checks, |c, id| c.without(id))
        .output_matches("poetry-version", ["poetry", "--version"], r"^Poetry \(version 1\.6\.1")
}

/// socat.
#[base_image(version = "1.1.0", parent = V1_0_0, changelog = "Add socat 1.7.4.4.")]
fn v1_1_0(parent: Recipe) -> Recipe {
    socat(parent)
}

#[sanity_checks(V1_1_0)]
fn v1_1_0_checks(checks: Checks) -> Checks {
    checks
        .output_matches("socat-present", ["socat", "-V"], r"\S")
        .tool_version("socat-version", ["socat", "-V"], "1.7.4.4")
}

/// The CDK's system dependencies.
#[base_image(
    version = "1.2.0",
    parent = V1_1_0,
    changelog = "Add the CDK system dependencies: NLTK data, Tesseract and Poppler."
)]
fn v1_2_0(parent: Recipe) -> Recipe {
    cdk(parent, NltkDir::Plain)
}

#[sanity_checks(V1_2_0)]
fn v1_2_0_checks(checks: Checks) -> Checks {
    let checks = checks
        .output_matches("tesseract-version", ["tesseract", "--version"], r"^tesseract 5\.3\.0")
        .stderr_contains("pdftotext-version", ["pdftotext", "-v"], "pdftotext version 22.12.0");
    NLTK_SETS
        .iter()
        .fold(checks, |c, (_, _, name, id)| c.with(nltk_finds(id, name)))
}

/// Airbyte's NLTK check: `nltk==3.8.1` installed in the check container
/// (from the package index: the check has the network), then
/// `nltk.data.find(name)`. Each check installs into a directory of its
/// own, so the two run side by side without sharing a pip install.
fn nltk_finds(id: &str, name: &str) -> Check {
    let target = format!("/tmp/base-images-{id}");
    let script = format!(
        "pip install --quiet --target {target} nltk==3.8.1 && PYTHONPATH={target} python -c \"import nltk; nltk.data.find('{name}')\""
    );
    Check::new(
        id,
        CheckKind::CommandSucceeds {
            args: vec!["sh".into(), "-c".into(), script],
        },
    )
    .description(format!("NLTK 3.8.1 finds {name}"))
    .timeout(std::time::Duration::from_secs(300))
    .with_network()
}

/// Python 3.9.19, pip 24.0, setuptools 70.0.0 (pinned the arm64 manifest).
#[base_image(
    version = "1.2.1",
    parent = V1_2_0,
    changelog = "Upgrade to Python 3.9.19 with pip 24.0 and setuptools 70.0.0."
)]
fn v1_2_1(_parent: Recipe) -> Recipe {
    steps_1_2_1(ROOT_3_9_19_ARM64_ONLY)
}

#[sanity_checks(V1_2_1)]
fn v1_2_1_checks(checks: Checks) -> Checks {
    checks.python_is("3.9.19").pip_is("24.0")
}

/// The airbyte user, with the steps reordered.
#[base_image(version = "1.2.2-rc.1", parent = V1_2_1, changelog = "Run as a non-root airbyte user.")]
fn v1_2_2_rc_1(_parent: Recipe) -> Recipe {
    let r = pip_cache_custom(user(socat(tz(Recipe::from(ROOT_3_9_19)))));
    cdk(poetry(pip_24(r)), NltkDir::WithStrayMode)
}

/// The Python and pip checks, by id, so a later version replaces them.
trait PythonChecks {
    /// `python --version` prints exactly `Python <version>`.
    fn python_is(self, version: &str) -> Self;
    /// `pip --version` starts with `pip <version> `.
    fn pip_is(self, version: &str) -> Self;
}

impl PythonChecks for Checks {
    fn python_is(self, version: &str) -> Self {
        let pattern = format!(r"^Python {}\n?$", version.replace('.', r"\."));
        self.output_matches("python-version", ["python", "--version"], &pattern)
    }

    fn pip_is(self, version: &str) -> Self {
        let pattern = format!(r"^pip {} ", version.replace('.', r"\."));
        self.output_matches("pip-version", ["pip", "--version"], &pattern)
    }
}

/// What the airbyte user can do. (A "cannot write /custom_cache" check
/// appears only in later, unreleased Airbyte code: not kept.)
fn airbyte_user_checks(checks: Checks) -> Checks {
    checks
        .user_exists("airbyte-user", "airbyte", 1000, 1000)
        .user_access("airbyte-reads-airbyte", "airbyte", "/airbyte", Access::Read, true)
        .user_access(
            "airbyte-reads-nltk",
            "airbyte",
            "/usr/share/nltk_data",
            Access::Read,
            true,
        )
        .user_access(
            "airbyte-reads-custom-cache",
            "airbyte",
            "/custom_cache",
            Access::Read,
            true,
        )
        .user_can_write("airbyte-writes-airbyte", "airbyte", "/airbyte")
}

/// The ids `airbyte_user_checks` declares.
const AIRBYTE_USER_CHECKS: [&str; 5] = [
    "airbyte-user",
    "airbyte-reads-airbyte",
    "airbyte-reads-nltk",
    "airbyte-reads-custom-cache",
    "airbyte-writes-airbyte",
];

#[sanity_checks(V1_2_2_RC_1)]
fn v1_2_2_rc_1_checks(checks: Checks) -> Checks {
    airbyte_user_checks(checks)
}

/// 1.2.1's steps on the fixed root (no user).
#[base_image(
    version = "1.2.2",
    parent = V1_2_2_RC_1,
    changelog = "Fix the root image digest: the multi-platform Python 3.9.19 image."
)]
fn v1_2_2(_parent: Recipe) -> Recipe {
    steps_1_2_1(ROOT_3_9_19)
}

#[sanity_checks(V1_2_2)]
fn v1_2_2_checks(checks: Checks) -> Checks {
    AIRBYTE_USER_CHECKS.iter().fold(checks, |c, id| c.without(id))
}

/// Newer root, system packages upgraded.
#[base_image(
    version = "1.2.3",
    parent = V1_2_2,
    changelog = "Use a newer Python 3.9.19 image and upgrade the system packages."
)]
fn v1_2_3(_parent: Recipe) -> Recipe {
    steps_1_2_3(ROOT_3_9_19_E694)
}

/// Python 3.10.
#[base_image(version = "2.0.0", parent = V1_2_3, changelog = "Upgrade to Python 3.10.14.")]
fn v2_0_0(parent: Recipe) -> Recipe {
    parent.with_root(ROOT_3_10_14)
}

#[sanity_checks(V2_0_0)]
fn v2_0_0_checks(checks: Checks) -> Checks {
    checks.python_is("3.10.14")
}

/// New root and the airbyte user.
#[base_image(
    version = "3.0.0-rc.1",
    parent = V2_0_0,
    changelog = "Run as a non-root airbyte user, on a newer Python 3.10.14 image."
)]
fn v3_0_0_rc_1(_parent: Recipe) -> Recipe {
    steps_3_0(ROOT_3_10_14_2407, false)
}

#[sanity_checks(V3_0_0_RC_1)]
fn v3_0_0_rc_1_checks(checks: Checks) -> Checks {
    airbyte_user_checks(checks)
}

/// The release of 3.0.0-rc.1.
#[base_image(version = "3.0.0", parent = V3_0_0_RC_1, changelog = "Run as a non-root airbyte user.")]
fn v3_0_0(parent: Recipe) -> Recipe {
    parent
}

/// airbyte owns /tmp.
#[base_image(version = "3.0.1-rc.1", parent = V3_0_0, changelog = "Give the airbyte user ownership of /tmp.")]
fn v3_0_1_rc_1(_parent: Recipe) -> Recipe {
    steps_3_0(ROOT_3_10_14_2407, true)
}

#[sanity_checks(V3_0_1_RC_1)]
fn v3_0_1_rc_1_checks(checks: Checks) -> Checks {
    checks.user_can_write("airbyte-writes-tmp", "airbyte", "/tmp")
}
