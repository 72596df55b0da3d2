pub mod auto_invest;
pub mod dashboard;
pub mod investments;
pub mod profile;
pub mod sell;
