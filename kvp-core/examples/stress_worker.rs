//! One worker of the cross-language multi-process stress test
//! (tests/reliability/stress.sh): the kvp-core face. The C
//! (tests/reliability/stress_worker.c) and Python
//! (tests/reliability/stress_worker.py) workers run the same loop, so
//! tests/reliability/stress_verify.py can predict the pool's final state.
//!
//! `cargo run --release -p kvp-core --example stress_worker -- POOL ID ROUNDS`
//!
//! Round `r`: insert `own-ID-(r%4)` = r and read it back; append `log-ID` =
//! r; append `tmp-ID` = r, and every fifth round delete `tmp-ID`, which must
//! remove exactly the records appended since the last delete; read a peer's
//! key. Only this worker writes its keys, so any other outcome is a lost or
//! foreign update, and the worker exits 1 saying which.

use std::process::ExitCode;

use kvp_core::{FileStore, KvpStore};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(id), Some(rounds)) = (
        args.get(1),
        args.get(2),
        args.get(3).and_then(|r| r.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: stress_worker POOL ID ROUNDS");
        return ExitCode::from(2);
    };
    match run(path, id, rounds) {
        Ok(()) => {
            println!("{id}: {rounds} rounds, every read and delete as expected");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("{id}: {why}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &str, id: &str, rounds: u64) -> Result<(), String> {
    let store = FileStore::open(path).map_err(|e| e.to_string())?;
    let fail = |what: &str, e: kvp_core::Error| format!("{what}: {e}");
    let (log, tmp) = (format!("log-{id}"), format!("tmp-{id}"));
    let mut pending = 0usize;
    for round in 0..rounds {
        let value = round.to_string();
        let own = format!("own-{id}-{}", round % 4);
        store.insert(&own, &value).map_err(|e| fail("insert", e))?;
        let back = store.read(&own).map_err(|e| fail("read", e))?;
        if back.as_deref() != Some(value.as_str()) {
            return Err(format!(
                "round {round}: {own} reads {back:?}, wrote {value}"
            ));
        }
        store.append(&log, &value).map_err(|e| fail("append", e))?;
        store.append(&tmp, &value).map_err(|e| fail("append", e))?;
        pending += 1;
        if round % 5 == 4 {
            let removed = store.delete(&tmp).map_err(|e| fail("delete", e))?;
            if removed != pending {
                return Err(format!(
                    "round {round}: delete {tmp} removed {removed}, expected {pending}"
                ));
            }
            pending = 0;
        }
        // Another process's key and the whole pool: must read, whatever
        // state they are in.
        store.read("daemon-0").map_err(|e| fail("read", e))?;
        if round % 10 == 9 {
            store.records().map_err(|e| fail("records", e))?;
        }
    }
    Ok(())
}
