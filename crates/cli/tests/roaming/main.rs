//! Black-box tests of the roaming system: real `msa` processes, real HTTP through the gateway,
//! a real bus, SQLite files in a temporary directory.

mod browser;
mod edge;
mod faults;
mod flows;
mod helpers;
mod input;
mod lifecycle;
mod scale;
mod up;
