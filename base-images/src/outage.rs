//! A shared cache's registry that failed during a run: said once, when it
//! first fails, and not asked again by anything holding the same value
//! (clones share it).

use std::sync::{Arc, OnceLock};

/// Whether, and why, a cache registry stopped counting in this run.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outage(Arc<OnceLock<String>>);

impl Outage {
    /// What was said when it failed, if it did.
    pub(crate) fn said(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }

    /// Records that the cache registry of `what` failed for `reason`, the
    /// run going on `instead`; warned the first time only.
    pub(crate) fn record(&self, what: &str, reason: &str, instead: &str) {
        let said = format!("the cache registry of {what} failed ({reason}); this run {instead}");
        if self.0.set(said.clone()).is_ok() {
            tracing::warn!("{said}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_is_the_one_kept_and_clones_share_it() {
        let outage = Outage::default();
        let clone = outage.clone();
        assert_eq!(outage.said(), None);
        clone.record("r/c", "refused", "builds without it");
        outage.record("r/c", "later", "builds without it");
        assert_eq!(
            outage.said(),
            Some("the cache registry of r/c failed (refused); this run builds without it")
        );
    }
}
