//! The README's demo: writes and reads pool 1 in a local directory.
//!
//! `cargo run -p kvp-core --example demo -- DIR`

use kvp_core::{KvpStore, Options, Pool};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "demo-pools".to_owned());
    let pool = Options::new().open_pool(Pool::Guest, Some(dir.as_ref()))?;
    pool.clear()?;
    pool.insert("PROVISIONING_REPORT", "result=success|agent=kvp-demo")?;
    pool.append("DIAGNOSTIC", "step 1: network up")?;
    pool.append("DIAGNOSTIC", "step 2: disks mounted")?;
    pool.insert("Région", "Zürich-Nord")?;
    println!(
        "{}: {} records, {} unique keys",
        pool.path().display(),
        pool.len()?,
        pool.unique_keys()?
    );
    for record in pool.records()? {
        println!("  {:<20} = {}", record.key, record.value);
    }
    println!("read DIAGNOSTIC -> {:?}", pool.read("DIAGNOSTIC")?);
    println!("delete DIAGNOSTIC removed {}", pool.delete("DIAGNOSTIC")?);
    println!("dump: {}", pool.dump_json()?);
    if let Err(e) = pool.insert("TOO_LONG", &"x".repeat(1023)) {
        println!("a 1023-character value is refused: {e}");
    }
    Ok(())
}
