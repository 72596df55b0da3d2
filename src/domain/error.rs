//! Why the platform refuses a request that is well formed: the typed reasons
//! a use case returns (`AppError::Domain`). They carry data, not sentences:
//! the web says each in words, in one place (`web::error`), and a job or the
//! command line may say them differently. The `Display` texts are for logs.

use crate::domain::{
    lifecycle::{IllegalTransition, LoanStatus},
    outbox::EmailState,
    user::KycStatus,
};

/// A request refused by a rule of the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A loan move its lifecycle does not allow.
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// The investor's identity check has not passed (while it is required).
    #[error("the investor's identity is not verified")]
    IdentityNotVerified,
    /// The investor has not accepted the risk declaration.
    #[error("the risk declaration is not accepted")]
    RiskDeclarationNotAccepted,
    /// The loan takes no commitments: it is not open for funding.
    #[error("the loan is not open for investment")]
    LoanNotOpen,
    /// The loan's funding deadline has passed.
    #[error("the loan's funding deadline has passed")]
    FundingClosed,
    /// The investment is no longer a reservation that can be changed.
    #[error("the investment is not a reservation any more")]
    InvestmentNotChangeable,
    /// The investment's loan is no longer open for funding.
    #[error("the investment's loan is no longer in funding")]
    FundingOver,
    /// Only a fully funded loan can be paid out.
    #[error("a loan that is {status:?} cannot be paid out")]
    NotPayable { status: LoanStatus },
    /// Only a loan being repaid (or defaulted, for recoveries) takes payments.
    #[error("a loan that is {status:?} takes no payments")]
    NotRepaying { status: LoanStatus },
    /// The borrower's identity must be verified before their loan is listed.
    #[error("the borrower's identity is not verified")]
    BorrowerNotVerified,
    /// The borrower has no profile yet, so cannot apply.
    #[error("the borrower has no profile")]
    ProfileMissing,
    /// The borrower already has an application in progress.
    #[error("the borrower already has an open application")]
    ApplicationOpen,
    /// An identity check can be decided only while it waits for review.
    #[error("the identity check is {status:?}, not waiting for review")]
    IdentityNotAwaitingReview { status: KycStatus },
    /// Money has moved through the bank account, so it is kept.
    #[error("the bank account has been used")]
    BankAccountUsed,
    /// The loan is funded at the platform's rate: it takes investments, not offers.
    #[error("the loan takes investments, not offers")]
    LoanAtPlatformRate,
    /// The loan is priced by lenders' offers: it takes offers, not investments.
    #[error("the loan takes offers, not investments")]
    LoanTakesOffers,
    /// The offer is no longer waiting for the borrower.
    #[error("the offer is no longer pending")]
    OfferClosed,
    /// The investment has an open listing already.
    #[error("the investment is listed already")]
    AlreadyListed,
    /// The listing is no longer on sale.
    #[error("the listing is no longer on sale")]
    ListingClosed,
    /// A buyer cannot buy their own listing.
    #[error("the buyer listed it")]
    OwnListing,
    /// A stored agreement no longer matches its fingerprint.
    #[error("the agreement failed its integrity check")]
    AgreementAltered,
    /// Only a failed email can be put back in the queue.
    #[error("the email is {state:?}, not failed")]
    EmailNotFailed { state: EmailState },
    /// A money-moving form came without its submission key.
    #[error("the submission key is missing or malformed")]
    SubmissionKeyMissing,
    /// The submission key was already used with other values.
    #[error("the submission key was used with other values")]
    SubmissionKeyReused,
}
