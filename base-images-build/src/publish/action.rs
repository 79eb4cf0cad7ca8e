//! What `publish` decides for one version in one repository before
//! anything is pushed: push, skip, copy from a recorded repository, or
//! refuse (the tag points at other content, the version would get a second
//! digest, or the audit gate fails it), and the summary row each decision
//! ends as.

use std::time::Instant;

use base_images::lock::Published;
use base_images::publish::{Prepared, PublishError, Target};
use base_images::BaseImage;

use crate::{report, Error};

/// What to do with one version in one repository, decided before anything
/// is pushed.
pub(super) enum Action {
    /// The tag does not exist: push.
    Push,
    /// The tag already points at this index.
    Skip,
    /// The tag does not exist and the version is recorded as published:
    /// copy it from this repository (`registry/path`), which holds it.
    Copy(String),
    /// Refused, and why (the tag points at other content, or the version
    /// would get a second digest).
    Refuse(String),
    /// The audit gate refuses it: the findings that fail it.
    Gated(Vec<String>),
}

impl Action {
    /// The action for a version this run prepared as the index `ours`,
    /// whose tag in `target` resolved to `resolved`: push, skip, or refuse;
    /// `wanted` is the index versions.lock records (else `ours`), `unread`
    /// the recorded repositories that could not be read.
    pub(super) fn of(
        target: &Target,
        resolved: Option<String>,
        wanted: &str,
        ours: &str,
        unread: Vec<String>,
    ) -> Action {
        match resolved {
            None if wanted == ours => Action::Push,
            None => Action::Refuse(
                PublishError::Diverged {
                    address: target.address(),
                    recorded: wanted.to_owned(),
                    ours: ours.to_owned(),
                    unread,
                }
                .to_string(),
            ),
            Some(existing) if existing == wanted => Action::Skip,
            Some(existing) => Action::Refuse(conflict(target, &existing, ours).to_string()),
        }
    }
}

/// One version's publish to one repository, planned.
pub(super) struct Planned {
    /// The version.
    pub(super) image: &'static BaseImage,
    /// The repository and tag it goes to.
    pub(super) target: Target,
    /// What versions.lock records once it is there.
    pub(super) published: Published,
    /// Its documents, when this run built it (a copy needs none).
    pub(super) prepared: Option<Prepared>,
    /// What this run does with it.
    pub(super) action: Action,
    /// When its publish began (for the time it took).
    pub(super) start: Instant,
}

impl Planned {
    /// `image` in `target`, decided by `action` from what versions.lock
    /// records (`recorded`) alone, without building it.
    pub(super) fn decided(
        image: &'static BaseImage,
        target: &Target,
        recorded: Option<Published>,
        action: Action,
        start: Instant,
    ) -> Result<Planned, Error> {
        let published = recorded.ok_or_else(|| Error::Usage(format!("{image} is not recorded")))?;
        Ok(Planned {
            image,
            target: target.clone(),
            published: Published {
                repositories: vec![target.repository_address()],
                ..published
            },
            prepared: None,
            action,
            start,
        })
    }

    /// Its summary row, ending as `action` with `error`.
    pub(super) fn outcome(&self, action: &'static str, error: Option<String>) -> report::Published {
        report::Published {
            key: self.image.key(),
            address: self.target.address(),
            digest: Some(self.published.index.clone()),
            action,
            blobs: (0, 0, 0),
            bytes: 0,
            sboms: 0,
            error,
            duration: self.start.elapsed(),
        }
    }
}

/// What was decided of a version from versions.lock and the registries
/// alone, before building anything.
pub(super) enum Early {
    /// Nothing to build: this action.
    Decided(Action),
    /// Build it; the recorded repositories that could not be read, if any.
    Build(Vec<String>),
}

/// The refusal of a push to `target`, whose tag points at `existing`.
pub(super) fn conflict(target: &Target, existing: &str, ours: &str) -> PublishError {
    PublishError::TagConflict {
        address: target.address(),
        existing: existing.to_owned(),
        ours: ours.to_owned(),
    }
}
