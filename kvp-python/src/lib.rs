//! Python extension for kvp-core (work in progress: see issue 4).
#![deny(missing_docs)]
