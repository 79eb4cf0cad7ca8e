//! Compile-time policy: each `tests/ui/*.rs` is one minimal mistake with the
//! message users see checked in beside it (`.stderr`). Declarations that
//! must compile and run are `tests/ui-pass/*.rs`, test programs of their own
//! (Cargo.toml). Regenerate the expected output with
//! `TRYBUILD=overwrite cargo test -p base-images-ui --test ui`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
