//! `airbyte-java-connector-base`: Airbyte's Java connector base image, with
//! its real history (docs/catalog.md; 1.0.0-rc.3 is left out: its steps
//! are not known). Every version has the same shape: its RUN step(s), the
//! workdir, the three files Airbyte fetched outside the image (fetched by
//! the build tool here), the six env vars, then the entrypoint (from
//! 1.0.0-rc.2) and the airbyte user (from 2.0.0-rc.2).

use crate::checks::Access;
use crate::{base_image, sanity_checks, Checks, FetchOptions, Recipe};

/// Amazon Corretto 21 on Amazon Linux 2023.
pub const ROOT_21: &str =
    "docker.io/library/amazoncorretto:21-al2023@sha256:5454cb606e803fce56861fdbc9eab365eaa2ab4f357ceb8c1d56f4f8c8a7bc33";
/// Amazon Corretto 21, newer (2.0.1).
pub const ROOT_21_C90F: &str =
    "docker.io/library/amazoncorretto:21-al2023@sha256:c90f38f8a5c4494cb773a984dc9fa9a727b3e6c2f2ee2cba27c834a6e101af0d";

/// Where the entrypoint scripts come from: the airbyte repository at the
/// commit Airbyte pinned.
const SCRIPTS: &str = "https://raw.githubusercontent.com/airbytehq/airbyte/6d8a3a2bc4f4ca79f10164447a90fdce5c9ad6f9";

/// The connector protocol's commands, as env vars.
const ENV: [(&str, &str); 6] = [
    ("AIRBYTE_SPEC_CMD", "/airbyte/javabase.sh --spec"),
    ("AIRBYTE_CHECK_CMD", "/airbyte/javabase.sh --check"),
    ("AIRBYTE_DISCOVER_CMD", "/airbyte/javabase.sh --discover"),
    ("AIRBYTE_READ_CMD", "/airbyte/javabase.sh --read"),
    ("AIRBYTE_WRITE_CMD", "/airbyte/javabase.sh --write"),
    ("AIRBYTE_ENTRYPOINT", "/airbyte/base.sh"),
];

/// The Datadog Java tracer: Airbyte fetched whatever was latest, so its
/// sha256 is recorded at release like any fetched input.
const DD_AGENT_URL: &str = "https://dtdg.co/latest-java-tracer";

/// The files every version has: (path, path in the airbyte repository,
/// or `None` for the Datadog agent).
const FILES: [(&str, Option<&str>); 3] = [
    ("/airbyte/dd-java-agent.jar", None),
    ("/airbyte/base.sh", Some("airbyte-integrations/bases/base/base.sh")),
    (
        "/airbyte/javabase.sh",
        Some("airbyte-integrations/bases/base-java/javabase.sh"),
    ),
];

/// Who owns the fetched files.
#[derive(Clone, Copy, PartialEq)]
enum Owner {
    /// Root (before 2.0.0-rc.2).
    Root,
    /// The airbyte user (from 2.0.0-rc.2).
    Airbyte,
}

/// The workdir, the three files (fetched, no chmod) and the env vars, in
/// Airbyte's order, after the RUN steps of `r`.
fn connector(r: Recipe, owner: Owner) -> Recipe {
    let r = r.with_workdir("/airbyte");
    let r = FILES.iter().fold(r, |r, (path, source)| {
        let url = source.map_or_else(|| DD_AGENT_URL.to_owned(), |s| format!("{SCRIPTS}/{s}"));
        let options = match owner {
            Owner::Root => FetchOptions::default(),
            Owner::Airbyte => FetchOptions::default().owner("airbyte"),
        };
        r.with_fetched_file_opts(*path, url, None, options)
    });
    ENV.iter()
        .fold(r, |r, (name, value)| r.with_env_variable(*name, *value))
}

/// The entrypoint, from 1.0.0-rc.2 on.
fn entrypoint(r: Recipe) -> Recipe {
    r.with_entrypoint(["/airbyte/base.sh"])
}

/// The RUN steps of 1.0.0-rc.1 and rc.2: one yum call each.
fn yum_two_layers(r: Recipe) -> Recipe {
    r.with_exec(["yum", "update", "-y", "--security"]).with_exec([
        "yum",
        "install",
        "-y",
        "tar",
        "openssl",
        "findutils",
    ])
}

/// The RUN step of 1.0.0-rc.4 and 1.0.0: the yum calls in one layer.
const YUM_ONE_LAYER: &str =
    "set -o xtrace && yum update -y --security && yum install -y tar openssl findutils && yum clean all";

/// The RUN step of 2.0.0-rc.1: the airbyte user, still running as root.
const ADDUSER: &str = "set -o xtrace && yum update -y --security && yum install -y /usr/sbin/adduser tar openssl findutils && yum clean all && adduser --base-dir /airbyte --uid 1000 --user-group --system airbyte && mkdir --mode 755 /airbyte && mkdir --mode 755 /custom_cache && chown -R airbyte:airbyte /airbyte";

/// The RUN step from 2.0.0-rc.2 on: the airbyte user owns what connectors write.
const NON_ROOT: &str = "set -o xtrace && yum install -y shadow-utils tar openssl findutils && yum update -y --security && yum clean all && rm -rf /var/cache/yum && groupadd --gid 1000 airbyte && useradd --uid 1000 --gid airbyte --shell /bin/bash --create-home airbyte && mkdir /secrets && mkdir /config && mkdir --mode 755 /airbyte && mkdir --mode 755 /custom_cache && chown -R airbyte:airbyte /airbyte && chown -R airbyte:airbyte /custom_cache && chown -R airbyte:airbyte /secrets && chown -R airbyte:airbyte /config && chown -R airbyte:airbyte /usr/share/pki/ca-trust-source && chown -R airbyte:airbyte /etc/pki/ca-trust && chown -R airbyte:airbyte /tmp";

/// One `sh -c` RUN step.
fn sh(r: Recipe, script: &str) -> Recipe {
    r.with_exec(["sh", "-c", script])
}

/// The first image.
#[base_image(
    family = "airbyte-java-connector-base",
    repository = "airbyte/java-connector-base",
    version = "1.0.0-rc.1",
    platforms = ["linux/amd64", "linux/arm64"],
    changelog = "Initial release: Amazon Corretto 21 with the Airbyte entrypoint scripts."
)]
fn v1_0_0_rc_1() -> Recipe {
    connector(yum_two_layers(Recipe::from(ROOT_21)), Owner::Root)
}

/// The checks that run as root, up to 2.0.0-rc.1.
const ROOT_CHECKS: [&str; 2] = ["root-reads-airbyte", "root-writes-airbyte"];

#[sanity_checks(V1_0_0_RC_1)]
fn v1_0_0_rc_1_checks(checks: Checks) -> Checks {
    let checks = checks
        .user_access(ROOT_CHECKS[0], "root", "/airbyte", Access::Read, true)
        .user_can_write(ROOT_CHECKS[1], "root", "/airbyte");
    let checks = ENV.iter().fold(checks, |c, (name, value)| {
        c.env_var_equals(&format!("env-{}", name.to_lowercase().replace('_', "-")), name, value)
    });
    FILES
        .iter()
        .fold(checks, |c, (path, _)| {
            c.file_exists(&format!("file-{}", path.rsplit('/').next().unwrap_or(path)), path)
        })
        .output_matches("tar-version", ["tar", "--version"], r"\S")
        .output_matches("openssl-version", ["openssl", "version"], r"\S")
}

/// The entrypoint.
#[base_image(version = "1.0.0-rc.2", parent = V1_0_0_RC_1, changelog = "Set the entrypoint to /airbyte/base.sh.")]
fn v1_0_0_rc_2(parent: Recipe) -> Recipe {
    entrypoint(parent)
}

/// The yum calls in one layer.
#[base_image(version = "1.0.0-rc.4", parent = V1_0_0_RC_2, changelog = "Install the system packages in one layer.")]
fn v1_0_0_rc_4(_parent: Recipe) -> Recipe {
    entrypoint(connector(sh(Recipe::from(ROOT_21), YUM_ONE_LAYER), Owner::Root))
}

/// The release of 1.0.0-rc.4.
#[base_image(version = "1.0.0", parent = V1_0_0_RC_4, changelog = "Release the Java connector base image.")]
fn v1_0_0(parent: Recipe) -> Recipe {
    parent
}

/// A non-root airbyte user (the image still runs as root).
#[base_image(version = "2.0.0-rc.1", parent = V1_0_0, changelog = "Add a non-root airbyte user.")]
fn v2_0_0_rc_1(_parent: Recipe) -> Recipe {
    entrypoint(connector(sh(Recipe::from(ROOT_21), ADDUSER), Owner::Root))
}

/// The directories the airbyte user owns from 2.0.0-rc.2 on.
const AIRBYTE_DIRS: [&str; 7] = [
    "/airbyte",
    "/custom_cache",
    "/secrets",
    "/config",
    "/usr/share/pki/ca-trust-source",
    "/etc/pki/ca-trust",
    "/tmp",
];

/// Permissions for the airbyte user, files owned by it, running as it.
#[base_image(
    version = "2.0.0-rc.2",
    parent = V2_0_0_RC_1,
    changelog = "Give the airbyte user the directories connectors write to, and run as airbyte."
)]
fn v2_0_0_rc_2(_parent: Recipe) -> Recipe {
    non_root(ROOT_21)
}

/// The steps of the 2.0 line on `root`.
fn non_root(root: &str) -> Recipe {
    entrypoint(connector(sh(Recipe::from(root), NON_ROOT), Owner::Airbyte)).with_user("airbyte")
}

#[sanity_checks(V2_0_0_RC_2)]
fn v2_0_0_rc_2_checks(checks: Checks) -> Checks {
    let checks =
        ROOT_CHECKS
            .iter()
            .fold(checks, |c, id| c.without(id))
            .user_exists("airbyte-user", "airbyte", 1000, 1000);
    AIRBYTE_DIRS.iter().fold(checks, |c, dir| {
        let id = dir.trim_start_matches('/').replace(['/', '_'], "-");
        c.user_access(&format!("airbyte-reads-{id}"), "airbyte", dir, Access::Read, true)
            .user_can_write(&format!("airbyte-writes-{id}"), "airbyte", dir)
    })
}

/// The release of 2.0.0-rc.2.
#[base_image(version = "2.0.0", parent = V2_0_0_RC_2, changelog = "Run connectors as the non-root airbyte user.")]
fn v2_0_0(parent: Recipe) -> Recipe {
    parent
}

/// A newer Corretto image.
#[base_image(version = "2.0.1", parent = V2_0_0, changelog = "Use a newer Amazon Corretto 21 image (Apple M4 support).")]
fn v2_0_1(parent: Recipe) -> Recipe {
    parent.with_root(ROOT_21_C90F)
}
