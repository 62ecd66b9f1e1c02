//! Runnable programs that compose the fleet crates. The main one is `demo`:
//!
//! ```text
//! cargo run -p fleet-examples --bin demo
//! ```
//!
//! The README's example is compiled and run as a doctest of this crate, so it stays true.
//!
//! The demo's longer steps live in modules here.
#![doc = ""]
#![doc = include_str!("../../README.md")]

pub mod drift;
pub mod release;
pub mod rollout;
