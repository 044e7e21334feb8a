//! The VM id, and whether the machine is Azure, read from DMI.
//!
//! Both peers derive the id that IMDS calls `compute.vmId` the same way:
//! read `/sys/class/dmi/id/product_uuid`, trim it, lowercase it (kernels
//! before 4.15 print it upper-case), and on a Gen1 VM (legacy BIOS: neither
//! `/sys/firmware/efi` nor `/dev/efi` exists) swap the byte order of the
//! first three UUID fields, because Gen1 firmware is SMBIOS 2.3, whose
//! UUID Linux reads big-endian while Azure stores it little-endian.
//!
//! Where the peers differ, and what this module does (docs/reporting.md):
//!
//! | case | cloud-init (identity.py) | azure-init (vm_id.rs) | here |
//! |---|---|---|---|
//! | file missing or unreadable | falls back to `dmidecode`, then raises | `None` | [`Error::Unreadable`] |
//! | empty, or all `0xff` | Gen1: raises; Gen2: returns `""` | `None` | [`Error::NoVmId`] |
//! | all zeros | returned | returned | [`Error::NoVmId`] |
//! | not a UUID, Gen1 | raises `ValueError` | returned unswapped | [`Error::MalformedVmId`] |
//! | not a UUID, Gen2 | returned as read | returned as read | [`Error::MalformedVmId`] |
//! | braced / URN / simple spelling | Gen1 canonical, Gen2 as read | Gen1 canonical, Gen2 as read | canonical always |
//! | big-endian host, Gen1 | swapped | not swapped (`to_ne_bytes`) | swapped |
//!
//! The paths are injectable: [`Machine::with_root`] reads every file under
//! another root directory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::error::{Error, Result};

/// The DMI chassis asset tag of Azure VMs (cloud-init's
/// `ChassisAssetTag.AZURE_CLOUD`).
pub const AZURE_CHASSIS_ASSET_TAG: &str = "7783-7084-3265-9085-8269-3286-77";

/// The firmware generation of a Hyper-V VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Generation {
    /// Legacy BIOS, SMBIOS 2.3: the product UUID is byte-swapped.
    Gen1,
    /// UEFI, SMBIOS 3.1: the product UUID is the id.
    Gen2,
}

/// The machine whose files are read: `/` or a test root.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Machine {
    root: PathBuf,
}

impl Default for Machine {
    fn default() -> Machine {
        Machine::new()
    }
}

impl Machine {
    /// The running machine (root `/`).
    pub fn new() -> Machine {
        Machine::with_root("/")
    }

    /// A machine whose files live under `root` (`root/sys/class/dmi/id/...`).
    pub fn with_root(root: impl Into<PathBuf>) -> Machine {
        Machine { root: root.into() }
    }

    fn path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    /// `/sys/class/dmi/id/product_uuid` under the root.
    pub fn product_uuid_path(&self) -> PathBuf {
        self.path("/sys/class/dmi/id/product_uuid")
    }

    /// `/sys/class/dmi/id/chassis_asset_tag` under the root.
    pub fn chassis_asset_tag_path(&self) -> PathBuf {
        self.path("/sys/class/dmi/id/chassis_asset_tag")
    }

    /// Gen2 when `/sys/firmware/efi` or `/dev/efi` exists under the root,
    /// Gen1 otherwise (the rule of both peers).
    pub fn generation(&self) -> Generation {
        if self.path("/sys/firmware/efi").exists() || self.path("/dev/efi").exists() {
            Generation::Gen2
        } else {
            Generation::Gen1
        }
    }

    /// The product UUID as DMI reports it, trimmed and lowercased, with no
    /// swap. cloud-init 26.1+ falls back to this in its event keys until
    /// its Azure data source sets the real id.
    pub fn system_uuid(&self) -> Result<String> {
        let path = self.product_uuid_path();
        let bytes = fs::read(&path).map_err(|source| Error::Unreadable {
            path: path.clone(),
            source,
        })?;
        // Unset DMI strings read as all 0xff; cloud-init takes them as empty.
        let trimmed = bytes.trim_ascii_end();
        if !trimmed.is_empty() && trimmed.iter().all(|&b| b == 0xff) {
            return Ok(String::new());
        }
        let text = String::from_utf8(bytes).map_err(|e| Error::Unreadable {
            path: path.clone(),
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        })?;
        Ok(text.trim().to_lowercase())
    }

    /// The VM id: [`Machine::system_uuid`], validated, in canonical
    /// hyphenated lower case, byte-swapped on Gen1.
    pub fn vm_id(&self) -> Result<String> {
        let raw = self.system_uuid()?;
        vm_id_from(&self.product_uuid_path(), &raw, self.generation())
    }

    /// The chassis asset tag, trimmed; `None` when the file is missing.
    pub fn chassis_asset_tag(&self) -> Result<Option<String>> {
        let path = self.chassis_asset_tag_path();
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).trim().to_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Unreadable { path, source }),
        }
    }

    /// Whether the chassis asset tag is Azure's. An unreadable tag is not
    /// Azure's.
    pub fn is_azure(&self) -> bool {
        matches!(self.chassis_asset_tag(), Ok(Some(tag)) if tag == AZURE_CHASSIS_ASSET_TAG)
    }
}

fn vm_id_from(path: &Path, raw: &str, generation: Generation) -> Result<String> {
    let uuid = parse_system_uuid(raw).map_err(|empty| {
        let value = raw.to_owned();
        let path = path.to_owned();
        if empty {
            Error::NoVmId { path, value }
        } else {
            Error::MalformedVmId { path, value }
        }
    })?;
    Ok(match generation {
        Generation::Gen1 => gen1_swap(uuid),
        Generation::Gen2 => uuid,
    }
    .hyphenated()
    .to_string())
}

/// `Err(true)` for no id (empty, all zeros, all ones), `Err(false)` for
/// text that is not a UUID.
fn parse_system_uuid(raw: &str) -> std::result::Result<Uuid, bool> {
    if raw.is_empty() {
        return Err(true);
    }
    let uuid = Uuid::parse_str(raw).map_err(|_| false)?;
    if uuid.is_nil() || uuid.is_max() {
        return Err(true);
    }
    Ok(uuid)
}

/// Swaps the byte order of the first three fields (`bytes_le` in Python).
pub fn gen1_swap(uuid: Uuid) -> Uuid {
    Uuid::from_bytes(uuid.to_bytes_le())
}

/// The VM id of a product UUID on a machine of `generation`, as
/// [`Machine::vm_id`] computes it, for ids read elsewhere.
pub fn vm_id_of(system_uuid: &str, generation: Generation) -> Result<String> {
    vm_id_from(
        Path::new("product_uuid"),
        &system_uuid.trim().to_lowercase(),
        generation,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(uuid: Option<&[u8]>, efi: bool) -> (tempfile::TempDir, Machine) {
        let dir = tempfile::tempdir().unwrap();
        let m = Machine::with_root(dir.path());
        fs::create_dir_all(m.product_uuid_path().parent().unwrap()).unwrap();
        if let Some(uuid) = uuid {
            fs::write(m.product_uuid_path(), uuid).unwrap();
        }
        if efi {
            fs::create_dir_all(dir.path().join("sys/firmware/efi")).unwrap();
        }
        (dir, m)
    }

    #[test]
    fn errors_are_typed_never_a_zero_guid() {
        let (_d, m) = machine(None, false);
        assert!(matches!(m.vm_id(), Err(Error::Unreadable { .. })));
        for (content, empty) in [
            (&b"\n"[..], true),
            (b"00000000-0000-0000-0000-000000000000\n", true),
            (b"\xff\xff\xff\xff", true),
            (b"not-a-uuid\n", false),
            (b"550e8400-e29b-41d4-a716-44665544000", false),
        ] {
            for efi in [false, true] {
                let (_d, m) = machine(Some(content), efi);
                let got = m.vm_id();
                assert!(
                    matches!(
                        (&got, empty),
                        (Err(Error::NoVmId { .. }), true)
                            | (Err(Error::MalformedVmId { .. }), false)
                    ),
                    "{content:?}: {got:?}"
                );
            }
        }
    }

    #[test]
    fn generation_follows_efi_paths() {
        let (d, m) = machine(None, false);
        assert_eq!(m.generation(), Generation::Gen1);
        fs::create_dir_all(d.path().join("dev/efi")).unwrap();
        assert_eq!(m.generation(), Generation::Gen2);
    }

    #[test]
    fn chassis_tag() {
        let (d, m) = machine(None, false);
        assert!(!m.is_azure());
        assert_eq!(m.chassis_asset_tag().unwrap(), None);
        fs::write(
            m.chassis_asset_tag_path(),
            format!("{AZURE_CHASSIS_ASSET_TAG}\n"),
        )
        .unwrap();
        assert!(m.is_azure());
        fs::write(
            d.path().join("sys/class/dmi/id/chassis_asset_tag"),
            "No Asset Tag\n",
        )
        .unwrap();
        assert!(!m.is_azure());
    }
}
