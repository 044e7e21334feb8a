//! The kvp command (work in progress: see issue 5).
fn main() {}
