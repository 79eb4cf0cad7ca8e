//! The code of a refresh release: the parent's steps rebased on the roots
//! that moved (the same tag at its new digest, per platform where the
//! family pins per platform) and a step per ecosystem that upgrades exactly
//! the packages whose findings have a fix, to at least that fix (`apt-get`
//! then `dpkg --compare-versions` for Debian, `pip install NAME>=FIX` for
//! PyPI, `dnf`/`yum` for RPM distributions). Its changelog line names the
//! new root digests (short) and the advisories fixed.

use std::collections::{BTreeMap, BTreeSet};

use base_images::advisory::Scheme;
use base_images::audit::Finding;
use base_images::outdated::RootCheck;
use base_images::{BaseImage, Recipe};
use semver::Version as Semver;

use crate::Error;

/// What a refresh release changes.
#[derive(Debug, Default)]
pub(super) struct Refresh {
    /// The builder call that sets the new roots, if any moved.
    root_call: Option<String>,
    /// The moved roots: platform (if pinned per platform), new digest.
    moved: Vec<(Option<String>, String)>,
    /// Each upgrade step's arguments.
    steps: Vec<Vec<String>>,
    /// The packages upgraded and the advisories that fixes.
    upgraded: BTreeSet<String>,
    fixed: BTreeSet<String>,
}

impl Refresh {
    /// The refresh of `recipe` for `roots` and the fixable `findings`;
    /// refused when a package name or version is one no package manager
    /// writes (it would be spliced into a shell command).
    pub(super) fn new(recipe: &Recipe, roots: &[RootCheck], findings: &[Finding]) -> Result<Refresh, Error> {
        if let Some((what, text)) = findings.iter().find_map(unsafe_text) {
            return Err(Error::Usage(format!(
                "the audit names the {what} {text:?}, which no package manager writes; \
                 nothing was written (is the SBOM or the advisory hostile?)"
            )));
        }
        let mut refresh = Refresh {
            moved: roots
                .iter()
                .filter_map(|c| c.refreshed_address().map(|_| (c.platform.clone(), now_digest(c))))
                .collect(),
            root_call: root_call(recipe, roots),
            ..Refresh::default()
        };
        refresh.add_upgrades(findings);
        Ok(refresh)
    }

    /// Whether nothing moved and nothing can be fixed.
    pub(super) fn is_empty(&self) -> bool {
        self.root_call.is_none() && self.steps.is_empty()
    }

    fn add_upgrades(&mut self, findings: &[Finding]) {
        let mut debian: BTreeMap<&str, (&Finding, String)> = BTreeMap::new();
        let mut pypi: BTreeMap<String, String> = BTreeMap::new();
        let mut rpm: BTreeSet<String> = BTreeSet::new();
        for finding in findings {
            let Some(fixed) = &finding.fixed else { continue };
            self.upgraded.insert(finding.package.clone());
            self.fixed.insert(finding.advisory.clone());
            match Scheme::of_ecosystem(&finding.ecosystem) {
                Some(Scheme::Debian) => {
                    keep_highest(&mut debian, &finding.package, (finding, fixed.clone()), Scheme::Debian)
                }
                Some(Scheme::Pep440) => {
                    let name = finding.installed_packages.first().unwrap_or(&finding.package).clone();
                    let entry = pypi.entry(name).or_insert_with(|| fixed.clone());
                    if Scheme::Pep440.compare(entry, fixed) == Some(std::cmp::Ordering::Less) {
                        *entry = fixed.clone();
                    }
                }
                Some(Scheme::Rpm) => rpm.extend(finding.installed_packages.iter().cloned()),
                _ => {}
            }
        }
        if !debian.is_empty() {
            self.steps.push(apt_step(&debian));
        }
        if !pypi.is_empty() {
            let mut step = vec!["pip".to_owned(), "install".to_owned()];
            step.extend(pypi.iter().map(|(name, fixed)| format!("{name}>={fixed}")));
            self.steps.push(step);
        }
        if !rpm.is_empty() {
            let names = rpm.into_iter().collect::<Vec<_>>().join(" ");
            self.steps.push(vec![
                "sh".into(),
                "-c".into(),
                format!("dnf -y upgrade {names} || yum -y update {names}"),
            ]);
        }
    }

    /// The changelog line: the new root digests (short) and the advisories fixed.
    pub(super) fn changelog(&self) -> String {
        let mut parts = Vec::new();
        match self.moved.as_slice() {
            [] => {}
            [(None, digest)] => parts.push(format!("Rebase on the root's new digest {}", short(digest))),
            moved => {
                let each: Vec<String> = moved
                    .iter()
                    .map(|(p, d)| format!("{} {}", p.as_deref().unwrap_or("all"), short(d)))
                    .collect();
                parts.push(format!("Rebase on the roots' new digests ({})", each.join(", ")));
            }
        }
        if !self.fixed.is_empty() {
            let upgraded: Vec<&str> = self.upgraded.iter().map(String::as_str).collect();
            let fixed: Vec<&str> = self.fixed.iter().map(String::as_str).collect();
            let verb = if parts.is_empty() { "Upgrade" } else { "upgrade" };
            parts.push(format!("{verb} {} to fix {}", upgraded.join(", "), fixed.join(", ")));
        }
        format!("{}.", parts.join("; "))
    }

    /// The new version's code: its function and its (inherited) checks.
    pub(super) fn code(&self, version: &Semver, parent: &BaseImage, changelog: &str) -> String {
        let mut steps = String::new();
        if let Some(call) = &self.root_call {
            steps.push_str(&format!("\n        {call}"));
        }
        for step in &self.steps {
            let args: Vec<String> = step.iter().map(|a| format!("{a:?}")).collect();
            steps.push_str(&format!("\n        .with_exec([{}])", args.join(", ")));
        }
        super::code::version_code(version, parent, changelog, &steps, |parent_static| {
            format!("{parent_static}'s checks are inherited and run on the refreshed image")
        })
    }
}

/// The first name or version of `finding` with a character package
/// managers never use in one (`[A-Za-z0-9.+~:_@-]` only), if any.
fn unsafe_text(finding: &Finding) -> Option<(&'static str, &str)> {
    let safe = |text: &str| {
        !text.is_empty()
            && !text.starts_with('-')
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~' | ':' | '_' | '@' | '-'))
    };
    let names = std::iter::once(finding.package.as_str()).chain(finding.installed_packages.iter().map(String::as_str));
    if let Some(name) = names.into_iter().find(|n| !safe(n)) {
        return Some(("package name", name));
    }
    finding
        .fixed
        .as_deref()
        .filter(|f| !safe(f))
        .map(|f| ("fixed version", f))
}

/// Keeps, per source package, the finding with the highest fix.
fn keep_highest<'a>(
    map: &mut BTreeMap<&'a str, (&'a Finding, String)>,
    package: &'a str,
    candidate: (&'a Finding, String),
    scheme: Scheme,
) {
    match map.get(package) {
        Some((_, fixed)) if scheme.compare(fixed, &candidate.1) != Some(std::cmp::Ordering::Less) => {}
        _ => {
            map.insert(package, candidate);
        }
    }
}

/// `apt-get` upgrading every binary package of the fixable source
/// packages, then `dpkg --compare-versions` proving each source reached its
/// fix (the step fails when the mirror does not have it yet).
fn apt_step(debian: &BTreeMap<&str, (&Finding, String)>) -> Vec<String> {
    let binaries: BTreeSet<&str> = debian
        .values()
        .flat_map(|(f, _)| f.installed_packages.iter().map(String::as_str))
        .collect();
    let mut script = format!(
        "apt-get update && apt-get install -y --no-install-recommends --only-upgrade {} && rm -rf /var/lib/apt/lists/*",
        binaries.into_iter().collect::<Vec<_>>().join(" ")
    );
    for (finding, fixed) in debian.values() {
        let binary = finding.installed_packages.first().unwrap_or(&finding.package);
        script.push_str(&format!(
            " && dpkg --compare-versions \"$(dpkg-query -W -f='${{source:Version}}' {binary})\" ge '{fixed}'"
        ));
    }
    vec!["sh".into(), "-c".into(), script]
}

/// The digest a moved root is rebased on.
fn now_digest(check: &RootCheck) -> String {
    match &check.state {
        base_images::outdated::State::Moved { now } => now.clone(),
        _ => String::new(),
    }
}

/// `.with_root("…")` or `.with_platform_roots([…])` for the moved roots.
fn root_call(recipe: &Recipe, roots: &[RootCheck]) -> Option<String> {
    roots.iter().find_map(RootCheck::refreshed_address)?;
    let per_platform = recipe.root_addresses().iter().any(|(p, _)| p.is_some());
    if !per_platform {
        return roots
            .first()
            .and_then(RootCheck::refreshed_address)
            .map(|a| format!(".with_root({a:?})"));
    }
    let pairs: Vec<String> = roots
        .iter()
        .map(|c| {
            let address = c.refreshed_address().unwrap_or_else(|| c.address.clone());
            format!("({:?}, {address:?})", c.platform.as_deref().unwrap_or_default())
        })
        .collect();
    Some(format!(".with_platform_roots([{}])", pairs.join(", ")))
}

/// `sha256:` and the first 12 hex digits.
fn short(digest: &str) -> String {
    digest.chars().take("sha256:".len() + 12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base_images::advisory::Rating;
    use base_images::outdated::State;

    fn finding(ecosystem: &str, package: &str, binaries: &[&str], advisory: &str, fixed: &str) -> Finding {
        Finding {
            ecosystem: ecosystem.into(),
            package: package.into(),
            installed_packages: binaries.iter().map(|b| (*b).to_owned()).collect(),
            installed: "1".into(),
            advisory: advisory.into(),
            aliases: Vec::new(),
            rating: Rating::default(),
            fixed: Some(fixed.into()),
            summary: None,
        }
    }

    fn moved(platform: Option<&str>, address: &str, now: char) -> RootCheck {
        let (tag_address, pinned) = address.split_once('@').unwrap_or((address, ""));
        RootCheck {
            platform: platform.map(str::to_owned),
            address: address.into(),
            tag_address: tag_address.into(),
            pinned: Some(pinned.into()),
            state: State::Moved {
                now: format!("sha256:{}", now.to_string().repeat(64)),
            },
        }
    }

    #[test]
    fn a_moved_root_and_fixable_findings_become_steps_and_a_changelog_line() {
        let old = format!("127.0.0.1:5000/root:1@sha256:{}", "a".repeat(64));
        let recipe = Recipe::from(old.clone());
        let findings = [
            finding("Debian:12", "glibc", &["libc-bin", "libc6"], "CVE-1", "2.36-9+deb12u7"),
            finding("Debian:12", "glibc", &["libc-bin", "libc6"], "CVE-2", "2.36-9+deb12u8"),
            finding("PyPI", "six", &["six"], "GHSA-x", "1.17.0"),
        ];
        let refresh = Refresh::new(&recipe, &[moved(None, &old, 'b')], &findings).expect("a refresh");
        assert_eq!(
            refresh.changelog(),
            "Rebase on the root's new digest sha256:bbbbbbbbbbbb; upgrade glibc, six to fix CVE-1, CVE-2, GHSA-x."
        );
        assert_eq!(
            refresh.root_call.as_deref(),
            Some(format!(".with_root(\"127.0.0.1:5000/root:1@sha256:{}\")", "b".repeat(64)).as_str())
        );
        assert_eq!(refresh.steps.len(), 2);
        assert_eq!(
            refresh.steps[0][2],
            "apt-get update && apt-get install -y --no-install-recommends --only-upgrade libc-bin libc6 && rm -rf /var/lib/apt/lists/* \
             && dpkg --compare-versions \"$(dpkg-query -W -f='${source:Version}' libc-bin)\" ge '2.36-9+deb12u8'"
        );
        assert_eq!(refresh.steps[1], ["pip", "install", "six>=1.17.0"]);
    }

    #[test]
    fn a_family_pinned_per_platform_is_rebased_per_platform() {
        let amd = format!("r:1@sha256:{}", "a".repeat(64));
        let arm = format!("r:1@sha256:{}", "c".repeat(64));
        let recipe = Recipe::from_platforms([("linux/amd64", amd.clone()), ("linux/arm64", arm.clone())]);
        let mut current = moved(Some("linux/arm64"), &arm, 'c');
        current.state = State::Current;
        let refresh = Refresh::new(&recipe, &[moved(Some("linux/amd64"), &amd, 'b'), current], &[]).expect("a refresh");
        let call = refresh.root_call.clone().unwrap_or_default();
        assert!(
            call.starts_with(".with_platform_roots([(\"linux/amd64\", \"r:1@sha256:bbbb"),
            "{call}"
        );
        assert!(call.contains(&format!("(\"linux/arm64\", \"{arm}\")")), "{call}");
        assert_eq!(
            refresh.changelog(),
            "Rebase on the roots' new digests (linux/amd64 sha256:bbbbbbbbbbbb)."
        );
        assert!(Refresh::new(&recipe, &[], &[]).is_ok_and(|r| r.is_empty()));
    }

    #[test]
    fn the_code_written_is_rust_for_every_kind_of_step() {
        let amd = format!("r:1@sha256:{}", "a".repeat(64));
        let recipe = Recipe::from_platforms([("linux/amd64", amd.clone())]);
        let findings = [
            finding("Debian:12", "glibc", &["libc6"], "CVE-1", "2.36-9+deb12u7"),
            finding("PyPI", "six", &["six"], "GHSA-x", "1.17.0"),
            finding("AlmaLinux:9", "bash", &["bash"], "ALSA-1", "5.1.8-9.el9"),
        ];
        let refresh = Refresh::new(&recipe, &[moved(Some("linux/amd64"), &amd, 'b')], &findings).expect("a refresh");
        let parent = base_images::registry::versions_of("airbyte-python-connector-base")[0];
        let version = Semver::new(9, 9, 9);
        let code = refresh.code(&version, parent, "Quotes \" and \\ survive.");
        let file = syn::parse_file(&code).unwrap_or_else(|e| panic!("{e}: {code}"));
        assert_eq!(file.items.len(), 2, "{code}");
        assert!(
            code.contains(".with_platform_roots([(\"linux/amd64\", \"r:1@sha256:bbbb"),
            "{code}"
        );
        assert!(code.contains("dnf -y upgrade bash || yum -y update bash"), "{code}");
        assert!(code.contains("changelog = \"Quotes \\\" and \\\\ survive.\""), "{code}");
    }

    #[test]
    fn a_name_or_version_a_shell_would_read_is_refused() {
        let recipe = Recipe::from("r:1");
        for (name, fixed) in [("libc6; rm -rf /", "2.0"), ("six", "1.0'$(id)'"), ("--force", "1.0")] {
            let hostile = finding("Debian:12", "glibc", &[name], "CVE-1", fixed);
            let error = Refresh::new(&recipe, &[], &[hostile])
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert!(
                error
                    .as_ref()
                    .is_err_and(|e| e.contains("which no package manager writes")),
                "{name} {fixed}: {error:?}"
            );
        }
        let fine = finding(
            "Debian:12",
            "glibc",
            &["libc6", "libstdc++6"],
            "CVE-1",
            "1:2.36-9+deb12u7~bpo1",
        );
        assert!(Refresh::new(&recipe, &[], &[fine]).is_ok());
    }
}
