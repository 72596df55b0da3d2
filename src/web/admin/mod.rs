pub mod dashboard;
pub mod users;
