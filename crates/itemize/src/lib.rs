//! The `itemize` binary's library half: configuration, the CLI and the wiring, kept here so the integration
//! tests and benchmarks can start the same server the binary does.

pub mod alloccli;
pub mod assetcli;
pub mod cli;
pub mod config;
pub mod costcli;
pub mod wiring;
