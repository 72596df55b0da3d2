pub mod health;
pub mod home;
