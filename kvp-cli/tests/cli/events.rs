//! `kvp events`: the timeline of real cloud-init pools and of events
//! written with kvp-report, its JSON, hostile records, and `--follow`.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use kvp_core::FileStore;
use kvp_report::{
    write_event, CloudInitVariant, CloudInitWriter, DiagWriter, Event, Kind, Outcome, Timestamp,
};

use crate::support::{fixture, fixture_records, json, kvp, pool_of, report_fixture, Pools, KVP};

const VM: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
/// How long a test waits for a line that `--follow` must print; generous,
/// because a loaded machine is slow, and never a measure of speed.
const PATIENCE: Duration = Duration::from_secs(60);

fn at(secs: i64, millis: u32) -> Timestamp {
    Timestamp::from_unix(1_781_654_400 + secs, millis * 1_000_000).expect("in range")
}

fn store(pools: &Pools) -> FileStore {
    FileStore::open(pools.guest()).expect("open the pool")
}

/// A pool holding exactly the records a cloud-init fixture's handler wrote.
fn cloud_init_pool(name: &str) -> Pools {
    let records = fixture_records(&report_fixture(name));
    let as_bytes: Vec<(&[u8], &[u8])> = records
        .iter()
        .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
        .collect();
    pool_of(&as_bytes)
}

#[test]
fn the_shared_cloud_init_22_4_pool() {
    let (_dir, path) = fixture("cloudinit-events.pool");
    let file = path.to_str().expect("utf-8 path");
    let out = kvp(&["--file", file, "events"]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines[0],
        "2026-11-24T20:41:17.033172Z  CLOUD_INIT  modules-config  init-local  Datasource found: Azure ✓"
    );
    assert!(lines[1].starts_with(
        "2026-11-24T20:41:17.586074Z  CLOUD_INIT  diagnostic   azure-diagnostics  ééé"
    ));
    assert!(
        lines[1].ends_with("é…"),
        "cut at 80 characters: {}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        "2026-11-24T20:41:18.114516Z  CLOUD_INIT  finish       modules-final  SUCCESS  all done"
    );
    let full = kvp(&["--file", file, "events", "--full"]);
    assert!(full.ok().contains(&"é".repeat(2500)));

    let value = json(kvp(&["--file", file, "events", "--json"]).ok());
    assert_eq!(value["path"], file);
    assert_eq!(value["raw"], serde_json::json!([]));
    let steps = value["timeline"].as_array().expect("timeline");
    assert_eq!(steps.len(), 3);
    let chunked = &steps[1];
    assert_eq!(chunked["message"], "é".repeat(2500));
    assert_eq!(
        chunked["chunks"],
        serde_json::json!({"count": 17, "missing": []})
    );
    assert_eq!(chunked["format"], "cloud-init-22.4");
    let finish = &steps[2];
    for (field, expected) in [
        ("entry", serde_json::json!("event")),
        ("kind", "finish".into()),
        ("type", "finish".into()),
        ("agent", "CLOUD_INIT".into()),
        ("name", "modules-final".into()),
        ("result", "success".into()),
        ("time", "2026-11-24T20:41:18.114516Z".into()),
        ("ts", "2026-11-24T20:41:18.114516Z".into()),
        ("payload", "text".into()),
        ("bytes", 8.into()),
        ("encoding", "none".into()),
        ("unfinished", false.into()),
        ("duration", serde_json::Value::Null),
        ("vm_id", serde_json::Value::Null),
    ] {
        assert_eq!(finish[field], expected, "{field}: {finish}");
    }
    assert!(finish["incarnation"].is_u64() && finish["event_id"].is_string());
}

#[test]
fn cloud_init_26_2_pool_as_a_timeline() {
    let pools = cloud_init_pool("cloud-init-26.2.json");
    let out = pools.run(&["events"]);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    let expected_starts = [
        "2026-06-17T00:00:00.123456Z  CLOUD_INIT  start        init-local  running init-local",
        "2026-06-17T00:00:00.123456Z  CLOUD_INIT  finish       init-local  SUCCESS  644µs  init-local ran successfully",
        "2026-06-17T00:00:00.123456Z  CLOUD_INIT  finish       modules-final  FAIL  12.00s  failed: zzz",
        "2026-06-17T00:00:00.123456Z  Cloud-Init/26.2  report       PROVISIONING_REPORT  success",
        "2026-06-17T00:00:00.123456Z  Cloud-Init/26.2  report       PROVISIONING_REPORT  error  failure to obtain DHCP lease",
        r#"2026-06-17T00:00:01.000000Z  CLOUD_INIT  diagnostic   diagnostic message  é€😀 "quoted" \\ back\nslash\x7f\t"#,
        "2026-06-17T00:00:02.500000Z  CLOUD_INIT  diagnostic   diagnostic message  xéxé",
        "2026-06-17T00:00:03.000001Z  CLOUD_INIT  compressed   dmesg  [",
        "2026-06-17T00:00:03.000001Z  CLOUD_INIT  compressed   cloud-init.log  [",
    ];
    for (line, start) in lines.iter().zip(expected_starts) {
        assert!(
            line.starts_with(start),
            "{line:?}\n  should start with\n{start:?}"
        );
    }
    assert_eq!(lines[9], "");
    assert_eq!(lines[10], "1 record left as they are:");
    assert!(
        lines[11].starts_with("  record 18  not decoded (malformed: ")
            && lines[11].ends_with("key PROVISIONING_REPORT"),
        "{}",
        lines[11]
    );
    assert_eq!(lines.len(), 12, "{text}");

    let value = json(pools.run(&["events", "--json"]).ok());
    let steps = value["timeline"].as_array().expect("timeline");
    // Nanoseconds are the model's resolution.
    assert_eq!(steps[1]["duration"], 0.000644859);
    assert_eq!(steps[1]["vm_id"], "0e5e179d-5341-478b-8456-fbb90621bdf8");
    assert_eq!(steps[1]["format"], "cloud-init-26.1");
    let report = &steps[4];
    assert_eq!(report["entry"], "report");
    assert_eq!(report["position"], 17);
    assert_eq!(report["time"], "2026-06-17T00:00:00.123456Z");
    assert_eq!(report["report"]["reason"], "failure to obtain DHCP lease");
    let dmesg = &steps[7];
    assert_eq!(
        (&dmesg["payload"], &dmesg["encoding"]),
        (&"bytes".into(), &"gz+b64".into())
    );
    let raw = &value["raw"][0];
    assert_eq!(
        (&raw["entry"], &raw["position"]),
        (&"raw".into(), &18.into())
    );
    assert_eq!(
        (&raw["key"], &raw["reason"]),
        (&"PROVISIONING_REPORT".into(), &"malformed".into())
    );
    assert!(raw["detail"].as_str().expect("detail").contains("1023"));
    assert!(raw["value"]
        .as_str()
        .expect("value")
        .starts_with("result=error|"));
}

#[test]
fn every_cloud_init_release_decodes_whole() {
    for name in [
        "cloud-init-22.4.2.json",
        "cloud-init-25.1.4.json",
        "cloud-init-26.2.json",
    ] {
        let fixture = report_fixture(name);
        let pools = cloud_init_pool(name);
        let value = json(pools.run(&["events", "--json"]).ok());
        let events = value["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter(|s| s["entry"] == "event")
            .count();
        assert_eq!(
            events,
            fixture["events"].as_array().expect("events").len(),
            "{name}"
        );
        let times: Vec<&str> = value["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter_map(|s| s["time"].as_str())
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "sorted: {times:?}");
    }
}

#[test]
fn durations_measured_and_unfinished_starts_marked() {
    let pools = Pools::new();
    let pool = store(&pools);
    let ci = CloudInitWriter::new(CloudInitVariant::V22_4, 1_781_654_000);
    let diag = DiagWriter::new("my-agent-1.0", VM).expect("writer");
    let events = [
        (
            &ci as &dyn kvp_report::EventEncoder,
            Event::new(Kind::Start, "init-local", "running").with_timestamp(at(0, 0)),
        ),
        (
            &ci,
            Event::new(Kind::Finish, "init-local", "ran")
                .with_result(Outcome::Success)
                .with_timestamp(at(1, 250)),
        ),
        (
            &ci,
            Event::new(Kind::Start, "modules-final", "running").with_timestamp(at(2, 0)),
        ),
        (
            &diag,
            Event::new(Kind::Start, "provision", "go").with_timestamp(at(3, 0)),
        ),
        // Written first, happened first: the timeline goes by time.
        (
            &diag,
            Event::new(Kind::Event, "early", "first of all").with_timestamp(at(-5, 0)),
        ),
    ];
    for (writer, event) in &events {
        write_event(&pool, *writer, event).expect("write");
    }
    let text = pools.run(&["events"]);
    let lines: Vec<&str> = text.ok().lines().collect();
    assert_eq!(
        lines,
        [
            "2026-06-16T23:59:55.000000Z  my-agent-1.0  event        early  first of all",
            "2026-06-17T00:00:00.000000Z  CLOUD_INIT  start        init-local  running",
            "2026-06-17T00:00:01.250000Z  CLOUD_INIT  finish       init-local  SUCCESS  1.25s  ran",
            "2026-06-17T00:00:02.000000Z  CLOUD_INIT  start        modules-final  UNFINISHED  running",
            "2026-06-17T00:00:03.000000Z  my-agent-1.0  start        provision  UNFINISHED  go",
        ]
    );
    let value = json(pools.run(&["events", "--json"]).ok());
    let unfinished: Vec<bool> = value["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|s| s["unfinished"].as_bool().expect("bool"))
        .collect();
    assert_eq!(unfinished, [false, false, false, true, true]);
    assert_eq!(value["timeline"][2]["duration"], 1.25);
}

#[test]
fn azure_init_tracing_spans_and_events() {
    // As libazureinit/src/kvp.rs writes them (docs/reporting.md, section 3).
    let key = |name: &str, id: &str| {
        format!("azure-init-0.1.1|{VM}|INFO|{name}|9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e{id}")
    };
    let pools = Pools::new();
    pools.write(&[
        "append",
        &key("provision:user:create_user", "5f"),
        "Start: 2026-06-17T00:00:00.000Z | End: 2026-06-17T00:00:02.500Z",
    ]);
    pools.write(&[
        "append",
        &key("provision", "60"),
        r#"Time: 2026-06-17T00:00:01.250Z | Event: msg="Provisioning started""#,
    ]);
    let text = pools.run(&["events"]);
    let lines: Vec<&str> = text.ok().lines().collect();
    assert_eq!(
        lines,
        [
            r#"2026-06-17T00:00:01.250000Z  azure-init-0.1.1  INFO         provision  msg="Provisioning started""#,
            "2026-06-17T00:00:02.500000Z  azure-init-0.1.1  INFO         provision:user:create_user  2.50s",
        ]
    );
    let value = json(pools.run(&["events", "--json"]).ok());
    let span = &value["timeline"][1];
    assert_eq!(
        (&span["format"], &span["kind"]),
        (&"azure-init-tracing".into(), &"finish".into())
    );
    assert_eq!(
        (&span["duration"], &span["unfinished"]),
        (&2.5.into(), &false.into())
    );
}

#[test]
fn hostile_records_are_shown_escaped() {
    let evil = r#"{"name":"n\u001b]0;pwned\u0007","type":"diagnostic","ts":"2026-06-17T00:00:01Z","msg":"a\u001b[2Jb\u202ec\u009bd"}"#;
    let key = b"CLOUD_INIT|1|diagnostic|n\x1b]0;pwned\x07|00000000-0000-0000-0000-000000000001";
    let pools = pool_of(&[
        (key, evil.as_bytes()),
        (b"Status\xff\x1b[31m", "\u{202e}x".as_bytes()),
        (
            b"CLOUD_INIT|1|diagnostic|m|00000000-0000-0000-0000-000000000002",
            br#"{"name":"m","type":"diagnostic","ts":"\u001b[2J","msg":"x"}"#,
        ),
    ]);
    for args in [&["events"][..], &["events", "--json"]] {
        let out = pools.run(args);
        let raw = out.ok().as_bytes();
        let c1 = raw
            .windows(2)
            .any(|w| w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]));
        assert!(
            !raw.contains(&0x1b) && !raw.contains(&0x07) && !c1,
            "{out:?}"
        );
        assert!(!out.stdout.contains('\u{202e}'), "{out:?}");
    }
    let text = pools.run(&["events"]);
    let lines: Vec<&str> = text.ok().lines().collect();
    assert_eq!(
        lines[0],
        r"2026-06-17T00:00:01.000000Z  CLOUD_INIT  diagnostic   n\x1b]0;pwned\x07  a\x1b[2Jb\u{202e}c\u{009b}d"
    );
    assert_eq!(lines[2], "2 records left as they are:");
    assert_eq!(
        lines[3],
        r"  record 1  not an event or report  key Status\xff\x1b[31m"
    );
    assert!(
        lines[4].starts_with(r#"  record 2  not decoded (malformed: ts "\u{1b}[2J" is not"#),
        "{}",
        lines[4]
    );
    let value = json(pools.run(&["events", "--json"]).ok());
    assert_eq!(
        value["timeline"][0]["message"],
        "a\u{1b}[2Jb\u{202e}c\u{9b}d"
    );
    assert_eq!(value["raw"][0]["key"], "Status\u{fffd}\u{1b}[31m");
    assert_eq!(value["raw"][0]["reason"], serde_json::Value::Null);
}

#[test]
fn an_empty_or_missing_pool() {
    let pools = Pools::new();
    let out = pools.run(&["events"]);
    assert!(out.ok().starts_with("no events in "), "{out:?}");
    let value = json(pools.run(&["events", "--json"]).ok());
    assert_eq!(value["timeline"], serde_json::json!([]));
    kvp(&["--dir", "/nonexistent-kvp-dir", "events"]).fails(3, "does not exist");
}

/// `kvp events --follow` running, its stdout read line by line.
struct Follower {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Follower {
    fn spawn(pools: &Pools, extra: &[&str]) -> Follower {
        let mut child = follow_command(pools, extra);
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Follower {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line holding `needle`; panics with what came instead
    /// once [`PATIENCE`] is spent.
    #[track_caller]
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {needle:?}; saw {:?}", self.seen),
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        // Ends it whatever the test did; an already ended child is fine.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn follow_command(pools: &Pools, extra: &[&str]) -> Child {
    let dir = pools.dir.path().to_str().expect("utf-8 temp path");
    let mut command = Command::new(KVP);
    // A terminal's SIGINT, whatever this test inherited: a shell starts
    // background jobs (`cmd &`, nohup) with SIGINT ignored, and exec keeps
    // that, which would make the SIGINT test below wait forever.
    // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    command
        .args(["--dir", dir, "events", "--follow"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kvp events --follow")
}

#[test]
fn follow_prints_new_records_as_they_come() {
    let pools = Pools::new();
    let pool = store(&pools);
    let diag = DiagWriter::new("my-agent-1.0", VM).expect("writer");
    let id = "9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f";
    write_event(
        &pool,
        &diag,
        &Event::new(Kind::Event, "before", "was there").with_timestamp(at(0, 0)),
    )
    .expect("write");
    let mut follower = Follower::spawn(&pools, &[]);
    follower.wait_for("before  was there");

    let start = Event::new(Kind::Start, "provision", "go")
        .with_event_id(id)
        .with_timestamp(at(1, 0));
    write_event(&pool, &diag, &start).expect("write");
    let line = follower.wait_for("provision");
    assert!(
        line.ends_with("start        provision  go"),
        "not marked while it may finish: {line}"
    );
    let finish = Event::new(Kind::Finish, "provision", "done")
        .with_event_id(id)
        .with_result(Outcome::Success)
        .with_duration(Duration::from_millis(312))
        .with_timestamp(at(2, 0));
    write_event(&pool, &diag, &finish).expect("write");
    follower.wait_for("finish       provision  SUCCESS  312.0ms  done");

    // A report written with insert moves no line twice.
    pools
        .run(&["report", "failure", "--reason", "no network", "--vm-id", VM])
        .ok();
    follower.wait_for("report       PROVISIONING_REPORT  error  no network");
    pools.write(&["append", "DIAG_V1|broken", "x"]);
    let raw = follower.wait_for("record 4");
    assert!(raw.contains("not decoded (malformed: "), "{raw}");
    let again: Vec<&String> = follower
        .seen
        .iter()
        .filter(|l| l.contains("was there") || l.contains("start        provision"))
        .collect();
    assert_eq!(again.len(), 2, "each printed once: {:?}", follower.seen);

    // SIGINT keeps its default: kvp ends at once, by the signal.
    let pid = i32::try_from(follower.child.id()).expect("pid");
    // SAFETY: kill(2) on the pid of a child this test spawned and has not
    // reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = wait_with_patience(&mut follower.child);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGINT)
    );
}

#[test]
fn follow_json_prints_one_object_a_line() {
    let pools = Pools::new();
    let pool = store(&pools);
    let ci = CloudInitWriter::new(CloudInitVariant::V26_1, 1_781_654_000).with_vm_id(VM);
    let mut follower = Follower::spawn(&pools, &["--json"]);
    let long = "é".repeat(2000);
    write_event(
        &pool,
        &ci,
        &Event::new(Kind::Event, "diagnostic message", long.as_str())
            .with_type("diagnostic")
            .with_timestamp(at(0, 0)),
    )
    .expect("write");
    let line = follower.wait_for("diagnostic message");
    let value = json(&line);
    assert_eq!(value["entry"], "event");
    assert_eq!(value["message"], long, "chunks reassembled");
    assert!(value["chunks"]["count"].as_u64().expect("count") > 1);
    assert_eq!(value["unfinished"], false);
    pools.write(&["append", "other", "x"]);
    let raw = json(&follower.wait_for("\"entry\":\"raw\""));
    assert_eq!(
        (&raw["key"], &raw["reason"]),
        (&"other".into(), &serde_json::Value::Null)
    );
}

#[test]
fn follow_ends_quietly_when_its_reader_goes() {
    let pools = Pools::new();
    let pool = store(&pools);
    let diag = DiagWriter::new("my-agent-1.0", VM).expect("writer");
    write_event(&pool, &diag, &Event::new(Kind::Event, "first", "x")).expect("write");
    let mut child = follow_command(&pools, &[]);
    let stdout: ChildStdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("read the first line");
    assert!(line.contains("first  x"), "{line}");
    drop(reader);
    // The closed pipe shows at the next line written.
    write_event(&pool, &diag, &Event::new(Kind::Event, "second", "y")).expect("write");
    let status = wait_with_patience(&mut child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert_eq!((status.code(), stderr.as_str()), (Some(0), ""));
}

fn wait_with_patience(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "kvp did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
}
