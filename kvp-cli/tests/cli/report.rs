//! `kvp report success|failure|show` and `kvp vm-id`: both dialects, insert
//! over cloud-init's appended reports, shortening, and the VM id read from
//! a fake DMI tree (Gen1 swap, Gen2, none).

use std::path::Path;

use crate::support::{fixture_records, json, pool_of, report_fixture, Pools};

const VM: &str = "0e5e179d-5341-478b-8456-fbb90621bdf8";
const AZURE_TAG: &str = "7783-7084-3265-9085-8269-3286-77";

/// The guest pool's `PROVISIONING_REPORT` records, as `kvp list --json`
/// shows them.
fn reports(pools: &Pools) -> Vec<String> {
    let list = json(pools.run(&["list", "--json"]).ok());
    list["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["key"] == "PROVISIONING_REPORT")
        .map(|r| r["value"].as_str().expect("text").to_owned())
        .collect()
}

/// The value `report show` prints for `field`: the rows are `FIELD VALUE`,
/// the column as wide as the widest field name.
fn shown_fields(table: &str) -> Vec<(String, String)> {
    table
        .lines()
        .skip(1)
        .take_while(|l| {
            !l.starts_with(|c: char| c.is_ascii_digit()) && !l.starts_with("shortened:")
        })
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_owned(), v.trim_start().to_owned()))
        .collect()
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

#[test]
fn both_dialects_are_written_and_shown() {
    for (dialect, quote) in [("cloud-init", '\''), ("azure-init", '"')] {
        let pools = Pools::new();
        let out = pools.run(&[
            "report",
            "failure",
            "--reason",
            "no DHCP lease",
            "--agent",
            "My-Agent/1.0",
            "--vm-id",
            VM,
            "--pps-type",
            "Savable",
            "--extra",
            "interface=eth0",
            "--extra",
            "note=a|b",
            "--extra",
            "interface=eth1",
            "--dialect",
            dialect,
        ]);
        let text = out.ok();
        assert!(
            text.starts_with(&format!(
                "wrote PROVISIONING_REPORT ({dialect} dialect) to "
            )),
            "{text}"
        );
        let written = reports(&pools);
        assert_eq!(written.len(), 1);
        let value = &written[0];
        assert!(
            value.starts_with(
                "result=error|reason=no DHCP lease|agent=My-Agent/1.0|interface=eth0|"
            ),
            "{value}"
        );
        assert!(
            value.contains(&format!("|{quote}note=a|b{quote}|")),
            "{value}"
        );
        assert!(
            value.ends_with("|documentation_url=https://aka.ms/linuxprovisioningerror"),
            "{value}"
        );
        assert!(
            text.contains(value.as_str()),
            "the value is printed: {text}"
        );

        let show = pools.run(&["report", "show"]);
        assert!(show.ok().starts_with("FIELD              VALUE\n"));
        let fields = shown_fields(&show.stdout);
        assert_eq!(fields.len(), 10, "{fields:?}");
        for (i, (k, v)) in [
            ("result", "error"),
            ("reason", "no DHCP lease"),
            ("agent", "My-Agent/1.0"),
            ("vm_id", VM),
            ("pps_type", "Savable"),
            ("documentation_url", "https://aka.ms/linuxprovisioningerror"),
            ("interface", "eth0"),
            ("note", "a|b"),
            ("interface", "eth1"),
        ]
        .into_iter()
        .enumerate()
        {
            // timestamp (the fifth row) is now.
            let row = if i < 4 { i } else { i + 1 };
            assert_eq!(fields[row], pair(k, v));
        }

        let shown = json(pools.run(&["report", "show", "--json"]).ok());
        assert_eq!(shown["records"], 1);
        assert_eq!(shown["value"], value.as_str());
        assert_eq!(shown["error"], serde_json::Value::Null);
        let report = &shown["report"];
        assert_eq!(report["result"], "error");
        assert_eq!(report["pps_type"], "Savable");
        assert_eq!(report["shortened"], serde_json::Value::Null);
        assert_eq!(
            report["supporting_data"],
            serde_json::json!([
                {"key": "interface", "value": "eth0"},
                {"key": "note", "value": "a|b"},
                {"key": "interface", "value": "eth1"},
            ])
        );
        assert!(report["timestamp"]
            .as_str()
            .expect("text")
            .ends_with("+00:00"));
    }
}

#[test]
fn success_defaults_and_documentation_url() {
    let pools = Pools::new();
    let out = json(
        pools
            .run(&["report", "success", "--vm-id", VM, "--json"])
            .ok(),
    );
    assert_eq!(out["dialect"], "azure-init", "the default dialect");
    assert_eq!(out["key"], "PROVISIONING_REPORT");
    assert_eq!(out["shortened"], serde_json::Value::Null);
    assert!(out["path"].as_str().expect("path").ends_with(".kvp_pool_1"));
    let value = out["value"].as_str().expect("value");
    assert!(
        value.starts_with(&format!(
            "result=success|agent=kvp/{}|pps_type=None|vm_id={VM}|timestamp=",
            env!("CARGO_PKG_VERSION")
        )),
        "{value}"
    );
    assert_eq!(reports(&pools), [value]);

    pools
        .run(&[
            "report",
            "failure",
            "--reason",
            "r",
            "--vm-id",
            VM,
            "--documentation-url",
            "",
        ])
        .ok();
    let shown = json(pools.run(&["report", "show", "--json"]).ok());
    assert_eq!(
        shown["report"]["documentation_url"],
        serde_json::Value::Null
    );
    pools
        .run(&[
            "report",
            "success",
            "--reason",
            "all good",
            "--vm-id",
            VM,
            "--documentation-url",
            "https://example.com/doc",
            "--dialect",
            "cloud-init",
        ])
        .ok();
    let value = &reports(&pools)[0];
    assert!(
        value.ends_with(&format!(
            "|vm_id={VM}|reason=all good|documentation_url=https://example.com/doc"
        )),
        "{value}"
    );
}

#[test]
fn insert_replaces_every_report_cloud_init_appended() {
    // cloud-init 25.1.4's own reports, appended as its write_key does; the
    // last one it cut at 1023 characters, inside a quoted field.
    let fixture = report_fixture("cloud-init-25.1.4.json");
    let records = fixture_records(&fixture);
    let as_bytes: Vec<(&[u8], &[u8])> = records
        .iter()
        .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
        .collect();
    let pools = pool_of(&as_bytes);
    assert_eq!(reports(&pools).len(), 3);

    let show = pools.run(&["report", "show"]);
    show.fails(1, "PROVISIONING_REPORT in ");
    assert!(
        show.stderr.contains("does not decode: malformed: "),
        "{show:?}"
    );
    assert!(show
        .stdout
        .starts_with("value  result=error|reason=unhandled exception|"));
    let shown = json(&pools.run(&["report", "show", "--json"]).stdout);
    assert_eq!(shown["records"], 3);
    assert_eq!(shown["report"], serde_json::Value::Null);
    assert_eq!(shown["error"]["reason"], "malformed");

    pools
        .run(&[
            "report",
            "success",
            "--vm-id",
            VM,
            "--agent",
            "Cloud-Init/25.1",
            "--dialect",
            "cloud-init",
        ])
        .ok();
    let left = reports(&pools);
    assert_eq!(left.len(), 1, "exactly one report remains: {left:?}");
    assert!(left[0].starts_with("result=success|agent=Cloud-Init/25.1|timestamp="));
    let list = json(pools.run(&["list", "--json"]).ok());
    let events = list["records"].as_array().expect("records").len() - 1;
    assert_eq!(events, records.len() - 3, "every event record is kept");
    let show = pools.run(&["report", "show"]);
    assert!(shown_fields(show.ok()).contains(&pair("agent", "Cloud-Init/25.1")));
    assert!(
        !show.stdout.contains("records: the last is shown"),
        "{show:?}"
    );
}

#[test]
fn several_reports_are_counted_and_the_last_shown() {
    let pools = Pools::new();
    let first = "result=success|agent=A/1|timestamp=2026-06-17T00:00:00+00:00|vm_id=x";
    let second = "result=error|reason=late|agent=A/1|vm_id=x|timestamp=2026-06-17T00:00:01+00:00";
    pools.write(&["append", "PROVISIONING_REPORT", first]);
    pools.write(&["append", "PROVISIONING_REPORT", second]);
    let text = pools.run(&["report", "show"]);
    assert!(
        shown_fields(text.ok()).contains(&pair("reason", "late")),
        "{text:?}"
    );
    assert!(text.stdout.ends_with(
        "2 PROVISIONING_REPORT records: the last is shown (cloud-init appends one per report; kvp report writes exactly one)\n"
    ));
}

#[test]
fn long_reports_are_shortened_and_say_so() {
    let pools = Pools::new();
    let reason = "é".repeat(1500);
    let out = pools.run(&[
        "report", "failure", "--reason", &reason, "--vm-id", VM, "--extra", "k=v",
    ]);
    let text = out.ok();
    assert!(text.contains("\nshortened: the full report was "), "{text}");
    assert!(text.contains("more than the 1022 the host receives whole"));
    let value = &reports(&pools)[0];
    assert!(value.chars().count() <= 1022, "{}", value.len());
    assert!(value.contains("é...|agent=kvp/"), "{value}");
    assert!(value.contains("|k=v|shortened="), "{value}");

    let shown = json(pools.run(&["report", "show", "--json"]).ok());
    let original = shown["report"]["shortened"].as_u64().expect("a length");
    assert!(original > 1500, "{original}");
    let text = pools.run(&["report", "show"]);
    assert!(text
        .ok()
        .contains(&format!("shortened: the full report was {original} ")));

    let json_write = json(
        pools
            .run(&[
                "report", "failure", "--reason", &reason, "--vm-id", VM, "--json",
            ])
            .ok(),
    );
    assert!(json_write["shortened"].as_u64().is_some());
}

#[test]
fn bad_fields_are_usage_errors_and_write_nothing() {
    let pools = Pools::new();
    pools
        .run(&["report", "failure", "--vm-id", VM])
        .fails(2, "--reason");
    // Each after `report success --vm-id VM`.
    let cases = [
        (["--extra", "vm_id=y"], "it is a standard report field"),
        (["--extra", "shortened=1"], "reserved"),
        (["--extra", "novalue"], "expected NAME=VALUE"),
        (
            ["--pps-type", "none"],
            "expected None, PreprovisionedOSDisk",
        ),
        (
            ["--dialect", "cloudinit"],
            "expected azure-init or cloud-init",
        ),
        (["--agent", ""], "invalid agent: it is empty"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["report", "success", "--vm-id", VM];
        args.extend(extra);
        pools.run(&args).fails(2, needle);
    }
    pools
        .run(&[
            "report",
            "success",
            "--vm-id",
            VM,
            "--agent",
            &"a".repeat(1100),
        ])
        .fails(2, "fixed fields take");
    assert!(!pools.guest().exists(), "nothing was written");
    pools
        .run(&["report", "show"])
        .fails(1, "no PROVISIONING_REPORT in ");
    let shown = json(&pools.run(&["report", "show", "--json"]).stdout);
    assert_eq!(shown["records"], 0);
    assert_eq!(shown["report"], serde_json::Value::Null);
}

/// A fake root holding a DMI product UUID (none when `None`), EFI on Gen2,
/// and Azure's chassis asset tag when `azure`.
fn machine(uuid: Option<&str>, gen2: bool, azure: bool) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("temp dir");
    let dmi = root.path().join("sys/class/dmi/id");
    std::fs::create_dir_all(&dmi).expect("mkdir");
    if let Some(uuid) = uuid {
        std::fs::write(dmi.join("product_uuid"), uuid).expect("write uuid");
    }
    if gen2 {
        std::fs::create_dir_all(root.path().join("sys/firmware/efi")).expect("mkdir efi");
    }
    if azure {
        std::fs::write(dmi.join("chassis_asset_tag"), format!("{AZURE_TAG}\n")).expect("tag");
    }
    root
}

fn root_arg(root: &tempfile::TempDir) -> &str {
    root.path().to_str().expect("utf-8 temp path")
}

#[test]
fn vm_id_of_gen1_and_gen2_as_both_peers_compute_it() {
    let all = report_fixture("peer-examples.json");
    let mut checked = 0;
    for case in all["vm_ids"].as_array().expect("cases") {
        let expected = case["azure_init"].as_str().or(case["cloud_init"].as_str());
        let (Some(expected), None) = (expected, case.get("ours")) else {
            continue;
        };
        let gen2 = case["gen"] == 2;
        let root = machine(case["product_uuid"].as_str(), gen2, false);
        let out = Pools::new().run(&["vm-id", "--sys-root", root_arg(&root)]);
        assert_eq!(out.ok(), format!("{expected}\n"), "{}", case["from"]);
        checked += 1;
    }
    assert!(checked >= 4, "{checked}");

    // The Gen1 swap, and whether the machine is Azure.
    let root = machine(Some("527C2691-029F-FE4C-B1F4-A4DA7EBAC2CF\n"), false, true);
    let out = json(
        Pools::new()
            .run(&["vm-id", "--sys-root", root_arg(&root), "--json"])
            .ok(),
    );
    assert_eq!(
        out,
        serde_json::json!({"vm_id": "91267c52-9f02-4cfe-b1f4-a4da7ebac2cf", "generation": "gen1", "azure": true})
    );
    let root = machine(Some("527c2691-029f-fe4c-b1f4-a4da7ebac2cf"), true, false);
    let out = json(
        Pools::new()
            .run(&["vm-id", "--sys-root", root_arg(&root), "--json"])
            .ok(),
    );
    assert_eq!(out["vm_id"], "527c2691-029f-fe4c-b1f4-a4da7ebac2cf");
    assert_eq!(
        (&out["generation"], &out["azure"]),
        (&"gen2".into(), &false.into())
    );
}

#[test]
fn no_vm_id_is_exit_3_with_the_reason() {
    let cases = [
        (None, "cannot tell this machine's VM id: cannot read "),
        (Some("\n"), "holds no VM id"),
        (
            Some("00000000-0000-0000-0000-000000000000"),
            "holds no VM id",
        ),
        (
            Some("not-a-uuid\u{1b}[2J"),
            r#"does not hold a UUID: "not-a-uuid\u{1b}[2j""#,
        ),
    ];
    for (uuid, needle) in cases {
        let root = machine(uuid, true, false);
        let out = Pools::new().run(&["vm-id", "--sys-root", root_arg(&root)]);
        out.fails(3, needle);
        assert!(!out.stderr.contains('\u{1b}'), "{out:?}");
        assert_eq!(out.stdout, "", "never a made-up id");

        // report without --vm-id reads the same machine, and writes nothing.
        let pools = Pools::new();
        let out = pools.run(&["report", "success", "--sys-root", root_arg(&root)]);
        out.fails(3, "; give it with --vm-id");
        assert!(!pools.guest().exists());
    }
    let missing = Path::new("/nonexistent-kvp-root");
    Pools::new()
        .run(&["vm-id", "--sys-root", missing.to_str().expect("utf-8")])
        .fails(3, "/nonexistent-kvp-root/sys/class/dmi/id/product_uuid");
}

#[test]
fn report_reads_the_vm_id_from_the_machine() {
    let root = machine(Some("527c2691-029f-fe4c-b1f4-a4da7ebac2cf"), false, false);
    let pools = Pools::new();
    pools
        .run(&["report", "success", "--sys-root", root_arg(&root)])
        .ok();
    assert!(reports(&pools)[0].contains("|vm_id=91267c52-9f02-4cfe-b1f4-a4da7ebac2cf|"));
}
