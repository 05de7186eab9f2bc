//! Black-box tests of the roaming system: real `msa` processes, real HTTP through the gateway,
//! a real bus, SQLite files in a temporary directory.

#![allow(clippy::unwrap_used)]

#[macro_use]
extern crate testkit;

mod browser;
mod edge;
mod faults;
mod flows;
mod gateways;
mod grpc;
mod helpers;
mod input;
mod lifecycle;
mod monitor;
mod operations;
mod podman;
mod scale;
mod stores;
mod traces;
mod up;
