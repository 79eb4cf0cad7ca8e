//! The digests a recipe's canonical encoding hashes to: the finished
//! [`RecipeDigest`] (`sha256:` and 64 lowercase hex digits), and the
//! [`PrefixHash`] a chunk of steps keeps so a recipe sharing those steps
//! hashes only its own (the encoding itself is `canonical`'s).

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::step::Root;

/// A recipe digest: `sha256:` and 64 lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecipeDigest(String);

impl TryFrom<String> for RecipeDigest {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        RecipeDigest::parse(&text)
            .ok_or_else(|| format!("`{text}` is not a recipe digest (sha256: and 64 lowercase hex digits)"))
    }
}

impl From<RecipeDigest> for String {
    fn from(digest: RecipeDigest) -> String {
        digest.0
    }
}

impl RecipeDigest {
    /// The digest as text (`sha256:…`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a digest read from a file, checking its shape.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| RecipeDigest(text.to_owned()))
    }

    /// The digest of everything `state` was fed.
    pub(crate) fn of_state(state: Sha256) -> Self {
        RecipeDigest(crate::sha256::finish(state))
    }

    /// The digest of `bytes`.
    pub(crate) fn of_bytes(bytes: &[u8]) -> Self {
        RecipeDigest(crate::sha256::digest_of(bytes))
    }
}

impl fmt::Display for RecipeDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The hash state of the canonical encoding up to the end of a chunk of
/// steps (`{"encoding":1,"root":…,"steps":[…` without the closing), for
/// the root it was computed with.
pub(crate) struct PrefixHash {
    /// The root the state was computed with.
    pub(crate) root: Root,
    /// The state after the chunk's last step.
    pub(crate) state: Sha256,
    /// The digest of the recipe that ends here.
    pub(crate) digest: OnceLock<RecipeDigest>,
}
