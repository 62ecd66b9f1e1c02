//! The comparison runner: `cargo run --release -p fleet-benches --bin compare -- AREA
//! [--quick]`. It measures fleet and a peer on the same data in one process, prints a
//! readable table and ends with one `RESULT AREA key=value ...` line; see the crate
//! documentation of `fleet_benches` and `compare --help`.
//!
//! Exit codes: 0 when the area ran, 1 when it failed, 2 for a bad command line (unknown
//! area or option).

// This file, and only this file, uses `unsafe`: a counting global allocator must implement
// the `unsafe trait GlobalAlloc`, and each of its methods forwards to `System` in an
// `unsafe` block. The workspace forbids unsafe code; fleet-benches sets the lint to `deny`
// (see its Cargo.toml) so that this file can allow it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use fleet_benches::compare::{self, Command, Meter};

/// Live bytes (requested sizes of allocations not yet freed).
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Allocation calls (`alloc`, `alloc_zeroed`, `realloc`).
static CALLS: AtomicU64 = AtomicU64::new(0);
/// Bytes requested by those calls (for `realloc`, the new size).
static REQUESTED: AtomicU64 = AtomicU64::new(0);

/// `System`, counting every byte it hands out and takes back.
struct Counting;

impl Counting {
    fn allocated(size: usize) {
        LIVE.fetch_add(size, Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
        REQUESTED.fetch_add(size as u64, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and only
// adds bookkeeping on atomics, which neither allocates nor touches the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            Self::allocated(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            Self::allocated(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` and `layout` come from this allocator, which got them from `System`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the caller upholds `realloc`'s contract on `new_size`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // The old block is gone and the new one is live.
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            Self::allocated(new_size);
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The runner's view of the counters above.
struct Counters;

impl Meter for Counters {
    fn live_bytes(&self) -> usize {
        LIVE.load(Ordering::Relaxed)
    }
    fn allocations(&self) -> u64 {
        CALLS.load(Ordering::Relaxed)
    }
    fn allocated_bytes(&self) -> u64 {
        REQUESTED.load(Ordering::Relaxed)
    }
}

fn main() -> anyhow::Result<ExitCode> {
    let (name, options) = match compare::parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            print!("{}", compare::usage());
            return Ok(ExitCode::SUCCESS);
        }
        Ok(Command::Run { area, options }) => (area, options),
        Err(message) => {
            eprintln!("compare: {message}\n");
            eprint!("{}", compare::usage());
            return Ok(ExitCode::from(2));
        }
    };
    let Some(area) = compare::area(&name) else {
        eprintln!("compare: unknown area `{name}`\n");
        eprint!("{}", compare::usage());
        return Ok(ExitCode::from(2));
    };
    let outcome = (area.run)(&options, &Counters)?;
    println!("{}", outcome.result_line(area.name));
    Ok(ExitCode::SUCCESS)
}
