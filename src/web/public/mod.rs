pub mod calculator;
pub mod health;
pub mod home;
