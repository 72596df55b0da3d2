pub mod password;
pub mod summary;
