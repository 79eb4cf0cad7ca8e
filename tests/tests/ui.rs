//! Compile-time policy: each `tests/ui/*.rs` is one minimal mistake with the
//! message users see checked in beside it (`.stderr`); `tests/ui-pass`
//! holds declarations that must compile. Regenerate the expected output
//! with `TRYBUILD=overwrite cargo test -p base-images-tests --test ui`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui-pass/*.rs");
}
