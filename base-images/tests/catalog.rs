//! The catalog held to the facts of Airbyte's history
//! (`shared/catalog-facts.md`): for every version its root digests, the
//! order of its step blocks, its package pins and user ids, and exactly
//! which checks it resolves with which expected values. Changing a pinned
//! digest or pin in the catalog fails these tests.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use base_images::{get, Recipe, Root, Step};

const PY: &str = "airbyte-python-connector-base";
const JAVA: &str = "airbyte-java-connector-base";

fn recipe(family: &str, version: &str) -> Recipe {
    get(&format!("{family}:{version}")).unwrap().recipe().unwrap()
}

/// The recipe's exec commands, one string each.
fn commands(recipe: &Recipe) -> Vec<String> {
    recipe
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Exec { args, .. } => Some(args.join(" ")),
            _ => None,
        })
        .collect()
}

/// The Python step blocks in order, named as in the facts.
fn python_blocks(recipe: &Recipe) -> Vec<&'static str> {
    let mut blocks: Vec<&'static str> = Vec::new();
    for step in &recipe.steps {
        let block = match step {
            Step::Exec { args, .. } => {
                let command = args.join(" ");
                [
                    ("zoneinfo/Etc/UTC", "TZ"),
                    ("pip install --upgrade pip==", "PIP"),
                    ("poetry==", "POETRY"),
                    ("socat=", "SOCAT"),
                    ("adduser", "USER"),
                    ("tesseract-ocr", "CDK"),
                    ("apt-get upgrade", "UPGRADE"),
                    ("chown -R airbyte:airbyte /tmp", "CHOWN_TMP"),
                ]
                .iter()
                .find(|(marker, _)| command.contains(marker))
                .map(|(_, block)| *block)
            }
            Step::MountedCache { .. } => Some("PIP_CACHE"),
            _ => None,
        };
        if let Some(block) = block {
            if blocks.last() != Some(&block) {
                blocks.push(block);
            }
        }
    }
    blocks
}

fn root(recipe: &Recipe) -> &str {
    match &recipe.root {
        Root::Address(address) => address,
        Root::PerPlatform(_) => "per-platform",
    }
}

#[test]
fn python_roots_steps_and_pins_follow_the_facts() {
    let first = recipe(PY, "0.1.0");
    assert_eq!(
        first.root_for("linux/amd64"),
        Some("docker.io/library/python:3.9.18-bookworm@sha256:40582fe697811beb7bfceef2087416336faa990fd7e24984a7c18a86d3423d58")
    );
    assert_eq!(
        first.root_for("linux/arm64"),
        Some("docker.io/library/python:3.9.18-bookworm@sha256:0d132e30eb9325d53c790738e5478e9abffc98b69115e7de429d7c6fc52dddac")
    );
    let expected: [(&str, &str, &[&str]); 12] = [
        ("0.1.0", "per-platform", &["TZ", "PIP", "PIP_CACHE"]),
        ("1.0.0", "docker.io/library/python:3.9.18-slim-bookworm@sha256:44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0", &["TZ", "PIP", "PIP_CACHE", "POETRY"]),
        ("1.1.0", "docker.io/library/python:3.9.18-slim-bookworm@sha256:44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0", &["TZ", "PIP", "PIP_CACHE", "POETRY", "SOCAT"]),
        ("1.2.0", "docker.io/library/python:3.9.18-slim-bookworm@sha256:44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0", &["TZ", "PIP", "PIP_CACHE", "POETRY", "SOCAT", "CDK"]),
        ("1.2.1", "docker.io/library/python:3.9.19-slim-bookworm@sha256:b92e6f45b58d9cafacc38563e946f8d249d850db862cbbd8befcf7f49eef8209", &["TZ", "PIP", "PIP_CACHE", "POETRY", "SOCAT", "CDK"]),
        (
            "1.2.2-rc.1",
            "docker.io/library/python:3.9.19-slim-bookworm@sha256:088d9217202188598aac37f8db0929345e124a82134ac66b8bb50ee9750b045b",
            &["TZ", "SOCAT", "USER", "PIP_CACHE", "PIP", "POETRY", "CDK"],
        ),
        ("1.2.2", "docker.io/library/python:3.9.19-slim-bookworm@sha256:088d9217202188598aac37f8db0929345e124a82134ac66b8bb50ee9750b045b", &["TZ", "PIP", "PIP_CACHE", "POETRY", "SOCAT", "CDK"]),
        (
            "1.2.3",
            "docker.io/library/python:3.9.19-slim-bookworm@sha256:e6941b744e8eb9df6cf6baf323d2b9ad1dfe17d118f5efee14634aff4d47c76f",
            &["TZ", "PIP", "PIP_CACHE", "POETRY", "UPGRADE", "SOCAT", "CDK"],
        ),
        (
            "2.0.0",
            "docker.io/library/python:3.10.14-slim-bookworm@sha256:3b37199fbc5a730a551909b3efa7b29105c859668b7502451c163f2a4a7ae1ed",
            &["TZ", "PIP", "PIP_CACHE", "POETRY", "UPGRADE", "SOCAT", "CDK"],
        ),
        (
            "3.0.0-rc.1",
            "docker.io/library/python:3.10.14-slim-bookworm@sha256:2407c61b1a18067393fecd8a22cf6fceede893b6aaca817bf9fbfe65e33614a3",
            &["TZ", "USER", "PIP_CACHE", "PIP", "POETRY", "UPGRADE", "SOCAT", "CDK"],
        ),
        (
            "3.0.0",
            "docker.io/library/python:3.10.14-slim-bookworm@sha256:2407c61b1a18067393fecd8a22cf6fceede893b6aaca817bf9fbfe65e33614a3",
            &["TZ", "USER", "PIP_CACHE", "PIP", "POETRY", "UPGRADE", "SOCAT", "CDK"],
        ),
        (
            "3.0.1-rc.1",
            "docker.io/library/python:3.10.14-slim-bookworm@sha256:2407c61b1a18067393fecd8a22cf6fceede893b6aaca817bf9fbfe65e33614a3",
            &[
                "TZ",
                "USER",
                "PIP_CACHE",
                "PIP",
                "POETRY",
                "UPGRADE",
                "SOCAT",
                "CHOWN_TMP",
                "CDK",
            ],
        ),
    ];
    for (version, digest, blocks) in expected {
        // `digest` is the whole pinned root address.
        let r = recipe(PY, version);
        assert_eq!(root(&r), digest, "{version}: root");
        assert_eq!(python_blocks(&r), blocks, "{version}: step blocks");
        let all = commands(&r).join("\n");
        let pip = if ["0.1.0", "1.0.0", "1.1.0", "1.2.0"].contains(&version) {
            "pip install --upgrade pip==23.2.1"
        } else {
            "pip install --upgrade pip==24.0 setuptools==70.0.0"
        };
        assert!(all.contains(pip), "{version}: {pip}");
        if blocks.contains(&"POETRY") {
            assert!(all.contains("pip install poetry==1.6.1"), "{version}: poetry");
        }
        if blocks.contains(&"SOCAT") {
            let socat = if ["1.2.3", "2.0.0"].contains(&version) {
                "sh -c apt-get install -y socat=1.7.4.4-2"
            } else {
                "sh -c apt-get update && apt-get install -y socat=1.7.4.4-2"
            };
            assert!(all.contains(socat), "{version}: {socat}");
        }
        if blocks.contains(&"CDK") {
            assert!(
                all.contains("apt-get install -y tesseract-ocr=5.3.0-2 poppler-utils=22.12.0-2+b1"),
                "{version}"
            );
            assert!(
                all.contains("nltk_data/raw/5db857e6f7df11eabb5e5665836db9ec8df07e28/packages/"),
                "{version}"
            );
            let stray = version == "1.2.2-rc.1";
            assert_eq!(
                all.contains("mkdir -p 755 /usr/share/nltk_data"),
                stray,
                "{version}: nltk dir"
            );
        }
        if blocks.contains(&"USER") {
            assert!(
                all.contains("adduser --uid 1000 --system --group --no-create-home airbyte"),
                "{version}"
            );
            assert!(all.contains("chown airbyte:airbyte /airbyte"), "{version}");
        }
        let cache = if blocks.contains(&"USER") {
            "/custom_cache/pip"
        } else {
            "/root/.cache/pip"
        };
        assert!(
            r.steps
                .iter()
                .any(|s| matches!(s, Step::MountedCache { path, .. } if path == cache)),
            "{version}: {cache}"
        );
    }
    // 1.2.2 is 1.2.1 on the fixed root; 2.0.0 is 1.2.3 on Python 3.10.
    let own_steps = |v: &str| recipe(PY, v).steps[..recipe(PY, v).steps.len() - 4].to_vec();
    assert_eq!(own_steps("1.2.2"), own_steps("1.2.1"));
    assert_eq!(own_steps("2.0.0"), own_steps("1.2.3"));
    assert_eq!(own_steps("3.0.0"), own_steps("3.0.0-rc.1"));
}

#[test]
fn every_version_carries_its_own_metadata() {
    for image in base_images::all()
        .into_iter()
        .filter(|i| [PY, JAVA].contains(&i.family()))
    {
        let r = image.recipe().unwrap();
        let tail = &r.steps[r.steps.len() - 4..];
        let base = r.base_image_name();
        assert_eq!(
            tail,
            [
                Step::Env {
                    name: "AIRBYTE_BASE_BASE_IMAGE".into(),
                    value: base.clone()
                },
                Step::Env {
                    name: "AIRBYTE_BASE_IMAGE".into(),
                    value: image.key()
                },
                Step::Label {
                    name: "io.airbyte.base_base_image".into(),
                    value: base
                },
                Step::Label {
                    name: "io.airbyte.base_image".into(),
                    value: image.key()
                },
            ],
            "{image}"
        );
        let envs = r
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Env { name, .. } if name == "AIRBYTE_BASE_IMAGE"))
            .count();
        assert_eq!(envs, 1, "{image}: the parent's metadata is not inherited");
        assert_eq!(image.platforms(), ["linux/amd64", "linux/arm64"]);
    }
    assert_eq!(
        recipe(PY, "0.1.0").base_image_name(),
        "docker.io/library/python:3.9.18-bookworm"
    );
}

fn check_ids(family: &str, version: &str) -> Vec<String> {
    get(&format!("{family}:{version}"))
        .unwrap()
        .checks()
        .unwrap()
        .into_iter()
        .map(|c| c.check.id)
        .collect()
}

fn check_text(family: &str, version: &str, id: &str) -> String {
    let checks = get(&format!("{family}:{version}")).unwrap().checks().unwrap();
    let check = checks
        .iter()
        .find(|c| c.check.id == id)
        .unwrap_or_else(|| panic!("{version} has no {id}"));
    format!("{:?}", check.check.kind)
}

#[test]
fn python_check_sets_follow_the_facts() {
    let base = [
        "env-airbyte-base-image",
        "env-airbyte-base-base-image",
        "label-base-image",
        "label-base-base-image",
        "timezone-utc",
        "bash-version",
        "python-version",
        "pip-version",
        "env-python-version",
        "env-home",
        "env-path",
        "env-lang",
        "env-gpg-key",
    ];
    let poetry = ["poetry-version"];
    let socat = ["socat-present", "socat-version"];
    let cdk = ["tesseract-version", "pdftotext-version", "nltk-punkt", "nltk-tagger"];
    let user = [
        "airbyte-user",
        "airbyte-reads-airbyte",
        "airbyte-reads-nltk",
        "airbyte-reads-custom-cache",
        "airbyte-writes-airbyte",
        "airbyte-cannot-write-custom-cache",
    ];
    let with =
        |parts: &[&[&str]]| -> Vec<String> { parts.iter().flat_map(|p| p.iter().map(|s| (*s).to_owned())).collect() };
    let expected: [(&str, Vec<String>, &str, &str); 12] = [
        ("0.1.0", with(&[&base]), "3\\\\.9\\\\.18", "23\\\\.2\\\\.1"),
        ("1.0.0", with(&[&base, &poetry]), "3\\\\.9\\\\.18", "23\\\\.2\\\\.1"),
        (
            "1.1.0",
            with(&[&base, &poetry, &socat]),
            "3\\\\.9\\\\.18",
            "23\\\\.2\\\\.1",
        ),
        (
            "1.2.0",
            with(&[&base, &poetry, &socat, &cdk]),
            "3\\\\.9\\\\.18",
            "23\\\\.2\\\\.1",
        ),
        (
            "1.2.1",
            with(&[&base, &poetry, &socat, &cdk]),
            "3\\\\.9\\\\.19",
            "24\\\\.0",
        ),
        (
            "1.2.2-rc.1",
            with(&[&base, &poetry, &socat, &cdk, &user]),
            "3\\\\.9\\\\.19",
            "24\\\\.0",
        ),
        (
            "1.2.2",
            with(&[&base, &poetry, &socat, &cdk]),
            "3\\\\.9\\\\.19",
            "24\\\\.0",
        ),
        (
            "1.2.3",
            with(&[&base, &poetry, &socat, &cdk]),
            "3\\\\.9\\\\.19",
            "24\\\\.0",
        ),
        (
            "2.0.0",
            with(&[&base, &poetry, &socat, &cdk]),
            "3\\\\.10\\\\.14",
            "24\\\\.0",
        ),
        (
            "3.0.0-rc.1",
            with(&[&base, &poetry, &socat, &cdk, &user]),
            "3\\\\.10\\\\.14",
            "24\\\\.0",
        ),
        (
            "3.0.0",
            with(&[&base, &poetry, &socat, &cdk, &user]),
            "3\\\\.10\\\\.14",
            "24\\\\.0",
        ),
        (
            "3.0.1-rc.1",
            with(&[&base, &poetry, &socat, &cdk, &user, &["airbyte-writes-tmp"]]),
            "3\\\\.10\\\\.14",
            "24\\\\.0",
        ),
    ];
    for (version, ids, python, pip) in expected {
        let mut found = check_ids(PY, version);
        let mut ids = ids;
        found.sort();
        ids.sort();
        assert_eq!(found, ids, "{version}: check ids");
        assert!(
            check_text(PY, version, "python-version").contains(&format!("^Python {python}")),
            "{version}: python"
        );
        assert!(
            check_text(PY, version, "pip-version").contains(&format!("^pip {pip} ")),
            "{version}: pip"
        );
        assert!(
            check_text(PY, version, "env-airbyte-base-image").contains(&format!("{PY}:{version}")),
            "{version}: metadata"
        );
    }
    assert!(check_text(PY, "2.0.0", "socat-version").contains("1.7.4.4"));
    assert!(check_text(PY, "1.2.2-rc.1", "airbyte-user").contains("uid: 1000, gid: 1000"));
}

#[test]
fn java_roots_steps_and_checks_follow_the_facts() {
    let versions = [
        "1.0.0-rc.1",
        "1.0.0-rc.2",
        "1.0.0-rc.4",
        "1.0.0",
        "2.0.0-rc.1",
        "2.0.0-rc.2",
        "2.0.0",
        "2.0.1",
    ];
    let registered: Vec<String> = base_images::registry::versions_of(JAVA)
        .iter()
        .map(|i| i.version_str().to_owned())
        .collect();
    assert_eq!(registered, versions, "1.0.0-rc.3 is left out: its steps are not known");
    for version in versions {
        let r = recipe(JAVA, version);
        let digest = if version == "2.0.1" {
            "c90f38f8a5c4494cb773a984dc9fa9a727b3e6c2f2ee2cba27c834a6e101af0d"
        } else {
            "5454cb606e803fce56861fdbc9eab365eaa2ab4f357ceb8c1d56f4f8c8a7bc33"
        };
        assert_eq!(
            root(&r),
            format!("docker.io/library/amazoncorretto:21-al2023@sha256:{digest}"),
            "{version}: root"
        );
        for (name, value) in [
            ("AIRBYTE_SPEC_CMD", "/airbyte/javabase.sh --spec"),
            ("AIRBYTE_CHECK_CMD", "/airbyte/javabase.sh --check"),
            ("AIRBYTE_DISCOVER_CMD", "/airbyte/javabase.sh --discover"),
            ("AIRBYTE_READ_CMD", "/airbyte/javabase.sh --read"),
            ("AIRBYTE_WRITE_CMD", "/airbyte/javabase.sh --write"),
            ("AIRBYTE_ENTRYPOINT", "/airbyte/base.sh"),
        ] {
            assert!(
                r.steps.contains(&Step::Env {
                    name: name.into(),
                    value: value.into()
                }),
                "{version}: {name}"
            );
        }
        assert!(
            r.steps.contains(&Step::Workdir {
                path: "/airbyte".into()
            }),
            "{version}: workdir"
        );
        let all = commands(&r).join("\n");
        for file in ["/airbyte/dd-java-agent.jar", "/airbyte/base.sh", "/airbyte/javabase.sh"] {
            assert!(all.contains(&format!("curl -fsSL -o {file} ")), "{version}: {file}");
        }
        assert!(all.contains(
            "airbytehq/airbyte/6d8a3a2bc4f4ca79f10164447a90fdce5c9ad6f9/airbyte-integrations/bases/base/base.sh"
        ));
        assert!(
            all.contains("6d8a3a2bc4f4ca79f10164447a90fdce5c9ad6f9/airbyte-integrations/bases/base-java/javabase.sh")
        );
        let entrypoint = r.steps.contains(&Step::Entrypoint {
            args: vec!["/airbyte/base.sh".into()],
        });
        assert_eq!(entrypoint, version != "1.0.0-rc.1", "{version}: entrypoint");
        let one_layer = "set -o xtrace && yum update -y --security && yum install -y tar openssl findutils";
        match version {
            "1.0.0-rc.1" | "1.0.0-rc.2" => {
                assert!(
                    all.contains("yum update -y --security\nyum install -y tar openssl findutils"),
                    "{version}"
                )
            }
            "1.0.0-rc.4" | "1.0.0" => assert!(all.contains(&format!("{one_layer} && yum clean all")), "{version}"),
            "2.0.0-rc.1" => {
                assert!(all.contains(&format!("{one_layer} /usr/sbin/adduser && yum clean all")));
                assert!(all.contains("adduser --base-dir /airbyte --uid 1000 --user-group --system airbyte"));
                assert!(
                    all.contains("mkdir --mode 755 /airbyte /custom_cache")
                        && all.contains("chown -R airbyte:airbyte /airbyte")
                );
            }
            _ => {
                assert!(all.contains("yum install -y shadow-utils tar openssl findutils && yum update -y --security"));
                assert!(all.contains("groupadd --gid 1000 airbyte && useradd --uid 1000 --gid airbyte --shell /bin/bash --create-home airbyte"));
                assert!(all.contains("chown -R airbyte:airbyte /airbyte /custom_cache /secrets /config /usr/share/pki/ca-trust-source /etc/pki/ca-trust /tmp"));
                assert!(
                    r.steps.contains(&Step::User { name: "airbyte".into() }),
                    "{version}: runs as airbyte"
                );
            }
        }
        let ids = check_ids(JAVA, version);
        assert_eq!(
            ids.iter()
                .filter(|id| id.starts_with("env-airbyte-") && id.ends_with("-cmd"))
                .count(),
            5,
            "{version}"
        );
        for id in [
            "env-airbyte-entrypoint",
            "file-dd-java-agent.jar",
            "file-base.sh",
            "file-javabase.sh",
            "tar-version",
            "openssl-version",
        ] {
            assert!(ids.iter().any(|i| i == id), "{version}: {id}");
        }
        let user = version.starts_with("2.");
        assert_eq!(ids.iter().any(|i| i == "airbyte-user"), user, "{version}: user check");
        let dirs = ids
            .iter()
            .filter(|i| i.starts_with("airbyte-writes-") || i.starts_with("airbyte-reads-"))
            .count();
        assert_eq!(
            dirs,
            if user && version != "2.0.0-rc.1" { 14 } else { 0 },
            "{version}: directory checks"
        );
    }
    assert!(check_text(JAVA, "2.0.1", "env-airbyte-read-cmd").contains("/airbyte/javabase.sh --read"));
}

#[test]
fn lookups_work_as_in_the_seed() {
    let image = get("airbyte-python-connector-base:1.0.0").unwrap();
    assert_eq!(image.parent().map(|p| p.key()), Some(format!("{PY}:0.1.0")));
    assert_eq!(
        base_images::latest(PY).unwrap().version_str(),
        "3.0.0",
        "the highest release, not 3.0.1-rc.1"
    );
    assert_eq!(base_images::latest(JAVA).unwrap().version_str(), "2.0.1");
    assert_eq!(base_images::all().len(), 20);
    assert_eq!(base_images::families(), [JAVA, PY]);
}
