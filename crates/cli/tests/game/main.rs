//! Black-box tests of the game system: real `msa` processes, real HTTP and gRPC through the
//! gateway, a real bus, real stores, on the testkit's generic harness.

#![allow(clippy::unwrap_used)]

#[macro_use]
extern crate testkit;

mod browser;
mod flows;
mod gift;
mod grpc;
mod isolation;
mod operations;
