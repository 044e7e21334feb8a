//! `vm-id`, and the VM id that `report` writes when `--vm-id` is left out.

use std::io::Write;

use kvp_report::{Generation, Machine};
use serde_json::json;

use crate::failure::{Failure, Status};
use crate::output;
use crate::report_args::SysRoot;

/// The machine whose DMI files are read: `/`, or `--sys-root`.
pub fn machine(root: &SysRoot) -> Machine {
    root.sys_root
        .as_ref()
        .map_or_else(Machine::new, Machine::with_root)
}

/// Prints the VM id; with `--json` also the generation and whether the
/// machine is Azure. No id (a missing, empty, zero or malformed product
/// UUID) is exit 3 with kvp-report's reason, never a made-up id.
pub fn vm_id(root: &SysRoot, as_json: bool, out: &mut dyn Write) -> Result<Status, Failure> {
    let machine = machine(root);
    let id = machine.vm_id().map_err(|e| no_vm_id(e, ""))?;
    if as_json {
        let generation = match machine.generation() {
            Generation::Gen1 => "gen1",
            Generation::Gen2 => "gen2",
        };
        let value = json!({
            "vm_id": id,
            "generation": generation,
            "azure": machine.is_azure(),
        });
        output::json(out, &value)?;
    } else {
        writeln!(out, "{id}")?;
    }
    Ok(Status::Success)
}

/// The id `report` writes when none is given: the machine's, or a
/// runtime failure that says how to give one.
pub fn vm_id_for_report(root: &SysRoot) -> Result<String, Failure> {
    machine(root)
        .vm_id()
        .map_err(|e| no_vm_id(e, "; give it with --vm-id"))
}

/// kvp-report's reason, said as what it means here, then `hint`.
fn no_vm_id(e: kvp_report::Error, hint: &str) -> Failure {
    match Failure::from(e) {
        Failure::Runtime(message) => {
            Failure::Runtime(format!("cannot tell this machine's VM id: {message}{hint}"))
        }
        other => other,
    }
}
