pub mod dashboard;
pub mod ledger;
pub mod users;
