pub mod applications;
pub mod audit;
pub mod dashboard;
pub mod jobs;
pub mod ledger;
pub mod loans;
pub mod settings;
pub mod users;
