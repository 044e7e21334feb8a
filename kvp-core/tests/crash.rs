//! Writers killed with SIGKILL at random points of their write loops never
//! leave a pool that fails to parse, a torn record, or a lost record of
//! another process. The seed is printed; KVP_CRASH_ROUNDS sets the length
//! (tests/reliability/soak.sh runs it long).

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use kvp_core::{FileStore, KvpStore, RECORD_SIZE};
use support::spawn;

fn main() {
    support::main(
        &[(
            "sigkilled_writers_never_tear_or_lose_records",
            sigkilled_writers,
        )],
        child,
    );
}

/// Writes forever: updates its own key, appends to its log, and trims the
/// log now and then; prints each counter after its insert returned.
fn child(role: &str, path: &Path, extra: &[String]) {
    assert_eq!(role, "looper");
    let id = &extra[0];
    let store = FileStore::open(path).expect("open");
    let mut out = std::io::stdout();
    for counter in 0u64.. {
        store
            .insert(&format!("own-{id}"), &counter.to_string())
            .expect("insert");
        writeln!(out, "{counter}").expect("report");
        out.flush().expect("flush");
        store
            .append(&format!("log-{id}"), &counter.to_string())
            .expect("append");
        if counter % 8 == 7 {
            store.delete(&format!("log-{id}")).expect("delete");
        }
    }
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

struct Looper {
    id: String,
    child: Child,
    acked: mpsc::Receiver<u64>,
}

fn start(path: &Path, id: String) -> Looper {
    let mut child = spawn("looper", path, std::slice::from_ref(&id));
    let stdout = child.stdout.take().expect("stdout");
    let (tx, acked) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(counter) = line.parse() {
                let _ = tx.send(counter);
            }
        }
    });
    Looper { id, child, acked }
}

fn sigkilled_writers() -> Result<(), String> {
    let seed = std::env::var("KVP_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    let rounds: usize = std::env::var("KVP_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    println!("crash: seed {seed}, {rounds} rounds (KVP_CRASH_SEED, KVP_CRASH_ROUNDS)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".kvp_pool_1");
    let store = FileStore::open(&path).expect("open");
    store
        .insert("sentinel", "written before any crash")
        .expect("sentinel");
    let mut last_acked: Vec<(String, u64)> = Vec::new();
    for round in 0..rounds {
        let mut loopers: Vec<Looper> = (0..4)
            .map(|i| start(&path, format!("{round}-{i}")))
            .collect();
        for looper in &mut loopers {
            std::thread::sleep(Duration::from_millis(5 + rng.below(40)));
            looper.child.kill().expect("SIGKILL");
        }
        for mut looper in loopers {
            let status = looper.child.wait().expect("reap");
            // A writer that died by itself (an error, a panic) would make
            // the round vacuous: only our SIGKILL may end it.
            assert_eq!(
                status.signal(),
                Some(libc::SIGKILL),
                "writer {} ended by itself: {status}",
                looper.id
            );
            if let Some(acked) = looper.acked.iter().last() {
                last_acked.push((looper.id.clone(), acked));
            }
        }
        check(&store, &last_acked, round)?;
        // Each round starts from the sentinel alone, so long runs never
        // approach the unique-key cap.
        // Writers killed before their first acknowledgement may have
        // written too, so clean up by what the pool holds.
        last_acked.clear();
        let mut keys: Vec<String> = store
            .records()
            .expect("records")
            .into_iter()
            .map(|r| r.key)
            .collect();
        keys.retain(|k| k != "sentinel");
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        store.delete_many(&keys).expect("clean up the round");
        assert_eq!(
            store.unique_keys().expect("unique"),
            1,
            "only the sentinel is left"
        );
    }
    Ok(())
}

fn check(store: &FileStore, acked: &[(String, u64)], round: usize) -> Result<(), String> {
    let records = store
        .records()
        .map_err(|e| format!("round {round}: the pool does not parse: {e}"))?;
    let size = std::fs::metadata(store.path()).expect("stat").len();
    let whole = size / RECORD_SIZE as u64;
    assert_eq!(records.len() as u64, whole);
    assert_eq!(
        store.read("sentinel").expect("read").as_deref(),
        Some("written before any crash")
    );
    for record in &records {
        let known = record.key == "sentinel"
            || ((record.key.starts_with("own-") || record.key.starts_with("log-"))
                && record.value.parse::<u64>().is_ok());
        assert!(known, "round {round}: torn or foreign record {record:?}");
    }
    for (id, counter) in acked {
        let value: u64 = store
            .read(&format!("own-{id}"))
            .expect("read")
            .unwrap_or_else(|| panic!("round {round}: own-{id} lost"))
            .parse()
            .expect("a number");
        assert!(
            value >= *counter,
            "round {round}: own-{id} went back from {counter} to {value}"
        );
        assert!(
            value <= counter + 1,
            "round {round}: own-{id} is {value}, beyond {counter}+1"
        );
    }
    Ok(())
}
