//! Runs the built `kvp` binary and checks stdout, stderr and exit status
//! of every command, the bad paths included.

mod attacks;
mod check;
mod errors;
mod events;
mod hostile;
mod inspect;
mod read;
mod readme;
mod report;
mod support;
mod terminal;
mod write;
