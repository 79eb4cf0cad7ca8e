//! What can be wrong with a released version: the [`ReleaseProblem`]s the
//! lock's verification names, as data (the error that carries them is
//! `Error::Released`).

use crate::digest::RecipeDigest;
use crate::key::ImageKey;

/// A released version that changed, disappeared or lost its pin, as
/// `verify` finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReleaseProblem {
    /// Its recipe is not the one locked.
    Changed {
        /// The version.
        key: ImageKey,
        /// The locked recipe digest.
        locked: RecipeDigest,
        /// The declared recipe's digest now.
        declared: RecipeDigest,
        /// Where it is declared.
        location: String,
    },
    /// It is locked but no longer declared.
    Missing {
        /// The version.
        key: ImageKey,
    },
    /// Its root is not pinned by digest (nor recorded as a local root).
    Unpinned {
        /// The version.
        key: ImageKey,
        /// The unpinned root address.
        address: String,
    },
    /// It is not released, so it cannot be published.
    NotReleased {
        /// The version.
        key: ImageKey,
    },
    /// It was published with another index digest than the one pushed now.
    PublishedAs {
        /// The version.
        key: ImageKey,
        /// The index digest the lock records.
        recorded: String,
        /// The index digest of this publish.
        now: String,
    },
    /// Its recipe no longer validates.
    Invalid {
        /// The version.
        key: ImageKey,
        /// Why.
        reason: String,
    },
}

impl ReleaseProblem {
    /// The version concerned.
    pub fn key(&self) -> &ImageKey {
        match self {
            ReleaseProblem::Changed { key, .. }
            | ReleaseProblem::Missing { key }
            | ReleaseProblem::Unpinned { key, .. }
            | ReleaseProblem::NotReleased { key }
            | ReleaseProblem::PublishedAs { key, .. }
            | ReleaseProblem::Invalid { key, .. } => key,
        }
    }
}

impl std::fmt::Display for ReleaseProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReleaseProblem::Changed {
                key,
                locked,
                declared,
                location,
            } => write!(
                f,
                "{key} is released and must never change; declare a new version instead \
                 (locked recipe {locked}, declared recipe now {declared}, at {location})"
            ),
            ReleaseProblem::Missing { key } => write!(
                f,
                "{key} is released (in versions.lock) but no longer declared; restore its #[base_image] function"
            ),
            ReleaseProblem::Unpinned { key, address } => write!(
                f,
                "{key} is released, but its root {address} is not pinned by digest; a released version \
                 must pin its roots (repo:tag@sha256:...): declare a new version that does"
            ),
            ReleaseProblem::NotReleased { key } => write!(
                f,
                "{key} is not released (not in versions.lock), so it cannot be published; build it first"
            ),
            ReleaseProblem::PublishedAs { key, recorded, now } => write!(
                f,
                "{key} was published as {recorded}, but this publish made {now}; a published version never \
                 changes (was it rebuilt with the step cache emptied?): declare a new version"
            ),
            ReleaseProblem::Invalid { reason, .. } => f.write_str(reason),
        }
    }
}
