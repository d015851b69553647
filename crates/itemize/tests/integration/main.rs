//! itemize's integration tests: one test binary, a module per feature. Storage, API and import tests run on
//! SQLite and on PostgreSQL (see `harness`).

#[macro_use]
mod harness;

mod allocation;
mod api;
mod assets;
mod auth;
mod authz;
mod browser;
mod cli;
mod contract;
mod cost_ledger;
mod csv_import;
mod pages;
mod server;
mod web;
