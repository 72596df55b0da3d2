pub mod dashboard;
pub mod investments;
pub mod profile;
