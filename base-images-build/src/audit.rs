//! `audit [SELECTOR...] [--sbom FILE...]`: each selected version's SBOM per
//! platform (read from the registry when the version is published, no
//! engine needed; else built on the local engine), or SPDX files any tool
//! wrote, matched against OSV advisories; a table of findings, what could
//! not be judged, `audit.toml`'s exceptions applied, JSON and SARIF
//! reports, and exit 1 when a finding at or above `--fail-on` has a fix.
//! `publish --audit` gates on the same judgement.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base_images::advisory::{self, Database, Severity};
use base_images::audit::exceptions::{self, Verdict, FILE_NAME};
use base_images::audit::{self as auditing, sarif, Audited, Exceptions, Finding};
use base_images::engine::docker::DockerEngine;
use base_images::engine::pipeline::interruptible;
use base_images::publish::attached::{attached_sboms, MAX_SBOM_BYTES};
use base_images::publish::auth;
use base_images::publish::remote::Remote;
use base_images::publish::Target;
use base_images::{BaseImage, ImageKey};

use crate::cli::AuditArgs;
use crate::{Error, Ui, Workspace};

/// One audited image, or SBOM file.
pub(crate) struct Subject {
    /// `family:version [platform]`, or the file.
    pub(crate) name: String,
    /// The version, when it is one.
    pub(crate) version: Option<ImageKey>,
    /// Where its SBOM came from.
    pub(crate) from: String,
    /// The file a finding points at, and its line.
    pub(crate) at: (String, Option<u32>),
    /// What the audit found.
    pub(crate) audited: Audited,
}

/// Where a report goes.
enum ReportSpec {
    Json(PathBuf),
    Sarif(PathBuf),
}

/// Runs `audit`; returns the closing message.
pub(crate) async fn audit(workspace: &Workspace, args: &AuditArgs, ui: &Ui) -> Result<String, Error> {
    let reports = report_specs(&args.report)?;
    let database = load_advisories(&args.advisories.paths, ui)?;
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
        audit_versions(workspace, &images, &database, args.registry_override.as_deref(), ui).await?
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

/// Loads the advisories and says what was read and skipped.
pub(crate) fn load_advisories(paths: &[PathBuf], ui: &Ui) -> Result<Database, Error> {
    let database = advisory::load(paths)?;
    ui.note(&format!(
        "advisories: {} record(s) from {} file(s) ({} withdrawn, {} skipped)",
        database.len(),
        database.files,
        database.withdrawn,
        database.skipped.len()
    ));
    const SHOWN: usize = 20;
    for skipped in database.skipped.iter().take(SHOWN) {
        ui.note(&format!("  skipped {}: {}", skipped.file, skipped.why));
    }
    if database.skipped.len() > SHOWN {
        ui.note(&format!("  … and {} more skipped", database.skipped.len() - SHOWN));
    }
    Ok(database)
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
/// exception accepts, once each.
pub(crate) async fn fixable(
    workspace: &Workspace,
    image: &'static BaseImage,
    paths: &[PathBuf],
    ui: &Ui,
) -> Result<Vec<Finding>, Error> {
    let database = load_advisories(paths, ui)?;
    let exceptions = Exceptions::read(&workspace.root().join(FILE_NAME))?;
    let subjects = audit_versions(workspace, &[image], &database, None, ui).await?;
    let today = exceptions::today();
    let mut found: Vec<Finding> = Vec::new();
    for subject in &subjects {
        ui.note(&coverage(subject));
        for finding in &subject.audited.findings {
            let accepted = matches!(
                exceptions.verdict(finding, subject.version.as_ref(), &today),
                Verdict::Accepted(_)
            );
            let seen = found
                .iter()
                .any(|f| f.package == finding.package && f.advisory == finding.advisory);
            if finding.fixed.is_some() && !accepted && !seen {
                found.push(finding.clone());
            }
        }
    }
    Ok(found)
}

/// Audits each platform of each of `images`.
async fn audit_versions(
    workspace: &Workspace,
    images: &[&'static BaseImage],
    database: &Database,
    registry_override: Option<&str>,
    ui: &Ui,
) -> Result<Vec<Subject>, Error> {
    let lock = workspace.lock()?;
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
                local_sboms(workspace, engine, image, ui).await?
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
    let (credentials, source) = auth::credentials(&target.registry).map_err(crate::publish::library)?;
    let remote = Remote::new(&target.registry, credentials, source);
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
    ui: &Ui,
) -> Result<Vec<(String, String, Vec<u8>)>, Error> {
    let mut found = Vec::new();
    for platform in image.platforms() {
        let work = crate::sbom::local_sbom(workspace, engine, image, platform, ui);
        let interrupt = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let document = interruptible(engine, work, interrupt).await??;
        found.push(((*platform).to_owned(), "built on the local engine".to_owned(), document));
    }
    Ok(found)
}

/// The audit of `image` on `platform` from its SBOM `document`.
pub(crate) fn subject_of(
    image: &BaseImage,
    platform: &str,
    from: String,
    document: &[u8],
    database: &Database,
) -> Result<Subject, Error> {
    let name = format!("{} [{platform}]", image.key());
    let components = auditing::from_spdx(document).map_err(|why| Error::Usage(format!("the SBOM of {name} {why}")))?;
    let location = image.location();
    Ok(Subject {
        name,
        version: Some(image.key()),
        from,
        at: (location.file.to_owned(), Some(location.line)),
        audited: auditing::audit(&components, database),
    })
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
    let io = |source| {
        Error::Library(base_images::Error::Io {
            path: file.to_owned(),
            source,
        })
    };
    let size = std::fs::metadata(file).map_err(io)?.len();
    if size > MAX_SBOM_BYTES {
        return Err(Error::Usage(format!(
            "--sbom {}: {size} bytes, more than an SBOM may have ({MAX_SBOM_BYTES})",
            file.display()
        )));
    }
    std::fs::read(file).map_err(io)
}

/// What was matched and what could not be judged, for one subject.
fn coverage(subject: &Subject) -> String {
    let audited = &subject.audited;
    let matched: Vec<String> = audited.matched.iter().map(|(e, n)| format!("{n} in {e}")).collect();
    let mut line = format!(
        "{} (SBOM {}): packages matched: {}",
        subject.name,
        subject.from,
        if matched.is_empty() {
            "none".to_owned()
        } else {
            matched.join(", ")
        }
    );
    for (ecosystem, n) in &audited.uncovered {
        let _ = write!(
            line,
            "; {n} package(s) in {ecosystem} not judged: no advisory given covers {ecosystem}"
        );
    }
    for (kind, n) in &audited.other {
        let _ = write!(line, "; {n} {kind} package(s) no advisory speaks of");
    }
    if !audited.owned.is_empty() {
        let owned: Vec<String> = audited.owned.iter().map(|(d, o)| format!("{d} as {o}")).collect();
        let _ = write!(
            line,
            "; {} Python distribution(s) judged as the system package that installed them ({})",
            owned.len(),
            owned.join(", ")
        );
    }
    line
}

/// The gate's judgement of `subjects`: each open finding at or above
/// `threshold` that has a fix, one line each.
pub(crate) fn gate(subjects: &[Subject], exceptions: &Exceptions, threshold: Severity) -> Vec<String> {
    Judged::new(subjects, exceptions, Some(threshold)).failing()
}

/// One line per finding of `subject`: what, how bad, fixed in.
pub(crate) fn finding_lines(subject: &Subject) -> Vec<String> {
    subject
        .audited
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {}: {} ({}), {}",
                subject.name,
                f.package_label(),
                f.installed,
                f.ids().collect::<Vec<_>>().join(", "),
                f.rating.describe(),
                f.fixed
                    .as_deref()
                    .map_or_else(|| "no fix known".to_owned(), |x| format!("fixed in {x}"))
            )
        })
        .collect()
}

/// Every finding with what the exceptions say of it.
struct Judged<'a> {
    rows: Vec<(&'a Subject, &'a Finding, Verdict<'a>)>,
    expired: Vec<String>,
    threshold: Option<Severity>,
    subjects: &'a [Subject],
}

impl<'a> Judged<'a> {
    fn new(subjects: &'a [Subject], exceptions: &'a Exceptions, threshold: Option<Severity>) -> Judged<'a> {
        let today = exceptions::today();
        let mut expired = Vec::new();
        let mut rows = Vec::new();
        for subject in subjects {
            for finding in &subject.audited.findings {
                let verdict = exceptions.verdict(finding, subject.version.as_ref(), &today);
                if let Verdict::Expired(e) = verdict {
                    expired.push(format!(
                        "warning: the exception for {} in {} expired on {} ({}); it no longer applies to {}",
                        e.advisory,
                        exceptions.path.display(),
                        e.expires,
                        e.reason,
                        subject.name
                    ));
                }
                rows.push((subject, finding, verdict));
            }
        }
        Judged {
            rows,
            expired,
            threshold,
            subjects,
        }
    }

    /// The open findings that fail the gate.
    fn failing(&self) -> Vec<String> {
        let Some(threshold) = self.threshold else {
            return Vec::new();
        };
        self.rows
            .iter()
            .filter(|(_, f, v)| f.fails(threshold) && !matches!(v, Verdict::Accepted(_)))
            .map(|(s, f, _)| {
                format!(
                    "{} {} {}: {} ({}), fixed in {}",
                    s.name,
                    f.package_label(),
                    f.installed,
                    f.ids().collect::<Vec<_>>().join(", "),
                    f.rating.describe(),
                    f.fixed.as_deref().unwrap_or("?")
                )
            })
            .collect()
    }

    /// The closing message, or the gate's error.
    fn verdict(&self, database: &Database) -> Result<String, Error> {
        let failing = self.failing();
        let accepted = self
            .rows
            .iter()
            .filter(|(_, _, v)| matches!(v, Verdict::Accepted(_)))
            .count();
        let gate = self.threshold.map_or("none".to_owned(), |t| t.to_string());
        if !failing.is_empty() {
            return Err(Error::Audit {
                threshold: gate,
                findings: failing,
            });
        }
        Ok(format!(
            "audited {} image(s) against {} advisory record(s): {} finding(s), none with a fix at or above {gate}{}",
            self.subjects.len(),
            database.len(),
            self.rows.len(),
            if accepted > 0 {
                format!(" ({accepted} accepted by {FILE_NAME})")
            } else {
                String::new()
            }
        ))
    }
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
        "advisories": {"paths": args.advisories.paths, "records": database.len(), "files": database.files,
                       "withdrawn": database.withdrawn, "skipped": skipped},
        "images": images,
        "failing": judged.failing(),
    });
    let mut bytes = serde_json::to_vec_pretty(&report).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
