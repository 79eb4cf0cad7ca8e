//! Collected, spanned compile errors: every problem of a declaration is
//! reported at once, each on its own token, as one `compile_error!` each.

/// Accumulates `syn::Error`s.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Records one more error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// The combined error, if any was recorded.
    pub(crate) fn finish(self) -> Option<syn::Error> {
        self.0
    }
}
