//! The canonical encoding of a Recipe and its sha256 recipe digest (the
//! digest types are `digest`'s).
//!
//! Encoding version 1 (specified in `docs/recipe-encoding.md`) is compact
//! JSON: `{"encoding":1,"root":…,"steps":[…]}`, keys in a fixed documented
//! order, optional fields omitted when unset, strings escaped as RFC 8259
//! minimally requires. Equal recipes give equal bytes on every platform and
//! compiler; golden tests pin known digests. A change that would alter the
//! bytes of an existing recipe must come with a new encoding version.

use std::sync::OnceLock;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::digest::{PrefixHash, RecipeDigest};
use crate::recipe::Recipe;
use crate::step::{Root, Step};
use crate::steps::Steps;

/// The encoding version written into every canonical encoding.
pub const ENCODING_VERSION: u32 = 1;

#[derive(Serialize)]
struct Envelope<'a> {
    encoding: u32,
    root: &'a Root,
    #[serde(skip_serializing_if = "<[Step]>::is_empty")]
    steps: &'a [Step],
}

impl Recipe {
    /// The canonical encoding (version [`ENCODING_VERSION`]).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let steps = self.steps.to_vec();
        let envelope = Envelope {
            encoding: ENCODING_VERSION,
            root: &self.root,
            steps: &steps,
        };
        encode(&envelope)
    }

    /// The sha256 of the canonical encoding. Hashed incrementally: the
    /// state after steps this recipe shares with another (its parent's) is
    /// cached with them, so only its own steps are encoded.
    pub fn digest(&self) -> RecipeDigest {
        if self.steps.is_empty() {
            return RecipeDigest::of_bytes(&encode(&Envelope {
                encoding: ENCODING_VERSION,
                root: &self.root,
                steps: &[],
            }));
        }
        let state = state_after(&self.steps, &self.root);
        // `state_after` cached the state on the last chunk (unless another
        // root's is there): the finished digest is kept beside it.
        let last = self.steps.last_chunk().and_then(|c| c.cache.hash.get());
        match last.filter(|h| h.root == self.root) {
            Some(hash) => hash.digest.get_or_init(|| finish(state)).clone(),
            None => finish(state),
        }
    }

    /// Digests of every prefix: element `n` covers the root and the first
    /// `n` steps (element 0 is the root alone). Engines key caches by them.
    pub fn prefix_digests(&self) -> Vec<RecipeDigest> {
        let mut digests = vec![Recipe {
            root: self.root.clone(),
            steps: Steps::new(),
        }
        .digest()];
        let mut state = opening(&self.root);
        for (n, step) in self.steps.iter().enumerate() {
            if n > 0 {
                state.update(b",");
            }
            encode_into(&mut state, step);
            digests.push(finish(state.clone()));
        }
        digests
    }
}

/// The state after every step of `steps`, for `root`: from the nearest
/// chunk that has it cached, caching it on each chunk after.
fn state_after(steps: &Steps, root: &Root) -> Sha256 {
    let (cached, pending) = steps.uncached(|c| c.cache.hash.get().filter(|h| h.root == *root).map(|h| h.state.clone()));
    let mut state = cached.unwrap_or_else(|| opening(root));
    for chunk in pending {
        for (n, step) in chunk.steps().iter().enumerate() {
            if chunk.offset() + n > 0 {
                state.update(b",");
            }
            encode_into(&mut state, step);
        }
        let _ = chunk.cache.hash.set(PrefixHash {
            root: root.clone(),
            state: state.clone(),
            digest: OnceLock::new(),
        });
    }
    state
}

/// The state after `{"encoding":1,"root":…,"steps":[`: the envelope of the
/// root alone, its closing brace replaced by the opening of the steps, so
/// the bytes are the envelope's by construction.
fn opening(root: &Root) -> Sha256 {
    let mut bytes = encode(&Envelope {
        encoding: ENCODING_VERSION,
        root,
        steps: &[],
    });
    bytes.pop();
    bytes.extend_from_slice(br#","steps":["#);
    Sha256::new_with_prefix(bytes)
}

/// Closes the steps and the envelope, and finalizes.
fn finish(mut state: Sha256) -> RecipeDigest {
    state.update(b"]}");
    RecipeDigest::of_state(state)
}

/// Feeds the compact JSON of `value` to `state` (see [`encode`]).
fn encode_into<T: Serialize>(state: &mut Sha256, value: &T) {
    state.update(encode(value));
}

/// The compact JSON of `value`. Recipes hold only strings, integers,
/// vectors and string-keyed `BTreeMap`s, whose serialization into a `Vec`
/// cannot fail; a failure would be a defect in this crate, and a digest of
/// anything but the recipe (say, of empty bytes) would make a weaker lock,
/// so it stops the program instead.
#[allow(clippy::expect_used)]
fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value)
        .expect("a recipe's canonical encoding cannot fail: it holds only strings, integers and string-keyed maps")
}

/// A value whose serialization fails (for tests of encoding failures).
#[cfg(test)]
pub(crate) struct Unserializable;

#[cfg(test)]
impl Serialize for Unserializable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("refused"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::ExecOptions;

    #[test]
    fn encoding_is_compact_ordered_json() {
        let r = Recipe::from("debian:bookworm")
            .with_exec_opts(["id"], ExecOptions::default().workdir("/").env("B", "2").env("A", "1"))
            .with_new_file("/f", "a\"b\n", 0o644);
        let text = String::from_utf8(r.canonical_bytes()).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"encoding":1,"root":{"address":"debian:bookworm"},"steps":[{"op":"exec","args":["id"],"env":{"A":"1","B":"2"},"workdir":"/"},{"op":"new_file","path":"/f","contents":"a\"b\n","mode":420}]}"#
        );
    }

    #[test]
    fn equal_recipes_equal_digests_and_any_change_differs() {
        let a = Recipe::from("x:1").with_exec(["true"]);
        assert_eq!(a.digest(), a.clone().digest());
        assert_ne!(a.digest(), Recipe::from("x:1").with_exec(["true", ""]).digest());
        assert_ne!(a.digest(), Recipe::from("x:2").with_exec(["true"]).digest());
    }

    #[test]
    fn incremental_digests_equal_the_digest_of_the_whole_encoding() {
        let whole = |r: &Recipe| RecipeDigest::of_bytes(&r.canonical_bytes());
        let parent = Recipe::from("x:1").with_exec(["a"]).with_env_variable("A", "1");
        assert_eq!(parent.digest(), whole(&parent));
        let child = parent.clone().with_exec(["b"]);
        let sibling = parent.clone().with_workdir("/w").with_user("u");
        for r in [&child, &sibling, &parent] {
            assert_eq!(r.digest(), whole(r), "{r:?}");
            assert_eq!(r.prefix_digests().last(), Some(&whole(r)));
        }
        // The cached state of the shared steps belongs to the root it was
        // computed with: another root gets its own.
        let moved = child.clone().with_root("x:2");
        assert_eq!(moved.digest(), whole(&moved));
        assert_ne!(moved.digest(), child.digest());
        assert_eq!(child.digest(), whole(&child));
        let per_platform = Recipe::from_platforms([("linux/amd64", "a:1")]).with_exec(["a"]);
        assert_eq!(per_platform.digest(), whole(&per_platform));
        assert_eq!(Recipe::from("x:1").digest(), whole(&Recipe::from("x:1")));
    }

    #[test]
    fn prefix_digests_start_at_root() {
        let r = Recipe::from("x:1").with_exec(["a"]).with_exec(["b"]);
        let prefixes = r.prefix_digests();
        assert_eq!(prefixes.len(), 3);
        assert_eq!(prefixes[0], Recipe::from("x:1").digest());
        assert_eq!(prefixes[2], r.digest());
    }

    #[test]
    fn a_failed_encoding_is_never_the_digest_of_empty_bytes() {
        let outcome = std::panic::catch_unwind(|| encode(&Unserializable));
        assert!(outcome.is_err(), "an encoding failure must stop, not encode as nothing");
    }

    #[test]
    fn digest_parse_checks_shape() {
        let d = Recipe::from("x").digest();
        assert_eq!(RecipeDigest::parse(d.as_str()), Some(d));
        assert_eq!(RecipeDigest::parse("sha256:abc"), None);
        assert_eq!(RecipeDigest::parse(&format!("md5:{}", "0".repeat(64))), None);
    }
}
