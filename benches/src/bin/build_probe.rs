//! Times the inventory's insert loop alone, under the system allocator (no counting
//! allocator), and reading the same input without inserting it: the figures BENCHMARKS.md
//! uses to split the `core` runner's build time. Then times `SelectorIndex::build` on the
//! result.
//!
//! ```text
//! cargo run --release -p fleet-benches --bin build_probe [-- TARGETS [insert|put_all]]
//! ```
//!
//! With `insert` (one `put_ref` per target) or `put_all` (one `Inventory::put_all`), the
//! process builds that way and exits right after (no index build, no drops), so that a
//! profile recorded from the end of generation (`perf record -D MS`, the generation time is
//! printed) holds the build alone.

use std::hint::black_box;
use std::time::Instant;

use anyhow::Context as _;
use fleet_core::{Expect, Inventory};

/// This process's user + system CPU time in milliseconds, from `/proc/self/stat` (Linux;
/// `None` elsewhere). Unlike the wall clock, it leaves out time the virtual machine's CPU was
/// taken away (steal), which on a shared 2-core machine varies by tens of percent.
fn cpu_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // the command name (field 2) may hold spaces; fields after it are plain
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11); // fields 14 (utime) and 15 (stime)
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on
    Some((utime + stime) * 10)
}

fn main() -> anyhow::Result<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().context("TARGETS must be a number")?,
        None => 1_000_000,
    };
    let mode = std::env::args().nth(2);
    let insert_only = mode.is_some();
    let bulk = mode.as_deref() == Some("put_all");
    let started = Instant::now();
    // the `core` area's data set (12 properties, 8 labels per target)
    let targets = fleet_benches::core_targets(n);
    println!("generate: {:.0} ms", started.elapsed().as_secs_f64() * 1e3);

    let started = Instant::now();
    // every byte of every string an insert reads (ids, names, string values), as interning
    // hashes or compares them all: the floor of what an insert costs
    let bytes = |s: &str| {
        s.bytes()
            .fold(0usize, |a, b| a.wrapping_add(usize::from(b)))
    };
    let mut sum = 0usize;
    for t in &targets {
        sum += bytes(t.id.as_str()) + bytes(&t.kind) + bytes(&t.substrate);
        for (k, v) in &t.properties {
            sum += bytes(k) + v.as_str().map_or(0, bytes);
        }
        for (k, v) in &t.labels {
            sum += bytes(k) + bytes(v);
        }
    }
    let read = started.elapsed();
    black_box(sum);

    let cpu_before = cpu_ms();
    let started = Instant::now();
    let mut inventory = Inventory::new();
    if bulk {
        inventory.put_all(&targets, Expect::Absent)?;
    } else {
        for t in &targets {
            inventory.put_ref(t, Expect::Absent)?;
        }
    }
    let build = started.elapsed();
    let cpu = cpu_ms().zip(cpu_before).map(|(a, b)| a.saturating_sub(b));
    black_box(&inventory);

    println!("targets: {n} (the core area's data: 12 properties and 8 labels each)");
    println!("read the input only: {:.0} ms", read.as_secs_f64() * 1e3);
    println!(
        "{}: {:.0} ms{}",
        if bulk {
            "build (put_all)"
        } else {
            "insert loop (put_ref)"
        },
        build.as_secs_f64() * 1e3,
        cpu.map(|c| format!(" (process CPU time {c} ms)"))
            .unwrap_or_default()
    );
    if insert_only {
        std::process::exit(0);
    }

    // The selector index over the same snapshot, three builds (the figure is the median).
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let index = fleet_selectors::SelectorIndex::build(inventory.view());
        times.push(started.elapsed());
        black_box(&index);
    }
    times.sort_unstable();
    if let Some(t) = times.get(1) {
        println!(
            "selector index build (median of 3): {:.0} ms",
            t.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
