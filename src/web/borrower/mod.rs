pub mod dashboard;
pub mod loans;
pub mod offers;
pub mod profile;
pub mod repayment;
