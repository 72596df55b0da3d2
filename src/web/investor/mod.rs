pub mod dashboard;
pub mod profile;
