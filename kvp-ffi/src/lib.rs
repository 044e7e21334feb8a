//! C ABI for kvp-core (work in progress: see issue 3).
#![deny(missing_docs)]
