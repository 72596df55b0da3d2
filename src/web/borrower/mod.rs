pub mod dashboard;
pub mod loans;
pub mod profile;
pub mod repayment;
