//! The catalog held to the facts of Airbyte's history (docs/catalog.md):
//! for every version the Dockerfile Airbyte's changelog showed (FROM, RUN
//! with the argv joined by spaces, ENV and LABEL), transcribed here by
//! hand, equals the reduced rendering of the declared recipe; the fetched
//! content, cache mounts and config steps the reduction hides are held by
//! their own tests; and every version resolves exactly the checks Airbyte
//! ran. Changing a pinned digest, a command or a pin fails these tests.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

use base_images::{get, Recipe, Step};

const PY: &str = "airbyte-python-connector-base";
const JAVA: &str = "airbyte-java-connector-base";

fn recipe(family: &str, version: &str) -> Recipe {
    get(&format!("{family}:{version}")).unwrap().recipe().unwrap()
}

/// A Dockerfile as Airbyte's changelog showed it: the image's stage only,
/// FROM without the platform, RUN as its argv joined by spaces (mounts
/// dropped), ENV and LABEL unquoted; no files, directories, WORKDIR, USER
/// or ENTRYPOINT.
fn reduced(dockerfile: &str) -> String {
    let stage = &dockerfile[dockerfile.rfind("\nFROM ").map_or(0, |i| i + 1)..];
    let unquote = |text: &str| -> String {
        let inner = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
        inner.replace("\\\"", "\"").replace("\\$", "$").replace("\\\\", "\\")
    };
    let mut out = Vec::new();
    for line in stage.lines() {
        let (instruction, rest) = line.split_once(' ').unwrap_or((line, ""));
        match instruction {
            "FROM" => out.push(format!("FROM {}", rest.rsplit(' ').next().unwrap())),
            "RUN" => {
                let json = &rest[rest.find('[').unwrap()..];
                let argv: Vec<String> = serde_json::from_str(json).unwrap();
                out.push(format!("RUN {}", argv.join(" ")));
            }
            "ENV" => {
                let (name, value) = rest.split_once('=').unwrap();
                out.push(format!("ENV {name}={}", unquote(value)));
            }
            "LABEL" => {
                let (name, value) = rest.split_once("\"=\"").unwrap();
                out.push(format!(
                    "LABEL {}={}",
                    unquote(&format!("{name}\"")),
                    unquote(&format!("\"{value}"))
                ));
            }
            _ => {}
        }
    }
    out.join("\n")
}

fn reduced_of(family: &str, version: &str) -> String {
    let text = base_images::dockerfile::render(&recipe(family, version), "linux/amd64").unwrap();
    reduced(&text)
}

/// Lines, joined.
fn lines(parts: &[&[&str]]) -> String {
    parts
        .iter()
        .flat_map(|p| p.iter().copied())
        .collect::<Vec<_>>()
        .join("\n")
}

// The Python step blocks as Airbyte's changelog printed them.
const TZ: &[&str] = &["RUN ln -snf /usr/share/zoneinfo/Etc/UTC /etc/localtime"];
const PIP_23: &[&str] = &["RUN pip install --upgrade pip==23.2.1"];
const PIP_24: &[&str] = &["RUN pip install --upgrade pip==24.0 setuptools==70.0.0"];
const POETRY: &[&str] = &[
    "ENV POETRY_VIRTUALENVS_CREATE=false",
    "ENV POETRY_VIRTUALENVS_IN_PROJECT=false",
    "ENV POETRY_NO_INTERACTION=1",
    "RUN pip install poetry==1.6.1",
];
const USER: &[&str] = &[
    "RUN adduser --uid 1000 --system --group --no-create-home airbyte",
    "RUN mkdir --mode 755 /custom_cache",
    "RUN mkdir --mode 755 /airbyte",
    "RUN chown airbyte:airbyte /airbyte",
    "ENV PIP_CACHE_DIR=/custom_cache/pip",
];
const SOCAT: &[&str] = &["RUN sh -c apt update && apt-get install -y socat=1.7.4.4-2"];
const SOCAT_NO_UPDATE: &[&str] = &["RUN sh -c apt-get install -y socat=1.7.4.4-2"];
const CDK_APT: &str = "RUN sh -c apt-get update && apt-get install -y tesseract-ocr=5.3.0-2 poppler-utils=22.12.0-2+b1";
const CDK: &[&str] = &[CDK_APT, "RUN mkdir /usr/share/nltk_data"];
const CDK_STRAY: &[&str] = &[CDK_APT, "RUN mkdir -p 755 /usr/share/nltk_data"];
const UPGRADE: &[&str] =
    &["RUN sh -c apt-get update && apt-get upgrade -y && apt-get dist-upgrade -y && apt-get clean"];
const CHOWN_TMP: &[&str] = &["RUN chown -R airbyte:airbyte /tmp"];

/// Each Python version's Dockerfile as Airbyte's changelog showed it.
fn python_published() -> Vec<(&'static str, String)> {
    let root_0_1_0 = "docker.io/library/python:3.9.18-bookworm@sha256:40582fe697811beb7bfceef2087416336faa990fd7e24984a7c18a86d3423d58";
    let from = |root: &str| format!("FROM docker.io/library/python:{root}");
    let slim = from("3.9.18-slim-bookworm@sha256:44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0");
    let b92e = from("3.9.19-slim-bookworm@sha256:b92e6f45b58d9cafacc38563e946f8d249d850db862cbbd8befcf7f49eef8209");
    let d088 = from("3.9.19-slim-bookworm@sha256:088d9217202188598aac37f8db0929345e124a82134ac66b8bb50ee9750b045b");
    let e694 = from("3.9.19-slim-bookworm@sha256:e6941b744e8eb9df6cf6baf323d2b9ad1dfe17d118f5efee14634aff4d47c76f");
    let b37 = from("3.10.14-slim-bookworm@sha256:3b37199fbc5a730a551909b3efa7b29105c859668b7502451c163f2a4a7ae1ed");
    let c2407 = from("3.10.14-slim-bookworm@sha256:2407c61b1a18067393fecd8a22cf6fceede893b6aaca817bf9fbfe65e33614a3");
    let metadata = [
        format!("FROM {root_0_1_0}"),
        format!("ENV AIRBYTE_BASE_BASE_IMAGE={root_0_1_0}"),
        format!("ENV AIRBYTE_BASE_IMAGE={PY}:0.1.0"),
        format!("LABEL io.airbyte.base_base_image={root_0_1_0}"),
        format!("LABEL io.airbyte.base_image={PY}:0.1.0"),
    ];
    let metadata: Vec<&str> = metadata.iter().map(String::as_str).collect();
    vec![
        ("0.1.0", lines(&[&metadata, TZ, PIP_23])),
        ("1.0.0", lines(&[&[&slim], TZ, PIP_23, POETRY])),
        ("1.1.0", lines(&[&[&slim], TZ, PIP_23, POETRY, SOCAT])),
        ("1.2.0", lines(&[&[&slim], TZ, PIP_23, POETRY, SOCAT, CDK])),
        ("1.2.1", lines(&[&[&b92e], TZ, PIP_24, POETRY, SOCAT, CDK])),
        (
            "1.2.2-rc.1",
            lines(&[&[&d088], TZ, SOCAT, USER, PIP_24, POETRY, CDK_STRAY]),
        ),
        ("1.2.2", lines(&[&[&d088], TZ, PIP_24, POETRY, SOCAT, CDK])),
        (
            "1.2.3",
            lines(&[&[&e694], TZ, PIP_24, POETRY, UPGRADE, SOCAT_NO_UPDATE, CDK]),
        ),
        (
            "2.0.0",
            lines(&[&[&b37], TZ, PIP_24, POETRY, UPGRADE, SOCAT_NO_UPDATE, CDK]),
        ),
        (
            "3.0.0-rc.1",
            lines(&[&[&c2407], TZ, USER, PIP_24, POETRY, UPGRADE, SOCAT_NO_UPDATE, CDK_STRAY]),
        ),
        (
            "3.0.0",
            lines(&[&[&c2407], TZ, USER, PIP_24, POETRY, UPGRADE, SOCAT_NO_UPDATE, CDK_STRAY]),
        ),
        (
            "3.0.1-rc.1",
            lines(&[
                &[&c2407],
                TZ,
                USER,
                PIP_24,
                POETRY,
                UPGRADE,
                SOCAT_NO_UPDATE,
                CHOWN_TMP,
                CDK_STRAY,
            ]),
        ),
    ]
}

/// The six env vars every Java version sets, last.
const JAVA_ENV: &[&str] = &[
    "ENV AIRBYTE_SPEC_CMD=/airbyte/javabase.sh --spec",
    "ENV AIRBYTE_CHECK_CMD=/airbyte/javabase.sh --check",
    "ENV AIRBYTE_DISCOVER_CMD=/airbyte/javabase.sh --discover",
    "ENV AIRBYTE_READ_CMD=/airbyte/javabase.sh --read",
    "ENV AIRBYTE_WRITE_CMD=/airbyte/javabase.sh --write",
    "ENV AIRBYTE_ENTRYPOINT=/airbyte/base.sh",
];

/// Each Java version's Dockerfile as Airbyte's changelog showed it.
fn java_published() -> Vec<(&'static str, String)> {
    let from = |digest: &str| format!("FROM docker.io/library/amazoncorretto:21-al2023@sha256:{digest}");
    let first = from("5454cb606e803fce56861fdbc9eab365eaa2ab4f357ceb8c1d56f4f8c8a7bc33");
    let newer = from("c90f38f8a5c4494cb773a984dc9fa9a727b3e6c2f2ee2cba27c834a6e101af0d");
    let two_runs: &[&str] = &[
        "RUN yum update -y --security",
        "RUN yum install -y tar openssl findutils",
    ];
    let one_run: &[&str] = &[
        "RUN sh -c set -o xtrace && yum update -y --security && yum install -y tar openssl findutils && yum clean all",
    ];
    let adduser: &[&str] = &["RUN sh -c set -o xtrace && yum update -y --security && yum install -y /usr/sbin/adduser tar openssl findutils && yum clean all && adduser --base-dir /airbyte --uid 1000 --user-group --system airbyte && mkdir --mode 755 /airbyte && mkdir --mode 755 /custom_cache && chown -R airbyte:airbyte /airbyte"];
    let non_root: &[&str] = &["RUN sh -c set -o xtrace && yum install -y shadow-utils tar openssl findutils && yum update -y --security && yum clean all && rm -rf /var/cache/yum && groupadd --gid 1000 airbyte && useradd --uid 1000 --gid airbyte --shell /bin/bash --create-home airbyte && mkdir /secrets && mkdir /config && mkdir --mode 755 /airbyte && mkdir --mode 755 /custom_cache && chown -R airbyte:airbyte /airbyte && chown -R airbyte:airbyte /custom_cache && chown -R airbyte:airbyte /secrets && chown -R airbyte:airbyte /config && chown -R airbyte:airbyte /usr/share/pki/ca-trust-source && chown -R airbyte:airbyte /etc/pki/ca-trust && chown -R airbyte:airbyte /tmp"];
    vec![
        ("1.0.0-rc.1", lines(&[&[&first], two_runs, JAVA_ENV])),
        ("1.0.0-rc.2", lines(&[&[&first], two_runs, JAVA_ENV])),
        ("1.0.0-rc.4", lines(&[&[&first], one_run, JAVA_ENV])),
        ("1.0.0", lines(&[&[&first], one_run, JAVA_ENV])),
        ("2.0.0-rc.1", lines(&[&[&first], adduser, JAVA_ENV])),
        ("2.0.0-rc.2", lines(&[&[&first], non_root, JAVA_ENV])),
        ("2.0.0", lines(&[&[&first], non_root, JAVA_ENV])),
        ("2.0.1", lines(&[&[&newer], non_root, JAVA_ENV])),
    ]
}

/// The reduced Dockerfile of `family:version` equals the published one.
fn published_as_airbyte_showed(family: &str, version: &str) {
    let published = if family == PY {
        python_published()
    } else {
        java_published()
    };
    let (_, dockerfile) = published
        .into_iter()
        .find(|(v, _)| *v == version)
        .unwrap_or_else(|| panic!("{family}:{version} is not in the facts"));
    assert_eq!(reduced_of(family, version), dockerfile, "{family}:{version}");
}

/// One test per catalog version.
macro_rules! published {
    ($($name:ident: $family:expr, $version:expr;)*) => {
        $(
            #[test]
            fn $name() {
                published_as_airbyte_showed($family, $version);
            }
        )*
    };
}

published! {
    python_0_1_0_is_what_airbyte_published: PY, "0.1.0";
    python_1_0_0_is_what_airbyte_published: PY, "1.0.0";
    python_1_1_0_is_what_airbyte_published: PY, "1.1.0";
    python_1_2_0_is_what_airbyte_published: PY, "1.2.0";
    python_1_2_1_is_what_airbyte_published: PY, "1.2.1";
    python_1_2_2_rc_1_is_what_airbyte_published: PY, "1.2.2-rc.1";
    python_1_2_2_is_what_airbyte_published: PY, "1.2.2";
    python_1_2_3_is_what_airbyte_published: PY, "1.2.3";
    python_2_0_0_is_what_airbyte_published: PY, "2.0.0";
    python_3_0_0_rc_1_is_what_airbyte_published: PY, "3.0.0-rc.1";
    python_3_0_0_is_what_airbyte_published: PY, "3.0.0";
    python_3_0_1_rc_1_is_what_airbyte_published: PY, "3.0.1-rc.1";
    java_1_0_0_rc_1_is_what_airbyte_published: JAVA, "1.0.0-rc.1";
    java_1_0_0_rc_2_is_what_airbyte_published: JAVA, "1.0.0-rc.2";
    java_1_0_0_rc_4_is_what_airbyte_published: JAVA, "1.0.0-rc.4";
    java_1_0_0_is_what_airbyte_published: JAVA, "1.0.0";
    java_2_0_0_rc_1_is_what_airbyte_published: JAVA, "2.0.0-rc.1";
    java_2_0_0_rc_2_is_what_airbyte_published: JAVA, "2.0.0-rc.2";
    java_2_0_0_is_what_airbyte_published: JAVA, "2.0.0";
    java_2_0_1_is_what_airbyte_published: JAVA, "2.0.1";
}

#[test]
fn the_catalog_declares_exactly_the_published_versions() {
    for (family, published) in [(PY, python_published()), (JAVA, java_published())] {
        let registered: Vec<String> = base_images::registry::versions_of(family)
            .iter()
            .map(|i| i.version_str().to_owned())
            .collect();
        let published: Vec<&str> = published.iter().map(|(v, _)| *v).collect();
        // Left out, their steps not known: Python 1.2.0-rc.1, 3.0.2 and
        // the 4.x line; Java 1.0.0-rc.3.
        assert_eq!(registered, published, "{family}");
    }
}

/// What the reduction hides, by kind: cache mounts, fetched content,
/// WORKDIR, USER, ENTRYPOINT, in recipe order.
fn hidden(recipe: &Recipe) -> Vec<String> {
    recipe
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::MountedCache { path, cache } => Some(format!("cache {cache} {path}")),
            Step::FetchFile {
                url,
                path,
                owner,
                mode,
                sha256,
            } => Some(format!(
                "file {url} {path} owner={owner:?} mode={mode:?} sha256={sha256:?}"
            )),
            Step::FetchArchive { url, path, owner, .. } => Some(format!("archive {url} {path} owner={owner:?}")),
            Step::Workdir { path } => Some(format!("workdir {path}")),
            Step::User { name } => Some(format!("user {name}")),
            Step::Entrypoint { args } => Some(format!("entrypoint {}", args.join(" "))),
            _ => None,
        })
        .collect()
}

#[test]
fn python_caches_and_nltk_data_follow_the_facts() {
    let nltk = "https://github.com/nltk/nltk_data/raw/5db857e6f7df11eabb5e5665836db9ec8df07e28/packages";
    let data = [
        format!("archive {nltk}/tokenizers/punkt.zip /usr/share/nltk_data/tokenizers owner=None"),
        format!("archive {nltk}/taggers/averaged_perceptron_tagger.zip /usr/share/nltk_data/taggers owner=None"),
    ];
    for image in base_images::registry::versions_of(PY) {
        let r = image.recipe().unwrap();
        let hidden = hidden(&r);
        let user = r
            .steps
            .iter()
            .any(|s| matches!(s, Step::Exec { args, .. } if args[0] == "adduser"));
        let cache = if user {
            "cache pip_cache /custom_cache/pip"
        } else {
            "cache pip_cache /root/.cache/pip"
        };
        assert_eq!(hidden[0], cache, "{image}");
        if user {
            // Mounted once the airbyte user made /custom_cache.
            let mounted = r
                .steps
                .iter()
                .position(|s| matches!(s, Step::MountedCache { .. }))
                .unwrap();
            let made = r
                .steps
                .iter()
                .position(
                    |s| matches!(s, Step::Exec { args, .. } if args.join(" ") == "mkdir --mode 755 /custom_cache"),
                )
                .unwrap();
            assert!(made < mounted, "{image}");
        } else {
            assert_eq!(
                r.steps[0],
                Step::MountedCache {
                    path: "/root/.cache/pip".into(),
                    cache: "pip_cache".into()
                },
                "{image}: before the first step"
            );
        }
        let cdk = image.version().to_semver() >= semver::Version::new(1, 2, 0);
        let expected: Vec<String> = if cdk { data.to_vec() } else { Vec::new() };
        assert_eq!(hidden[1..], expected, "{image}: NLTK data, fetched outside the image");
    }
}

#[test]
fn java_files_workdir_entrypoint_and_user_follow_the_facts() {
    let scripts = "https://raw.githubusercontent.com/airbytehq/airbyte/6d8a3a2bc4f4ca79f10164447a90fdce5c9ad6f9/airbyte-integrations/bases";
    for image in base_images::registry::versions_of(JAVA) {
        let version = image.version_str();
        let non_root = version.starts_with("2.") && version != "2.0.0-rc.1";
        let owner = if non_root { "Some(\"airbyte\")" } else { "None" };
        let mut expected = vec![
            "workdir /airbyte".to_owned(),
            format!("file https://dtdg.co/latest-java-tracer /airbyte/dd-java-agent.jar owner={owner} mode=None sha256=None"),
            format!("file {scripts}/base/base.sh /airbyte/base.sh owner={owner} mode=None sha256=None"),
            format!("file {scripts}/base-java/javabase.sh /airbyte/javabase.sh owner={owner} mode=None sha256=None"),
        ];
        if version != "1.0.0-rc.1" {
            expected.push("entrypoint /airbyte/base.sh".into());
        }
        if non_root {
            expected.push("user airbyte".into());
        }
        let r = image.recipe().unwrap();
        assert_eq!(hidden(&r), expected, "{image}");
        // The files come after the RUN steps and before the env vars.
        let last_run = r.steps.iter().rposition(|s| matches!(s, Step::Exec { .. })).unwrap();
        let first_file = r
            .steps
            .iter()
            .position(|s| matches!(s, Step::FetchFile { .. }))
            .unwrap();
        let first_env = r.steps.iter().position(|s| matches!(s, Step::Env { .. })).unwrap();
        assert!(last_run < first_file && first_file < first_env, "{image}");
    }
}

#[test]
fn only_the_development_image_carries_airbyte_metadata() {
    for image in base_images::all()
        .into_iter()
        .filter(|i| [PY, JAVA].contains(&i.family()))
    {
        let r = image.recipe().unwrap();
        let metadata = r.steps.iter().any(|s| match s {
            Step::Env { name, .. } => name.starts_with("AIRBYTE_BASE"),
            Step::EnvRoot { .. } | Step::LabelRoot { .. } => true,
            Step::Label { name, .. } => name.starts_with("io.airbyte"),
            _ => false,
        });
        assert_eq!(metadata, image.key().to_string() == format!("{PY}:0.1.0"), "{image}");
        assert_eq!(image.platforms(), ["linux/amd64", "linux/arm64"]);
    }
    // On arm64, 0.1.0 names its arm64 root.
    let arm = base_images::dockerfile::render(&recipe(PY, "0.1.0"), "linux/arm64").unwrap();
    let arm_root = "docker.io/library/python:3.9.18-bookworm@sha256:0d132e30eb9325d53c790738e5478e9abffc98b69115e7de429d7c6fc52dddac";
    assert!(
        arm.contains(&format!("ENV AIRBYTE_BASE_BASE_IMAGE=\"{arm_root}\"")),
        "{arm}"
    );
    let checks = get(&format!("{PY}:0.1.0")).unwrap().checks_for("linux/arm64").unwrap();
    let base = checks
        .iter()
        .find(|c| c.check.id == "env-airbyte-base-base-image")
        .unwrap();
    assert!(format!("{:?}", base.check.kind).contains(arm_root));
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
    let metadata = [
        "env-airbyte-base-image",
        "env-airbyte-base-base-image",
        "label-base-image",
        "label-base-base-image",
    ];
    let base = [
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
    ];
    let with =
        |parts: &[&[&str]]| -> Vec<String> { parts.iter().flat_map(|p| p.iter().map(|s| (*s).to_owned())).collect() };
    let expected: [(&str, Vec<String>, &str, &str); 12] = [
        ("0.1.0", with(&[&metadata, &base]), "3\\\\.9\\\\.18", "23\\\\.2\\\\.1"),
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
    }
    assert!(check_text(PY, "0.1.0", "env-airbyte-base-image").contains(&format!("{PY}:0.1.0")));
    for id in ["nltk-punkt", "nltk-tagger"] {
        let check = get(&format!("{PY}:1.2.0")).unwrap().checks().unwrap();
        let check = &check.iter().find(|c| c.check.id == id).unwrap().check;
        assert!(check.network, "{id}: installs nltk from the package index");
        let text = format!("{:?}", check.kind);
        assert!(
            text.contains("nltk==3.8.1") && text.contains("nltk.data.find("),
            "{text}"
        );
    }
    assert!(check_text(PY, "1.2.0", "nltk-punkt").contains("find('tokenizers/punkt')"));
    assert!(check_text(PY, "1.2.0", "nltk-tagger").contains("find('taggers/averaged_perceptron_tagger')"));
    assert!(check_text(PY, "1.2.0", "tesseract-version").contains(r#"^tesseract 5\\.3\\.0"#));
    assert!(check_text(PY, "1.2.0", "pdftotext-version").contains("pdftotext version 22.12.0"));
    assert!(check_text(PY, "2.0.0", "socat-version").contains("1.7.4.4"));
    assert!(check_text(PY, "1.2.2-rc.1", "airbyte-user").contains("uid: 1000, gid: 1000"));
}

#[test]
fn java_check_sets_follow_the_facts() {
    for image in base_images::registry::versions_of(JAVA) {
        let version = image.version_str();
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
        let non_root = version.starts_with("2.") && version != "2.0.0-rc.1";
        // Up to 2.0.0-rc.1 the image runs as root, and root's access is checked.
        for id in ["root-reads-airbyte", "root-writes-airbyte"] {
            assert_eq!(ids.iter().any(|i| i == id), !non_root, "{version}: {id}");
        }
        assert_eq!(
            ids.iter().any(|i| i == "airbyte-user"),
            non_root,
            "{version}: user check"
        );
        let dirs = ids
            .iter()
            .filter(|i| i.starts_with("airbyte-writes-") || i.starts_with("airbyte-reads-"))
            .count();
        assert_eq!(dirs, if non_root { 14 } else { 0 }, "{version}: directory checks");
        assert_eq!(
            ids.len(),
            if non_root { 11 + 1 + 14 } else { 11 + 2 },
            "{version}: {ids:?}"
        );
    }
    assert!(check_text(JAVA, "2.0.1", "env-airbyte-read-cmd").contains("/airbyte/javabase.sh --read"));
    assert!(check_text(JAVA, "1.0.0", "root-writes-airbyte").contains("user: \"root\""));
    assert!(check_text(JAVA, "2.0.0", "airbyte-user").contains("uid: 1000, gid: 1000"));
}

#[test]
fn lookups_work_as_in_the_seed() {
    let image = get("airbyte-python-connector-base:1.0.0").unwrap();
    assert_eq!(image.parent().map(|p| p.key().to_string()), Some(format!("{PY}:0.1.0")));
    assert_eq!(
        base_images::latest(PY).unwrap().version_str(),
        "3.0.0",
        "the highest release, not 3.0.1-rc.1"
    );
    assert_eq!(base_images::latest(JAVA).unwrap().version_str(), "2.0.1");
    assert_eq!(base_images::all().len(), 20);
    assert_eq!(base_images::families(), [JAVA, PY]);
}
