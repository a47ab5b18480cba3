//! Compile-pass and compile-fail cases for the attributes: one fail case per rule, each
//! with the message a user sees in `ui-tests/fail/*.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui-tests/pass/*.rs");
    t.compile_fail("ui-tests/fail/*.rs");
}
