//! A family with an RPM database, for the SBOM's RPM path: the e2e root
//! with Debian's `rpm`, and a package built with `rpmbuild` and installed
//! into `/var/lib/rpm` (Debian's `rpm` keeps its own database in
//! `~/.rpmdb`; an RPM-based root such as Amazon Linux keeps it there).

use base_images::{base_image, sanity_checks, Checks, Recipe};

use crate::e2e::ROOT;

/// The spec of the package installed: `hello` 1.2.3-4, epoch 2, noarch.
const SPEC: &str = "Name: hello\nEpoch: 2\nVersion: 1.2.3\nRelease: 4\nSummary: An RPM for the SBOM test\nLicense: MIT\nBuildArch: noarch\n%description\nAn RPM for the SBOM test.\n%files\n";

/// The e2e root with `rpm` and one RPM package installed.
#[base_image(
    family = "e2e-rpm",
    version = "1.0.0",
    changelog = "The e2e root with an RPM database holding hello 2:1.2.3-4."
)]
fn v1_0_0() -> Recipe {
    Recipe::from(ROOT)
        .with_exec([
            "sh",
            "-c",
            "apt-get update && apt-get install -y --no-install-recommends rpm && rm -rf /var/lib/apt/lists/*",
        ])
        .with_new_file("/tmp/hello.spec", SPEC, 0o644)
        .with_exec([
            "sh",
            "-c",
            "rpmbuild --define '_topdir /tmp/rpmbuild' -bb /tmp/hello.spec \
             && rpm --dbpath /var/lib/rpm --initdb \
             && rpm --dbpath /var/lib/rpm -i --nodeps /tmp/rpmbuild/RPMS/noarch/hello-1.2.3-4.noarch.rpm \
             && rm -rf /tmp/rpmbuild /tmp/hello.spec",
        ])
}

#[sanity_checks(V1_0_0)]
fn v1_0_0_checks(checks: Checks) -> Checks {
    checks.output_contains(
        "hello-installed",
        ["rpm", "--dbpath", "/var/lib/rpm", "-q", "hello"],
        "hello-1.2.3-4.noarch",
    )
}
