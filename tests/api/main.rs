//! The one integration test binary: black-box tests over HTTP against the app
//! started in-process on a random port with a fresh database.

mod access;
mod auth;
mod cli;
mod health;
mod helpers;
mod schema;
mod security;
