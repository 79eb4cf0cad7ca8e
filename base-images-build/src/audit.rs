//! `audit [SELECTOR...] [--sbom FILE...]`: each selected version's SBOM per
//! platform (read from the registry when the version is published, no
//! engine needed; else built on the local engine), or SPDX files any tool
//! wrote, matched against OSV advisories; a table of findings, what could
//! not be judged, `audit.toml`'s exceptions applied, JSON and SARIF
//! reports, and exit 1 when a finding at or above `--fail-on` has a fix.
//! `publish --audit` gates on the same judgement.

use std::path::{Path, PathBuf};

use base_images::advisory::{Database, Severity};
use base_images::audit::exceptions::{self, Verdict, FILE_NAME};
use base_images::audit::{self as auditing, sarif, Exceptions, Finding};
use base_images::engine::docker::DockerEngine;
use base_images::engine::pipeline::interruptible;
use base_images::engine::Engine as _;
use base_images::fetch::Fetcher;
use base_images::publish::attached::{attached_sboms, MAX_SBOM_BYTES};
use base_images::publish::auth;
use base_images::publish::Target;
use base_images::BaseImage;

use crate::cli::AuditArgs;
use crate::judge::{coverage, load_advisories, subject_of, Judged, Subject};
use crate::{Error, Ui, Workspace};

/// Where a report goes.
enum ReportSpec {
    Json(PathBuf),
    Sarif(PathBuf),
}

/// Runs `audit`; returns the closing message.
pub(crate) async fn audit(workspace: &Workspace, args: &AuditArgs, ui: &Ui) -> Result<String, Error> {
    let reports = report_specs(&args.report)?;
    let database = load_advisories(&args.advisories.sources(), ui)?;
    let exceptions = Exceptions::read(&workspace.root().join(FILE_NAME))?;
    if let Some(host) = &args.registry_override {
        crate::publish::check_host(host)?;
    }
    let subjects = if args.sbom.is_empty() {
        let lock = workspace.lock()?;
        let images = if args.selectors.is_empty() {
            crate::select::latest_released(&lock)?
        } else {
            crate::select::select(&args.selectors)?
        };
        let target = args.registry_override.as_deref();
        let fetcher = args.fetch.fetcher();
        audit_versions(workspace, &lock, &images, &database, target, &fetcher, ui).await?
    } else {
        audit_files(&args.sbom, &database)?
    };
    let judged = Judged::new(&subjects, &exceptions, args.fail_on.threshold());
    for subject in &subjects {
        ui.note(&coverage(subject));
    }
    for note in subjects.iter().flat_map(|s| &s.audited.notes) {
        ui.note(&format!("note: {note}"));
    }
    for line in &judged.expired {
        ui.note(line);
    }
    ui.summary(&table(&judged));
    for spec in &reports {
        write_report(spec, &judged, &database, args)?;
    }
    judged.verdict(&database)
}

fn report_specs(specs: &[String]) -> Result<Vec<ReportSpec>, Error> {
    Ok(crate::report::requests(specs, &["json", "sarif"])?
        .into_iter()
        .map(|(kind, path)| match kind {
            "json" => ReportSpec::Json(path),
            _ => ReportSpec::Sarif(path),
        })
        .collect())
}

/// The findings of `image` (every platform) that have a fix and no
/// exception accepts, once each (its SBOMs as `audit` finds them; a local
/// build fetches through `fetcher`).
pub(crate) async fn fixable(
    workspace: &Workspace,
    image: &'static BaseImage,
    paths: &[PathBuf],
    fetcher: &Fetcher,
    ui: &Ui,
) -> Result<Vec<Finding>, Error> {
    let database = load_advisories(paths, ui)?;
    let exceptions = Exceptions::read(&workspace.root().join(FILE_NAME))?;
    let lock = workspace.lock()?;
    let subjects = audit_versions(workspace, &lock, &[image], &database, None, fetcher, ui).await?;
    let today = exceptions::today();
    let mut found: Vec<Finding> = Vec::new();
    for subject in &subjects {
        ui.note(&coverage(subject));
        for finding in &subject.audited.findings {
            let accepted = matches!(
                exceptions.verdict(finding, subject.version.as_ref(), &today),
                Verdict::Accepted(_)
            );
            if finding.fixed.is_none() || accepted {
                continue;
            }
            // The same finding on another platform: its binaries too, the higher fix.
            match found
                .iter_mut()
                .find(|f| f.package == finding.package && f.advisory == finding.advisory)
            {
                Some(seen) => merge(seen, finding),
                None => found.push(finding.clone()),
            }
        }
    }
    Ok(found)
}

/// Folds `other` (the same finding on another platform) into `seen`.
fn merge(seen: &mut Finding, other: &Finding) {
    for package in &other.installed_packages {
        if !seen.installed_packages.contains(package) {
            seen.installed_packages.push(package.clone());
        }
    }
    let scheme = base_images::advisory::Scheme::of_ecosystem(&seen.ecosystem);
    if let (Some(scheme), Some(a), Some(b)) = (scheme, &seen.fixed, &other.fixed) {
        if scheme.compare(a, b) == Some(std::cmp::Ordering::Less) {
            seen.fixed = Some(b.clone());
        }
    }
}

/// Audits each platform of each of `images`: the SBOMs published for it
/// (in its registry, or `registry_override`), else those of a build on the
/// local engine fetching through `fetcher`.
async fn audit_versions(
    workspace: &Workspace,
    lock: &base_images::Lock,
    images: &[&'static BaseImage],
    database: &Database,
    registry_override: Option<&str>,
    fetcher: &Fetcher,
    ui: &Ui,
) -> Result<Vec<Subject>, Error> {
    let mut engine: Option<DockerEngine> = None;
    let mut subjects = Vec::new();
    for image in images {
        let published = lock.get(&image.key()).and_then(|e| e.published.as_ref());
        let target = Target::of(image, registry_override)?;
        let documents = match (published, target) {
            (Some(published), Some(target)) => published_sboms(&target, &published.index).await?,
            _ => {
                if engine.is_none() {
                    engine = Some(DockerEngine::connect().await?);
                }
                let engine = engine.as_ref().ok_or_else(|| Error::Usage("no engine".into()))?;
                local_sboms(workspace, engine, image, fetcher, ui).await?
            }
        };
        for (platform, from, document) in documents {
            subjects.push(subject_of(image, &platform, from, &document, database)?);
        }
    }
    Ok(subjects)
}

/// The SBOMs attached to the published index `index` at `target`.
pub(crate) async fn published_sboms(target: &Target, index: &str) -> Result<Vec<(String, String, Vec<u8>)>, Error> {
    let remote = auth::remote(&target.registry).map_err(crate::publish::library)?;
    let attached = attached_sboms(&remote, &target.repository, index)
        .await
        .map_err(crate::publish::library)?;
    Ok(attached
        .into_iter()
        .map(|a| {
            let from = format!("published, {}@{}", target.repository_address(), a.manifest);
            (a.platform, from, a.document)
        })
        .collect())
}

/// The SBOM of each platform of `image`, built on the local engine.
pub(crate) async fn local_sboms(
    workspace: &Workspace,
    engine: &DockerEngine,
    image: &BaseImage,
    fetcher: &Fetcher,
    ui: &Ui,
) -> Result<Vec<(String, String, Vec<u8>)>, Error> {
    let mut found = Vec::new();
    for platform in image.platforms() {
        let work = crate::sbom::local_sbom(workspace, engine, image, platform, fetcher, ui);
        let interrupt = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let document = interruptible(engine.cleanup(), work, interrupt).await??;
        found.push(((*platform).to_owned(), "built on the local engine".to_owned(), document));
    }
    Ok(found)
}

/// Audits SPDX files.
fn audit_files(files: &[PathBuf], database: &Database) -> Result<Vec<Subject>, Error> {
    files
        .iter()
        .map(|file| {
            let bytes = read_sbom(file)?;
            let components =
                auditing::from_spdx(&bytes).map_err(|why| Error::Usage(format!("--sbom {}: {why}", file.display())))?;
            Ok(Subject {
                name: file.display().to_string(),
                version: None,
                from: "file".into(),
                at: (file.display().to_string(), None),
                audited: auditing::audit(&components, database),
            })
        })
        .collect()
}

fn read_sbom(file: &Path) -> Result<Vec<u8>, Error> {
    Ok(base_images::fsio::read_at_most(file, MAX_SBOM_BYTES)?)
}

/// The findings table.
fn table(judged: &Judged<'_>) -> String {
    let mut rows = vec![[
        "IMAGE".to_owned(),
        "PACKAGE".into(),
        "INSTALLED".into(),
        "ADVISORY".into(),
        "SEVERITY".into(),
        "FIXED IN".into(),
        "STATUS".into(),
    ]];
    for (subject, finding, verdict) in &judged.rows {
        let advisory = match finding.aliases.as_slice() {
            [] => finding.advisory.clone(),
            aliases => format!("{} ({})", finding.advisory, aliases.join(", ")),
        };
        let status = match verdict {
            Verdict::Accepted(e) => format!("accepted until {}", e.expires),
            Verdict::Expired(e) => format!("exception expired {}", e.expires),
            Verdict::Open if judged.threshold.is_some_and(|t| finding.fails(t)) => "FAIL".into(),
            Verdict::Open => String::new(),
        };
        rows.push([
            subject.name.clone(),
            finding.package_label(),
            finding.installed.clone(),
            advisory,
            finding.rating.describe(),
            finding.fixed.clone().unwrap_or_else(|| "-".into()),
            status,
        ]);
    }
    if rows.len() == 1 {
        return "no finding".to_owned();
    }
    crate::report::aligned(&rows)
}

fn write_report(spec: &ReportSpec, judged: &Judged<'_>, database: &Database, args: &AuditArgs) -> Result<(), Error> {
    let (path, bytes) = match spec {
        ReportSpec::Json(path) => (path, json(judged, database, args)),
        ReportSpec::Sarif(path) => {
            let subjects: Vec<sarif::Subject<'_>> = judged
                .subjects
                .iter()
                .map(|s| sarif::Subject {
                    name: s.name.clone(),
                    uri: s.at.0.clone(),
                    line: s.at.1,
                    findings: judged
                        .rows
                        .iter()
                        .filter(|(of, _, _)| std::ptr::eq(*of, s))
                        .map(|(_, f, v)| (*f, accepted_reason(v)))
                        .collect(),
                })
                .collect();
            let log = sarif::report(&subjects, judged.threshold.unwrap_or(Severity::Critical));
            (path, serde_json::to_vec_pretty(&log).unwrap_or_default())
        }
    };
    base_images::fsio::write_atomic(path, &bytes)?;
    Ok(())
}

fn accepted_reason(verdict: &Verdict<'_>) -> Option<String> {
    match verdict {
        Verdict::Accepted(e) => Some(format!("{} (until {})", e.reason, e.expires)),
        _ => None,
    }
}

fn json(judged: &Judged<'_>, database: &Database, args: &AuditArgs) -> Vec<u8> {
    let images: Vec<serde_json::Value> = judged
        .subjects
        .iter()
        .map(|s| {
            let findings: Vec<serde_json::Value> = judged
                .rows
                .iter()
                .filter(|(of, _, _)| std::ptr::eq(*of, s))
                .map(|(_, f, v)| {
                    serde_json::json!({
                        "ecosystem": f.ecosystem, "package": f.package, "installed_packages": f.installed_packages,
                        "installed": f.installed, "advisory": f.advisory, "aliases": f.aliases,
                        "severity": f.rating.severity.as_str(), "score": f.rating.score, "fixed": f.fixed,
                        "summary": f.summary,
                        "status": match v { Verdict::Open => "open", Verdict::Accepted(_) => "accepted", Verdict::Expired(_) => "expired" },
                        "reason": accepted_reason(v),
                        "fails": judged.threshold.is_some_and(|t| f.fails(t)) && !matches!(v, Verdict::Accepted(_)),
                    })
                })
                .collect();
            serde_json::json!({
                "image": s.name, "version": s.version.as_ref().map(ToString::to_string), "sbom": s.from,
                "matched": s.audited.matched, "not_covered": s.audited.uncovered, "other": s.audited.other,
                "judged_as_system_package": s.audited.owned, "notes": s.audited.notes, "findings": findings,
            })
        })
        .collect();
    let skipped: Vec<serde_json::Value> = database
        .skipped
        .iter()
        .map(|s| serde_json::json!({"file": s.file, "why": s.why}))
        .collect();
    let report = serde_json::json!({
        "fail_on": judged.threshold.map(Severity::as_str).unwrap_or("none"),
        "advisories": {"paths": args.advisories.sources(), "records": database.len(), "files": database.files,
                       "withdrawn": database.withdrawn, "skipped": skipped},
        "images": images,
        "failing": judged.failing(),
    });
    let mut bytes = serde_json::to_vec_pretty(&report).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
