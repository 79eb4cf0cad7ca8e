//! `publish --audit SEVERITY`: the versions about to be pushed are judged
//! against advisories first, and one with a fixable finding at or above
//! the severity is refused.

use base_images::engine::builders::Builders;
use base_images::engine::docker::DockerEngine;
use base_images::publish::{self as publishing, Prepared, Publication, Target};
use base_images::BaseImage;

use crate::cli::PublishArgs;
use crate::{Error, Ui, Workspace};

/// `--audit`: the advisories, the exceptions and the severity that fails.
pub(super) struct Gate {
    database: base_images::advisory::Database,
    exceptions: base_images::audit::Exceptions,
    threshold: base_images::advisory::Severity,
}

impl Gate {
    /// The gate `args` ask for, if any; its advisories are read now.
    pub(super) fn of(workspace: &Workspace, args: &PublishArgs, ui: &Ui) -> Result<Option<Gate>, Error> {
        let Some(threshold) = args.audit.and_then(crate::cli::FailOn::threshold) else {
            return Ok(None);
        };
        let sources = args.advisories.sources();
        if sources.is_empty() {
            return Err(Error::Usage(
                "--audit needs advisories: pass --advisories PATH or set BASE_IMAGES_ADVISORIES".into(),
            ));
        }
        Ok(Some(Gate {
            database: crate::judge::load_advisories(&sources, ui)?,
            exceptions: base_images::audit::Exceptions::read(
                &workspace.root().join(base_images::audit::exceptions::FILE_NAME),
            )?,
            threshold,
        }))
    }

    /// The findings of `prepared`'s SBOMs (made now) that fail the gate.
    pub(super) async fn judge(
        &self,
        builders: &Builders<DockerEngine>,
        image: &BaseImage,
        prepared: &mut Prepared,
        publication: Publication<'_>,
        ui: &Ui,
    ) -> Result<Vec<String>, Error> {
        publishing::add_sboms(builders, image, prepared, publication, None).await?;
        let mut subjects = Vec::new();
        for sbom in &prepared.sboms {
            let from = format!("to attach, {}", sbom.subject);
            let subject = crate::judge::subject_of(image, &sbom.platform, from, &sbom.sbom.bytes, &self.database)?;
            for line in crate::judge::finding_lines(&subject) {
                ui.note(&format!("audit: {line}"));
            }
            subjects.push(subject);
        }
        Ok(crate::judge::gate(&subjects, &self.exceptions, self.threshold))
    }

    /// The error of a version the gate refuses.
    pub(super) fn refusal(&self, target: &Target, failing: &[String]) -> String {
        format!(
            "{}: not pushed: the audit gate (--audit {}) refuses it, {} finding(s) at or above {} have a fix:\n{}",
            target.address(),
            self.threshold,
            failing.len(),
            self.threshold,
            failing
                .iter()
                .map(|f| format!("  - {f}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}
