//! Serving stored documents to their parties only. A loan agreement is for
//! the investor who holds the investment, the loan's borrower and staff;
//! everyone else is told it does not exist. Before any bytes leave, their
//! SHA-256 is computed again and compared with the hash stored with the
//! investment when the agreement was made: a mismatch is refused, logged and
//! audited.

use serde_json::json;

use crate::{
    clock::Clock,
    db::{
        self,
        repo::{
            documents::{self, StoredAgreement},
            investments,
        },
    },
    domain::{
        error::DomainError,
        ids::{InvestmentId, UserId},
        user::Role,
    },
    error::AppError,
    pdf,
    services::{
        RequestMeta,
        audit::{self, AuditEvent},
    },
};

/// Who is asking.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub id: UserId,
    pub role: Role,
}

/// The agreement of `investment_id`, checked, for `viewer`.
///
/// # Errors
/// `NotFound` for anyone but the parties and staff, or before the agreement
/// exists; `Domain(AgreementAltered)` when the stored document no longer matches its hash.
pub async fn agreement(
    db: &sea_orm::DatabaseConnection,
    clock: &dyn Clock,
    viewer: Viewer,
    investment_id: InvestmentId,
    meta: &RequestMeta,
) -> Result<StoredAgreement, AppError> {
    let (investment, loan) = investments::with_loan(db, investment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let party = viewer.role.is_staff()
        || (viewer.role == Role::Investor && investment.investor_id == viewer.id)
        || (viewer.role == Role::Borrower && loan.borrower_id == viewer.id);
    if !party {
        return Err(AppError::NotFound);
    }
    let document = documents::agreement_of(db, investment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let actual = pdf::sha256_hex(&document.content);
    let intact =
        investment.agreement_hash.as_deref() == Some(actual.as_str()) && document.sha256 == actual;
    if !intact {
        tracing::error!(
            %investment_id,
            stored = ?investment.agreement_hash,
            actual = %actual,
            "a loan agreement no longer matches its stored hash; download refused"
        );
        let txn = db::begin_write(db).await?;
        audit::record(
            &txn,
            AuditEvent {
                actor_id: Some(viewer.id),
                action: "agreement_integrity_failed",
                entity: Some(("investment", investment_id.to_string())),
                before: Some(json!({ "stored_sha256": investment.agreement_hash })),
                after: Some(json!({ "actual_sha256": actual })),
                meta,
                at: clock.now(),
            },
        )
        .await?;
        db::commit(txn).await?;
        return Err(DomainError::AgreementAltered.into());
    }
    Ok(document)
}
