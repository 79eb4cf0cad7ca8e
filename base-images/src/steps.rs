//! The steps of a recipe as a persistent list of chunks: a child version's
//! recipe shares its parent's steps instead of copying them, so resolving a
//! family of N versions costs N, not N². Each chunk also caches what is
//! derived from it and everything before it (the canonical encoding's hash
//! state, whether its steps validated, the inputs it fetches), so those too
//! are computed once per version rather than once per ancestor.

use std::collections::HashSet;
use std::fmt;
use std::ops::Index;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::PrefixHash;
use crate::step::Step;

/// The ordered steps of a recipe.
#[derive(Clone, Default)]
pub struct Steps {
    tail: Option<Arc<Chunk>>,
}

/// Consecutive steps appended by one owner, after the chunk `before`.
pub(crate) struct Chunk {
    before: Option<Arc<Chunk>>,
    /// How many steps come before this chunk.
    offset: usize,
    steps: Vec<Step>,
    /// Caches of this chunk and every step before it.
    pub(crate) cache: ChunkCache,
}

/// Fetched inputs: each URL and the digest its step pins, if any.
pub(crate) type Fetched = Arc<[(String, Option<String>)]>;

/// What is derived from a chunk and everything before it, computed once.
#[derive(Default)]
pub(crate) struct ChunkCache {
    /// The canonical encoding's hash state after this chunk's last step.
    pub(crate) hash: OnceLock<PrefixHash>,
    /// Set once every step up to this chunk's last validated.
    pub(crate) valid: OnceLock<()>,
    /// Every fetched input up to this chunk's last step: URL and pin.
    pub(crate) fetched: OnceLock<Fetched>,
}

impl Chunk {
    /// How many steps come before this chunk.
    pub(crate) fn offset(&self) -> usize {
        self.offset
    }

    /// The chunk's own steps.
    pub(crate) fn steps(&self) -> &[Step] {
        &self.steps
    }
}

impl Drop for Chunk {
    /// Unlinks the chain iteratively: a family thousands of versions deep
    /// must not drop one nested chunk per stack frame.
    fn drop(&mut self) {
        let mut next = self.before.take();
        while let Some(chunk) = next {
            next = match Arc::try_unwrap(chunk) {
                Ok(mut owned) => owned.before.take(),
                Err(_) => None,
            };
        }
    }
}

impl Steps {
    /// No steps.
    pub fn new() -> Self {
        Steps::default()
    }

    /// The number of steps.
    pub fn len(&self) -> usize {
        self.tail.as_ref().map_or(0, |t| t.offset + t.steps.len())
    }

    /// Whether there are no steps.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a step: in place when no other recipe shares the last
    /// chunk, otherwise in a new chunk after the shared ones.
    pub(crate) fn push(&mut self, step: Step) {
        if let Some(chunk) = self.tail.as_mut().and_then(Arc::get_mut) {
            chunk.steps.push(step);
            chunk.cache = ChunkCache::default();
            return;
        }
        let offset = self.len();
        self.tail = Some(Arc::new(Chunk {
            before: self.tail.take(),
            offset,
            steps: vec![step],
            cache: ChunkCache::default(),
        }));
    }

    /// The chunks, first to last.
    pub(crate) fn chunks(&self) -> Vec<&Chunk> {
        let mut chunks = Vec::new();
        let mut next = self.tail.as_deref();
        while let Some(chunk) = next {
            chunks.push(chunk);
            next = chunk.before.as_deref();
        }
        chunks.reverse();
        chunks
    }

    /// The last chunk.
    pub(crate) fn last_chunk(&self) -> Option<&Chunk> {
        self.tail.as_deref()
    }

    /// Walking back from the last chunk to the nearest one for which
    /// `cached` gives a value: that value (if any chunk has one) and the
    /// chunks after it, first to last, whose caches are still to fill.
    pub(crate) fn uncached<'a, T>(&'a self, cached: impl Fn(&'a Chunk) -> Option<T>) -> (Option<T>, Vec<&'a Chunk>) {
        let mut pending = Vec::new();
        let mut next = self.tail.as_deref();
        while let Some(chunk) = next {
            if let Some(value) = cached(chunk) {
                pending.reverse();
                return (Some(value), pending);
            }
            pending.push(chunk);
            next = chunk.before.as_deref();
        }
        pending.reverse();
        (None, pending)
    }

    /// Every input the steps fetch, in order: its URL and the digest the
    /// step pins (if any). Aggregated per chunk, so a version adds only its
    /// own steps' to its parent's.
    pub(crate) fn fetched(&self) -> Fetched {
        let (cached, pending) = self.uncached(|c| c.cache.fetched.get().cloned());
        let mut all = cached.unwrap_or_else(|| Arc::from([]));
        for chunk in pending {
            let own = chunk
                .steps
                .iter()
                .filter_map(Step::fetched)
                .map(|(url, pin)| (url.to_owned(), pin.map(str::to_owned)));
            let mut own = own.peekable();
            if own.peek().is_some() {
                all = all.iter().cloned().chain(own).collect();
            }
            all = chunk.cache.fetched.get_or_init(|| all).clone();
        }
        all
    }

    /// The steps in order.
    pub fn iter(&self) -> std::vec::IntoIter<&Step> {
        self.chunks()
            .into_iter()
            .flat_map(|c| c.steps.iter())
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// The step at `index` (0-based).
    pub fn get(&self, index: usize) -> Option<&Step> {
        let mut next = self.tail.as_deref();
        while let Some(chunk) = next {
            if index >= chunk.offset {
                return chunk.steps.get(index - chunk.offset);
            }
            next = chunk.before.as_deref();
        }
        None
    }

    /// The steps copied into a vector.
    pub fn to_vec(&self) -> Vec<Step> {
        self.iter().cloned().collect()
    }

    /// For each of `others`, how many leading steps it has in common with
    /// `self`. A chunk `self` also holds is recognised by identity, so each
    /// costs only the steps it does not share (a family's finish, say).
    pub fn common_prefix_lens(&self, others: &[&Steps]) -> Vec<usize> {
        let chunks: HashSet<*const Chunk> = self.chunks().into_iter().map(|c| c as *const Chunk).collect();
        let own: Vec<&Step> = self.iter().collect();
        others
            .iter()
            .map(|other| {
                let (shared, rest) = other.uncached(|c| {
                    chunks
                        .contains(&(c as *const Chunk))
                        .then_some(c.offset + c.steps.len())
                });
                let shared = shared.unwrap_or(0);
                let theirs = rest.into_iter().flat_map(|c| c.steps.iter());
                let ours = own.get(shared..).unwrap_or_default().iter();
                shared + theirs.zip(ours).take_while(|(a, b)| a == *b).count()
            })
            .collect()
    }
}

impl Index<usize> for Steps {
    type Output = Step;

    fn index(&self, index: usize) -> &Step {
        match self.get(index) {
            Some(step) => step,
            None => panic!("step index {index} out of range for a recipe of {} steps", self.len()),
        }
    }
}

impl<'a> IntoIterator for &'a Steps {
    type Item = &'a Step;
    type IntoIter = std::vec::IntoIter<&'a Step>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl FromIterator<Step> for Steps {
    fn from_iter<I: IntoIterator<Item = Step>>(iter: I) -> Self {
        let steps: Vec<Step> = iter.into_iter().collect();
        Steps::from(steps)
    }
}

impl From<Vec<Step>> for Steps {
    fn from(steps: Vec<Step>) -> Self {
        if steps.is_empty() {
            return Steps::new();
        }
        Steps {
            tail: Some(Arc::new(Chunk {
                before: None,
                offset: 0,
                steps,
                cache: ChunkCache::default(),
            })),
        }
    }
}

impl PartialEq for Steps {
    fn eq(&self, other: &Steps) -> bool {
        let same_tail = match (&self.tail, &other.tail) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        same_tail || (self.len() == other.len() && self.iter().eq(other.iter()))
    }
}

impl Eq for Steps {}

impl fmt::Debug for Steps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Steps {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Steps {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Step>::deserialize(deserializer).map(Steps::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(n: usize) -> Step {
        Step::Env {
            name: format!("V{n}"),
            value: n.to_string(),
        }
    }

    #[test]
    fn a_shared_prefix_is_not_copied_and_both_sides_keep_their_steps() {
        let mut parent = Steps::new();
        parent.push(env(0));
        parent.push(env(1));
        let mut child = parent.clone();
        child.push(env(2));
        let mut sibling = parent.clone();
        sibling.push(env(9));
        assert_eq!(parent.to_vec(), vec![env(0), env(1)]);
        assert_eq!(child.to_vec(), vec![env(0), env(1), env(2)]);
        assert_eq!(sibling.to_vec(), vec![env(0), env(1), env(9)]);
        assert!(
            std::ptr::eq(child.chunks()[0], parent.chunks()[0]),
            "the parent's chunk is shared"
        );
        assert_eq!(child[2], env(2));
        assert_eq!(child.get(3), None);
        assert_eq!(child.common_prefix_lens(&[&sibling, &parent, &child]), [2, 2, 3]);
        assert_eq!(parent.common_prefix_lens(&[&child, &Steps::new()]), [2, 0]);
    }

    #[test]
    fn equal_steps_compare_equal_however_they_are_chunked() {
        let mut a = Steps::from(vec![env(0)]);
        let shared = a.clone();
        a.push(env(1));
        let b: Steps = vec![env(0), env(1)].into_iter().collect();
        assert_eq!(a, b);
        assert_ne!(a, shared);
        assert_eq!(
            a.common_prefix_lens(&[&b]),
            [2],
            "equal steps in other chunks still count"
        );
        assert_eq!(serde_json::to_string(&a).ok(), serde_json::to_string(&b.to_vec()).ok());
    }

    #[test]
    fn a_chain_ten_thousand_chunks_deep_drops_without_recursing() {
        let mut steps = Steps::new();
        for n in 0..10_000 {
            // Shared while pushing: a new chunk for every step, as each
            // version of a family makes.
            let shared = steps.clone();
            steps.push(env(n));
            drop(shared);
        }
        assert_eq!(steps.len(), 10_000);
        assert_eq!(steps.chunks().len(), 10_000);
        let handle = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || drop(steps));
        assert!(handle.is_ok_and(|h| h.join().is_ok()));
    }
}
