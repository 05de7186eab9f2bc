//! Black-box tests of the booking system: real `msa` processes, real HTTP through the gateway, a
//! real bus, real stores, on the testkit's generic harness.

#![allow(clippy::unwrap_used)]

#[macro_use]
extern crate testkit;

mod browser;
mod flows;
mod grpc;
mod isolation;
mod operations;
mod payment;
mod seats;
