pub mod applications;
pub mod audit;
pub mod dashboard;
pub mod ledger;
pub mod settings;
pub mod users;
