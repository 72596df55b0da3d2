//! Stored documents: the loan agreements, one per investment, kept with the
//! SHA-256 of their bytes (every instance serves the same ones).

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::{
    db::entities::documents,
    domain::ids::{DocumentId, InvestmentId, LoanId},
    error::AppError,
};

/// The kind of a loan agreement, as `documents.kind` stores it.
const LOAN_AGREEMENT: &str = "loan_agreement";

/// A loan agreement rendered for one investment.
#[derive(Debug, Clone)]
pub struct Agreement {
    pub investment_id: InvestmentId,
    pub content: Vec<u8>,
    /// Lowercase hex SHA-256 of `content`.
    pub sha256: String,
}

/// A stored agreement as it is served.
#[derive(Debug, Clone)]
pub struct StoredAgreement {
    pub file_name: String,
    pub content_type: String,
    pub content: Vec<u8>,
    pub sha256: String,
}

/// Stores a loan's agreements, in one statement.
///
/// # Errors
/// Database failures.
pub async fn insert_agreements(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
    agreements: Vec<Agreement>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if agreements.is_empty() {
        return Ok(());
    }
    let rows = agreements.into_iter().map(|a| documents::ActiveModel {
        id: Set(DocumentId::new().into()),
        kind: Set(LOAN_AGREEMENT.to_owned()),
        loan_id: Set(loan_id.into()),
        investment_id: Set(Some(a.investment_id.into())),
        file_name: Set(format!("crowdlend-agreement-{}.pdf", a.investment_id)),
        content_type: Set("application/pdf".to_owned()),
        content: Set(a.content),
        sha256: Set(a.sha256),
        created_at: Set(now),
    });
    documents::Entity::insert_many(rows).exec(conn).await?;
    Ok(())
}

/// The stored agreement of an investment.
///
/// # Errors
/// Database failures.
pub async fn agreement_of(
    conn: &impl ConnectionTrait,
    investment_id: InvestmentId,
) -> Result<Option<StoredAgreement>, AppError> {
    Ok(documents::Entity::find()
        .filter(documents::Column::InvestmentId.eq(investment_id))
        .filter(documents::Column::Kind.eq(LOAN_AGREEMENT))
        .one(conn)
        .await?
        .map(|row| StoredAgreement {
            file_name: row.file_name,
            content_type: row.content_type,
            content: row.content,
            sha256: row.sha256,
        }))
}
