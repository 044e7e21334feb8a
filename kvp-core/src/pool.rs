//! The five KVP pools and where their files live.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Where `hv_kvp_daemon` keeps the pool files.
pub const DEFAULT_DIR: &str = "/var/lib/hyperv";

/// A KVP pool, numbered as in the kernel's UAPI (`KVP_POOL_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Pool {
    /// Pool 0: data the host sets for the guest (`KVP_POOL_EXTERNAL`).
    External = 0,
    /// Pool 1: data guest agents publish to the host (`KVP_POOL_GUEST`).
    Guest = 1,
    /// Pool 2: answered by the daemon from live system facts; the file is
    /// unused (`KVP_POOL_AUTO`).
    Auto = 2,
    /// Pool 3: host facts such as VirtualMachineId (`KVP_POOL_AUTO_EXTERNAL`).
    AutoExternal = 3,
    /// Pool 4: undocumented (`KVP_POOL_AUTO_INTERNAL`).
    AutoInternal = 4,
}

impl Pool {
    /// All pools, in number order.
    pub const ALL: [Pool; 5] = [
        Pool::External,
        Pool::Guest,
        Pool::Auto,
        Pool::AutoExternal,
        Pool::AutoInternal,
    ];

    /// The pool with this number, if it is 0..=4.
    pub fn from_number(number: u32) -> Option<Pool> {
        Pool::ALL.get(usize::try_from(number).ok()?).copied()
    }

    /// The pool number, 0..=4.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The name this crate's CLI and bindings use: `external`, `guest`,
    /// `auto`, `auto-external`, `auto-internal`.
    pub fn name(self) -> &'static str {
        match self {
            Pool::External => "external",
            Pool::Guest => "guest",
            Pool::Auto => "auto",
            Pool::AutoExternal => "auto-external",
            Pool::AutoInternal => "auto-internal",
        }
    }

    /// The file name, `.kvp_pool_N`.
    pub fn file_name(self) -> String {
        format!(".kvp_pool_{}", self.number())
    }

    /// The pool a file of this name is, as the daemon names them
    /// (`.kvp_pool_0` to `.kvp_pool_4`, exactly); `None` for any other
    /// name, such as a copy's.
    pub fn from_file_name(name: impl AsRef<OsStr>) -> Option<Pool> {
        let name = name.as_ref();
        Pool::ALL
            .into_iter()
            .find(|pool| OsStr::new(&pool.file_name()) == name)
    }

    /// The pool's file inside `dir`.
    pub fn path_in(self, dir: impl AsRef<Path>) -> PathBuf {
        dir.as_ref().join(self.file_name())
    }

    /// The pool's file in [`DEFAULT_DIR`].
    pub fn default_path(self) -> PathBuf {
        self.path_in(DEFAULT_DIR)
    }
}

impl std::fmt::Display for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Pool {
    type Err = Error;

    /// Parses a number (`0`..`4`) or a name (`guest`, `auto_external`, ...;
    /// case and `-`/`_` do not matter).
    fn from_str(s: &str) -> Result<Pool, Error> {
        let unknown = || Error::UnknownName {
            what: "pool",
            name: s.to_owned(),
            expected: "0-4, external, guest, auto, auto-external or auto-internal",
        };
        if let Ok(number) = s.parse::<u32>() {
            return Pool::from_number(number).ok_or_else(unknown);
        }
        let wanted = s.to_ascii_lowercase().replace('_', "-");
        Pool::ALL
            .into_iter()
            .find(|pool| pool.name() == wanted)
            .ok_or_else(unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_names_and_files() {
        for (n, pool) in Pool::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(pool.number()), n);
            assert_eq!(pool.file_name(), format!(".kvp_pool_{n}"));
            assert_eq!(Pool::from_file_name(pool.file_name()), Some(pool));
            assert_eq!(pool.name().parse::<Pool>().expect("name parses"), pool);
            assert_eq!(n.to_string().parse::<Pool>().expect("number parses"), pool);
        }
        assert_eq!(
            "AUTO_EXTERNAL".parse::<Pool>().expect("parses"),
            Pool::AutoExternal
        );
        assert!("5".parse::<Pool>().is_err());
        assert!("host".parse::<Pool>().is_err());
        for name in [
            ".kvp_pool_5",
            "kvp_pool_1",
            ".kvp_pool_1.bak",
            "copy.pool",
            "",
        ] {
            assert_eq!(Pool::from_file_name(name), None, "{name}");
        }
        assert_eq!(
            Pool::Guest.default_path(),
            PathBuf::from("/var/lib/hyperv/.kvp_pool_1")
        );
    }
}
