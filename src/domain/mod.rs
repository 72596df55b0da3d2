//! The pure core: rules and types with no I/O, no database, no clock.
//! Time comes in as an argument; errors are enums named for the rule.

pub mod accrual;
pub mod application;
pub mod identity;
pub mod lifecycle;
pub mod money;
pub mod outbox;
pub mod schedule;
pub mod scoring;
pub mod settings;
pub mod split;
pub mod user;
pub mod xirr;
