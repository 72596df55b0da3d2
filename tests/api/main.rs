//! The one integration test binary: black-box tests over HTTP against the app
//! started in-process on a random port with a fresh database.

// A failed step in a test should stop the test where it failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod access;
mod application_emails;
mod applications;
mod audit;
mod auth;
mod auto_invest;
mod browser;
mod calculator;
mod cli;
mod emails;
mod health;
mod helpers;
mod identity;
mod investing;
mod investor_profile;
mod layering;
mod ledger;
mod marketplace;
mod offers;
mod pg_wire;
mod repaying;
mod round_trips;
mod schema;
mod secondary;
mod security;
mod servicing;
mod settings;
mod smtp_server;
mod wallet;
