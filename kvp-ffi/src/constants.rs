//! Numbers a C program needs at compile time: the library version, the
//! record format's sizes and the pool numbers. cbindgen turns each into a
//! `#define`; the tests below keep them equal to Cargo.toml and the core.

use std::ffi::c_char;

/// Major version of the library; also the ABI version in the SONAME
/// (libkvp.so.0).
pub const KVP_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const KVP_VERSION_MINOR: u32 = 1;
/// Patch version of the library.
pub const KVP_VERSION_PATCH: u32 = 0;

/// Width of a record's key field in bytes: a key has at most 511 bytes.
pub const KVP_KEY_SIZE: usize = 512;
/// Width of a record's value field in bytes: a value has at most 2047
/// bytes, so a buffer of this size always holds any value and its NUL.
pub const KVP_VALUE_SIZE: usize = 2048;
/// Most unique keys `kvp_insert` lets a pool hold.
pub const KVP_MAX_UNIQUE_KEYS: usize = 1024;

/// Pool 0, `.kvp_pool_0`: data the host sets for the guest.
pub const KVP_POOL_ID_EXTERNAL: u32 = 0;
/// Pool 1, `.kvp_pool_1`: what guest agents publish to the host.
pub const KVP_POOL_ID_GUEST: u32 = 1;
/// Pool 2, `.kvp_pool_2`: unused file; the daemon answers from live facts.
pub const KVP_POOL_ID_AUTO: u32 = 2;
/// Pool 3, `.kvp_pool_3`: host facts such as VirtualMachineId.
pub const KVP_POOL_ID_AUTO_EXTERNAL: u32 = 3;
/// Pool 4, `.kvp_pool_4`: undocumented.
pub const KVP_POOL_ID_AUTO_INTERNAL: u32 = 4;

/// The library's version as `"MAJOR.MINOR.PATCH"`: a static string, never
/// NULL, never to be freed. Compare it with the `KVP_VERSION_*` macros to
/// see whether the library loaded at run time is the one compiled against.
#[no_mangle]
pub extern "C" fn kvp_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvp_core::Pool;

    #[test]
    fn version_macros_match_cargo_toml() {
        let parse = |text: &str| text.parse::<u32>().expect("a number");
        assert_eq!(KVP_VERSION_MAJOR, parse(env!("CARGO_PKG_VERSION_MAJOR")));
        assert_eq!(KVP_VERSION_MINOR, parse(env!("CARGO_PKG_VERSION_MINOR")));
        assert_eq!(KVP_VERSION_PATCH, parse(env!("CARGO_PKG_VERSION_PATCH")));
        // SAFETY: kvp_version returns a static NUL-terminated string.
        let version = unsafe { std::ffi::CStr::from_ptr(kvp_version()) };
        assert_eq!(
            version.to_str().expect("ASCII"),
            format!("{KVP_VERSION_MAJOR}.{KVP_VERSION_MINOR}.{KVP_VERSION_PATCH}")
        );
    }

    #[test]
    fn sizes_and_pools_match_the_core() {
        assert_eq!(KVP_KEY_SIZE, kvp_core::KEY_SIZE);
        assert_eq!(KVP_VALUE_SIZE, kvp_core::VALUE_SIZE);
        assert_eq!(KVP_MAX_UNIQUE_KEYS, kvp_core::MAX_UNIQUE_KEYS);
        let ids = [
            (KVP_POOL_ID_EXTERNAL, Pool::External),
            (KVP_POOL_ID_GUEST, Pool::Guest),
            (KVP_POOL_ID_AUTO, Pool::Auto),
            (KVP_POOL_ID_AUTO_EXTERNAL, Pool::AutoExternal),
            (KVP_POOL_ID_AUTO_INTERNAL, Pool::AutoInternal),
        ];
        for (id, pool) in ids {
            assert_eq!(Pool::from_number(id), Some(pool));
        }
    }
}
