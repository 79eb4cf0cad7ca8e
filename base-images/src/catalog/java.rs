//! `airbyte-java-connector-base`: Airbyte's Java connector base image, with
//! its real history (see `shared/catalog-facts.md`; 1.0.0-rc.3 is left out:
//! its steps are not known). Every version gets the family's metadata
//! through `finish`.

use super::{metadata, metadata_checks};
use crate::checks::Access;
use crate::{base_image, sanity_checks, Checks, Recipe};

/// Amazon Corretto 21 on Amazon Linux 2023.
pub const ROOT_21: &str =
    "docker.io/library/amazoncorretto:21-al2023@sha256:5454cb606e803fce56861fdbc9eab365eaa2ab4f357ceb8c1d56f4f8c8a7bc33";
/// Amazon Corretto 21, newer (2.0.1).
pub const ROOT_21_C90F: &str =
    "docker.io/library/amazoncorretto:21-al2023@sha256:c90f38f8a5c4494cb773a984dc9fa9a727b3e6c2f2ee2cba27c834a6e101af0d";

/// The airbyte commit the entrypoint scripts come from.
const SCRIPTS_COMMIT: &str = "6d8a3a2bc4f4ca79f10164447a90fdce5c9ad6f9";

/// The connector protocol's commands, as env vars.
const ENV: [(&str, &str); 6] = [
    ("AIRBYTE_SPEC_CMD", "/airbyte/javabase.sh --spec"),
    ("AIRBYTE_CHECK_CMD", "/airbyte/javabase.sh --check"),
    ("AIRBYTE_DISCOVER_CMD", "/airbyte/javabase.sh --discover"),
    ("AIRBYTE_READ_CMD", "/airbyte/javabase.sh --read"),
    ("AIRBYTE_WRITE_CMD", "/airbyte/javabase.sh --write"),
    ("AIRBYTE_ENTRYPOINT", "/airbyte/base.sh"),
];

/// The files every version has: (path, where it comes from).
const FILES: [(&str, &str); 3] = [
    // Datadog's Java tracer; the facts do not pin a release, so its documented "latest" link.
    ("/airbyte/dd-java-agent.jar", "https://dtdg.co/latest-java-tracer"),
    ("/airbyte/base.sh", "airbyte-integrations/bases/base/base.sh"),
    (
        "/airbyte/javabase.sh",
        "airbyte-integrations/bases/base-java/javabase.sh",
    ),
];

/// The env vars, the working directory and the three files.
fn connector_env_and_files(r: Recipe) -> Recipe {
    let r = ENV
        .iter()
        .fold(r, |r, (name, value)| r.with_env_variable(*name, *value))
        .with_workdir("/airbyte");
    FILES.iter().fold(r, |r, (path, source)| {
        let url = if source.starts_with("https://") {
            (*source).to_owned()
        } else {
            format!("https://raw.githubusercontent.com/airbytehq/airbyte/{SCRIPTS_COMMIT}/{source}")
        };
        r.with_exec(["sh", "-c", &format!("curl -fsSL -o {path} {url} && chmod 755 {path}")])
    })
}

/// The yum steps of 1.0.0-rc.1 and rc.2, one call each.
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

/// The yum steps from 1.0.0-rc.4 on, in one layer; `extra` packages too.
fn yum_one_layer(r: Recipe, extra: &str) -> Recipe {
    r.with_exec([
        "sh",
        "-c",
        &format!(
            "set -o xtrace && yum update -y --security && yum install -y tar openssl findutils{extra} && yum clean all"
        ),
    ])
}

/// The first image.
#[base_image(
    family = "airbyte-java-connector-base",
    repository = "airbyte/java-connector-base",
    version = "1.0.0-rc.1",
    platforms = ["linux/amd64", "linux/arm64"],
    finish = metadata,
    changelog = "Initial release: Amazon Corretto 21 with the Airbyte entrypoint scripts."
)]
fn v1_0_0_rc_1() -> Recipe {
    connector_env_and_files(yum_two_layers(Recipe::from(ROOT_21)))
}

#[sanity_checks(V1_0_0_RC_1)]
fn v1_0_0_rc_1_checks(checks: Checks) -> Checks {
    let checks = ENV.iter().fold(metadata_checks(checks), |c, (name, value)| {
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
    parent.with_entrypoint(["/airbyte/base.sh"])
}

/// The yum calls in one layer.
#[base_image(version = "1.0.0-rc.4", parent = V1_0_0_RC_2, changelog = "Install the system packages in one layer.")]
fn v1_0_0_rc_4(_parent: Recipe) -> Recipe {
    connector_env_and_files(yum_one_layer(Recipe::from(ROOT_21), "")).with_entrypoint(["/airbyte/base.sh"])
}

/// The release of 1.0.0-rc.4.
#[base_image(version = "1.0.0", parent = V1_0_0_RC_4, changelog = "Release the Java connector base image.")]
fn v1_0_0(parent: Recipe) -> Recipe {
    parent
}

/// A non-root airbyte user.
#[base_image(version = "2.0.0-rc.1", parent = V1_0_0, changelog = "Add a non-root airbyte user.")]
fn v2_0_0_rc_1(_parent: Recipe) -> Recipe {
    let r = yum_one_layer(Recipe::from(ROOT_21), " /usr/sbin/adduser")
        .with_exec([
            "adduser",
            "--base-dir",
            "/airbyte",
            "--uid",
            "1000",
            "--user-group",
            "--system",
            "airbyte",
        ])
        .with_exec(["mkdir", "--mode", "755", "/airbyte", "/custom_cache"])
        .with_exec(["chown", "-R", "airbyte:airbyte", "/airbyte"]);
    connector_env_and_files(r).with_entrypoint(["/airbyte/base.sh"])
}

#[sanity_checks(V2_0_0_RC_1)]
fn v2_0_0_rc_1_checks(checks: Checks) -> Checks {
    checks.user_exists("airbyte-user", "airbyte", 1000, 1000)
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

/// Permissions for the airbyte user, in one layer, running as airbyte.
#[base_image(
    version = "2.0.0-rc.2",
    parent = V2_0_0_RC_1,
    changelog = "Give the airbyte user the directories connectors write to, and run as airbyte."
)]
fn v2_0_0_rc_2(parent: Recipe) -> Recipe {
    java_2_0_on(parent, ROOT_21)
}

/// The steps of the 2.0 line on `root` (the parent's are replaced).
fn java_2_0_on(_parent: Recipe, root: &str) -> Recipe {
    let setup = format!(
        "yum install -y shadow-utils tar openssl findutils && yum update -y --security && yum clean all \
         && rm -rf /var/cache/yum && groupadd --gid 1000 airbyte \
         && useradd --uid 1000 --gid airbyte --shell /bin/bash --create-home airbyte \
         && mkdir /secrets /config && mkdir --mode 755 /airbyte /custom_cache && chown -R airbyte:airbyte {}",
        AIRBYTE_DIRS.join(" ")
    );
    connector_env_and_files(Recipe::from(root).with_exec(["sh", "-c", setup.as_str()]))
        .with_user("airbyte")
        .with_entrypoint(["/airbyte/base.sh"])
}

#[sanity_checks(V2_0_0_RC_2)]
fn v2_0_0_rc_2_checks(checks: Checks) -> Checks {
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
