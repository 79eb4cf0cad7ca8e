//! The Recipe IR: plain data describing an image as a root address (one, or
//! one per platform) plus ordered steps. Its builder mirrors Dagger's
//! `Container` method names so a declaration reads like the seed; it never
//! fails, and `validate` reports every malformed part with its step number.
//! Everything else is derived from a Recipe: its digest (`canonical`), its
//! Dockerfile (`dockerfile`), and later the engines' builds.
//!
//! The type and its constructors are `model`'s, the step-appending builder
//! `builder`'s, the root queries `roots`', the checks `validate`'s; the
//! values a recipe is made of (its root, steps and options) are `step`'s.

mod builder;
mod model;
mod roots;
mod validate;

pub use model::Recipe;
