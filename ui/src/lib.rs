//! The compile-time policy's cases (`tests/ui`, `tests/ui-pass`): this crate
//! holds no code; it exists so the cases compile against the library alone.
