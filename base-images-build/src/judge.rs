//! Judging audited images: the advisories loaded (and what was skipped
//! said), one image's SBOM audited into a [`Subject`], what could not be
//! judged said, `audit.toml`'s exceptions applied, and the gate: the open
//! findings at or above a severity that have a fix. `audit` prints and
//! reports it; `publish --audit` refuses on it; `verify` reports it.

use std::fmt::Write as _;
use std::path::PathBuf;

use base_images::advisory::{self, Database, Severity};
use base_images::audit::exceptions::{self, Verdict, FILE_NAME};
use base_images::audit::{self as auditing, Audited, Exceptions, Finding};
use base_images::{BaseImage, ImageKey};

use crate::{Error, Ui};

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

/// What was matched and what could not be judged, for one subject.
pub(crate) fn coverage(subject: &Subject) -> String {
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
        .map(|f| format!("{} {}", subject.name, f.describe()))
        .collect()
}

/// Every finding with what the exceptions say of it.
pub(crate) struct Judged<'a> {
    /// Each finding, its image and what the exceptions say of it.
    pub(crate) rows: Vec<(&'a Subject, &'a Finding, Verdict<'a>)>,
    /// A warning per expired exception that named a finding.
    pub(crate) expired: Vec<String>,
    /// The gate's severity (`None`: nothing fails).
    pub(crate) threshold: Option<Severity>,
    /// The images judged.
    pub(crate) subjects: &'a [Subject],
}

impl<'a> Judged<'a> {
    /// Applies `exceptions` to every finding of `subjects`.
    pub(crate) fn new(subjects: &'a [Subject], exceptions: &'a Exceptions, threshold: Option<Severity>) -> Judged<'a> {
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
    pub(crate) fn failing(&self) -> Vec<String> {
        let Some(threshold) = self.threshold else {
            return Vec::new();
        };
        self.rows
            .iter()
            .filter(|(_, f, v)| f.fails(threshold) && !matches!(v, Verdict::Accepted(_)))
            .map(|(s, f, _)| format!("{} {}", s.name, f.describe()))
            .collect()
    }

    /// The closing message, or the gate's error.
    pub(crate) fn verdict(&self, database: &Database) -> Result<String, Error> {
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
