//! The arguments of `report`, `events` and `vm-id`, as clap parses them.
//! Values are checked here by kvp-report's own rules, so that a bad one is
//! a usage error (exit 2) before anything is read or written.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use kvp_report::report::check_supporting_name;
use kvp_report::{Dialect, PpsType};

/// The agent written when `--agent` is left out.
pub const DEFAULT_AGENT: &str = concat!("kvp/", env!("CARGO_PKG_VERSION"));

/// `report success`, `report failure`, `report show`.
#[derive(Debug, Subcommand)]
pub enum ReportAction {
    /// Write a success report, replacing every PROVISIONING_REPORT record.
    Success {
        /// Why, if there is anything to say (written after the other
        /// fields).
        #[arg(long)]
        reason: Option<String>,
        /// The report's fields.
        #[command(flatten)]
        fields: ReportFields,
    },
    /// Write a failure report (result=error), replacing every
    /// PROVISIONING_REPORT record.
    Failure {
        /// What went wrong, for whoever reads the host's provisioning error.
        #[arg(long, required = true)]
        reason: String,
        /// The report's fields.
        #[command(flatten)]
        fields: ReportFields,
    },
    /// Decode and show the pool's current report (either dialect); exit 1
    /// when there is none or it does not decode.
    Show,
}

/// What `report success` and `report failure` write besides the result.
#[derive(Debug, Args)]
pub struct ReportFields {
    /// Who reports, as NAME/VERSION (azure-init writes Azure-Init/0.1.1,
    /// cloud-init Cloud-Init/25.1).
    #[arg(long, default_value = DEFAULT_AGENT)]
    pub agent: String,

    /// The VM id; read from this machine's DMI when left out.
    #[arg(long, value_name = "ID")]
    pub vm_id: Option<String>,

    /// The pre-provisioning type: None, PreprovisionedOSDisk, Running,
    /// Savable or Unknown (azure-init dialect writes None when left out;
    /// cloud-init dialect writes none).
    #[arg(long, value_name = "TYPE", value_parser = parse_pps_type)]
    pub pps_type: Option<PpsType>,

    /// One supporting-data field, NAME=VALUE; repeat for more, kept in
    /// order.
    #[arg(long = "extra", value_name = "NAME=VALUE", value_parser = parse_extra)]
    pub extra: Vec<(String, String)>,

    /// Whose spelling to write: azure-init (double quotes, pps_type always
    /// written) or cloud-init (single quotes, its field order).
    #[arg(long, default_value = "azure-init", value_parser = parse_dialect)]
    pub dialect: Dialect,

    /// The documentation URL (failure reports carry
    /// <https://aka.ms/linuxprovisioningerror> unless told otherwise; an empty
    /// URL writes none).
    #[arg(long, value_name = "URL")]
    pub documentation_url: Option<String>,

    /// Where the machine's files are read when --vm-id is left out.
    #[command(flatten)]
    pub sys_root: SysRoot,
}

/// The root under which the machine's files are read.
#[derive(Debug, Args)]
pub struct SysRoot {
    /// Read the machine's DMI and EFI files under DIR instead of /
    /// (DIR/sys/class/dmi/id/product_uuid, DIR/sys/firmware/efi,
    /// DIR/dev/efi): for tests, or a mounted disk image.
    #[arg(long, value_name = "DIR")]
    pub sys_root: Option<PathBuf>,
}

/// `events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Keep waiting for new records and print them as they come, as
    /// `tail -f` does; Ctrl-C ends it.
    #[arg(short, long)]
    pub follow: bool,

    /// Print whole messages instead of cutting them at 80 characters.
    #[arg(long)]
    pub full: bool,
}

fn parse_pps_type(text: &str) -> Result<PpsType, String> {
    PpsType::from_token(text).ok_or_else(|| {
        "expected None, PreprovisionedOSDisk, Running, Savable or Unknown".to_owned()
    })
}

fn parse_dialect(text: &str) -> Result<Dialect, String> {
    match text {
        "azure-init" => Ok(Dialect::AzureInit),
        "cloud-init" => Ok(Dialect::CloudInit),
        _ => Err("expected azure-init or cloud-init".to_owned()),
    }
}

/// The name `--dialect` takes for `dialect`.
pub fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::CloudInit => "cloud-init",
        _ => "azure-init",
    }
}

/// `NAME=VALUE`, split at the first `=`; the name must be one a decoder
/// reads back as supporting data.
fn parse_extra(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| "expected NAME=VALUE".to_owned())?;
    check_supporting_name(name).map_err(|e| e.to_string())?;
    Ok((name.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_split_at_the_first_equals_and_refuse_standard_names() {
        assert_eq!(parse_extra("a=b=c"), Ok(("a".to_owned(), "b=c".to_owned())));
        assert_eq!(parse_extra("a="), Ok(("a".to_owned(), String::new())));
        assert!(parse_extra("ab").is_err());
        assert!(parse_extra("=b").is_err());
        assert!(parse_extra("vm_id=x").is_err());
        assert!(parse_extra("shortened=1").is_err());
    }

    #[test]
    fn dialect_and_pps_type_tokens() {
        assert_eq!(parse_dialect("cloud-init"), Ok(Dialect::CloudInit));
        for dialect in [Dialect::CloudInit, Dialect::AzureInit] {
            assert_eq!(parse_dialect(dialect_name(dialect)), Ok(dialect));
        }
        assert!(parse_dialect("cloudinit").is_err());
        assert_eq!(parse_pps_type("Savable"), Ok(PpsType::Savable));
        assert!(parse_pps_type("savable").is_err());
    }
}
