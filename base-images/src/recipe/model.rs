//! The `Recipe` type: plain data describing an image as a root address
//! (one, or one per platform) plus ordered steps, and the constructors a
//! declaration starts one with.

use serde::{Deserialize, Serialize};

use crate::step::Root;
use crate::steps::Steps;

/// An image description: a root plus ordered steps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Where the image starts.
    pub root: Root,
    /// What is done on top of the root, in order.
    #[serde(default, skip_serializing_if = "Steps::is_empty")]
    pub steps: Steps,
}

impl From<&str> for Recipe {
    fn from(address: &str) -> Self {
        Recipe::from(address.to_owned())
    }
}

impl From<String> for Recipe {
    fn from(address: String) -> Self {
        Recipe {
            root: Root::Address(address),
            steps: Steps::new(),
        }
    }
}

impl Recipe {
    /// A recipe rooted at one address per platform.
    pub fn from_platforms<I, P, A>(roots: I) -> Self
    where
        I: IntoIterator<Item = (P, A)>,
        P: Into<String>,
        A: Into<String>,
    {
        Recipe {
            root: Root::PerPlatform(roots.into_iter().map(|(p, a)| (p.into(), a.into())).collect()),
            steps: Steps::new(),
        }
    }
}
