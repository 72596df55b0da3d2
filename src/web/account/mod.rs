pub mod identity;
pub mod password;
pub mod summary;
