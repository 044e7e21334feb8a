//! Gives libkvp.so its SONAME. A Rust cdylib has none by default, and then
//! programs linked against it would record the bare file name
//! (`libkvp.so`) instead of the ABI major version.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".to_owned());
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkvp.so.{major}");
    println!("cargo:rerun-if-changed=build.rs");
}
