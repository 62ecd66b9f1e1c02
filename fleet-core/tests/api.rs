//! API guarantees that would be breaking changes to lose.

// Test helpers panic on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fleet_core::*;

fn send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<Inventory>();
    send_sync::<Snapshot>();
    send_sync::<TargetRef<'_>>();
    send_sync::<Change>();
    send_sync::<FeedCursor>();
    send_sync::<Target>();
    send_sync::<Fleet>();
    send_sync::<Schema>();
    send_sync::<Value>();
    send_sync::<Version>();
    send_sync::<Document>();
    send_sync::<AuditEvent>();
    send_sync::<ManualClock>();
    send_sync::<MemoryAuditSink>();
    send_sync::<InventoryError>();
    send_sync::<FleetFileError>();
    send_sync::<Box<dyn Discover>>();
    send_sync::<Box<dyn Observe>>();
    send_sync::<Box<dyn Apply>>();
    send_sync::<Box<dyn AuditSink>>();
    send_sync::<Box<dyn Clock>>();
}

/// A snapshot can be handed to another thread while the owner keeps writing.
#[test]
fn snapshots_cross_threads() {
    let mut inv = Inventory::new();
    inv.insert(Target::new(TargetId::new("a").unwrap(), "cluster", "aws"))
        .unwrap();
    let snap = inv.snapshot();
    let reader = std::thread::spawn(move || snap.get("a").map(|t| t.kind().to_owned()));
    inv.remove(&TargetId::new("a").unwrap()).unwrap();
    assert_eq!(reader.join().unwrap().as_deref(), Some("cluster"));
    assert!(inv.get("a").is_none());
}
