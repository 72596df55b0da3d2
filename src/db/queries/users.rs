//! Accounts as the back office and the account pages show them.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, JoinType, Order, QueryFilter,
    QueryOrder, QuerySelect, RelationDef, RelationTrait,
    sea_query::{Expr, ExprTrait, IntoCondition, SimpleExpr},
};
use uuid::Uuid;

use super::{Page, fetch_page};
use crate::{
    db::{
        entities::{identity_documents, users, wallets},
        repo::{users as users_repo, wallets as wallets_repo},
    },
    domain::{
        identity::DocumentType,
        ids::UserId,
        money::Currency,
        user::{KycStatus, User},
        wallet::Wallet,
    },
    error::AppError,
};
use sea_orm::{QueryTrait, SelectModel};

pub const USERS_PER_PAGE: u64 = 50;

#[derive(Debug, Clone, FromQueryResult)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub full_name: String,
    pub role: String,
    pub kyc_status: String,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When the identity details were last sent, if ever.
    pub identity_sent_at: Option<DateTime<Utc>>,
}

/// What the list of accounts can be narrowed to.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserFilter<'a> {
    pub role: Option<&'a str>,
    pub kyc_status: Option<&'a str>,
}

/// Accounts, optionally of one role or KYC status. Those waiting for an
/// identity review come first, the longest-waiting first (the review
/// queue); then everyone else, newest first.
///
/// # Errors
/// On database failure.
pub async fn list(
    db: &DatabaseConnection,
    filter: UserFilter<'_>,
    page: Option<u64>,
) -> Result<Page<UserRow>, AppError> {
    let is_pending = || users::Column::KycStatus.eq(KycStatus::Pending.as_str());
    let pending_first: SimpleExpr = Expr::case(is_pending(), 0).finally(1).into();
    let longest_waiting_first: SimpleExpr = Expr::case(
        is_pending(),
        Expr::col((
            identity_documents::Entity,
            identity_documents::Column::UpdatedAt,
        )),
    )
    .into();
    let mut query = users::Entity::find()
        .select_only()
        .columns([
            users::Column::Id,
            users::Column::Email,
            users::Column::FullName,
            users::Column::Role,
            users::Column::KycStatus,
            users::Column::LockedUntil,
            users::Column::CreatedAt,
        ])
        .column_as(identity_documents::Column::UpdatedAt, "identity_sent_at")
        .join(
            JoinType::LeftJoin,
            identity_documents::Relation::User.def().rev(),
        )
        .order_by(pending_first, Order::Asc)
        .order_by(longest_waiting_first, Order::Asc)
        .order_by_desc(users::Column::CreatedAt)
        .order_by_desc(users::Column::Id);
    if let Some(role) = filter.role {
        query = query.filter(users::Column::Role.eq(role));
    }
    if let Some(status) = filter.kyc_status {
        query = query.filter(users::Column::KycStatus.eq(status));
    }
    fetch_page::<SelectModel<UserRow>>(db, query.into_query(), USERS_PER_PAGE, page).await
}

/// How many accounts hold each role, in `Role::ALL` order.
///
/// # Errors
/// On database failure.
pub async fn count_by_role(db: &DatabaseConnection) -> Result<Vec<(String, u64)>, AppError> {
    #[derive(FromQueryResult)]
    struct RoleCount {
        role: String,
        accounts: i64,
    }
    let counts = users::Entity::find()
        .select_only()
        .column(users::Column::Role)
        .column_as(users::Column::Id.count(), "accounts")
        .group_by(users::Column::Role)
        .into_model::<RoleCount>()
        .all(db)
        .await?;
    Ok(crate::domain::user::Role::ALL
        .iter()
        .map(|role| {
            let accounts = counts
                .iter()
                .find(|c| c.role == role.as_str())
                .map_or(0, |c| c.accounts.unsigned_abs());
            (role.as_str().to_owned(), accounts)
        })
        .collect())
}

/// The account facts every dashboard starts with.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub email: String,
    pub full_name: String,
    pub kyc_status: KycStatus,
    pub created_at: DateTime<Utc>,
    /// The account's wallet (in roubles until multi-currency wallets arrive).
    pub wallet: Option<Wallet>,
}

/// The join from a user to their wallet in roubles (the one currency the
/// dashboards show until multi-currency wallets arrive).
pub(super) fn rouble_wallet() -> RelationDef {
    let currency = Currency::Rub;
    users::Relation::Wallets
        .def()
        .on_condition(move |_, wallet| {
            Expr::col((wallet, wallets::Column::Currency))
                .eq(currency.code())
                .into_condition()
        })
}

/// A stored identity check status, or the error naming the user whose row
/// holds something else.
pub(super) fn kyc_status(user_id: Uuid, stored: &str) -> Result<KycStatus, AppError> {
    KycStatus::parse(stored).ok_or_else(|| {
        AppError::Unexpected(anyhow::anyhow!(
            "user {user_id}: identity check status {stored:?}"
        ))
    })
}

/// The account `user_id` for its dashboard.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn account(
    db: &DatabaseConnection,
    user_id: UserId,
) -> Result<Option<AccountSummary>, AppError> {
    let Some((user, wallet)) = users::Entity::find_by_id(user_id)
        .join(JoinType::LeftJoin, rouble_wallet())
        .select_also(wallets::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(AccountSummary {
        kyc_status: kyc_status(user.id, &user.kyc_status)?,
        email: user.email,
        full_name: user.full_name,
        created_at: user.created_at,
        wallet: wallet.map(wallets_repo::parse).transpose()?,
    }))
}

/// One account as the back office's user page (and the person's identity
/// page) shows it, with the identity details it submitted.
#[derive(Debug, Clone)]
pub struct UserDetail {
    pub user: User,
    /// Why the identity check was rejected, when it was.
    pub kyc_reason: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub identity: Option<IdentityDetails>,
}

/// Identity details as the person sent them.
#[derive(Debug, Clone)]
pub struct IdentityDetails {
    pub document_type: DocumentType,
    pub document_number: String,
    pub issued_on: NaiveDate,
    pub address: String,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One account and its identity details, or `None` for an unknown id.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn detail(
    db: &DatabaseConnection,
    user_id: UserId,
) -> Result<Option<UserDetail>, AppError> {
    let Some(row) = users::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(None);
    };
    let identity = identity_documents::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .map(|document| {
            Ok::<_, AppError>(IdentityDetails {
                document_type: DocumentType::parse(&document.document_type).map_err(|_| {
                    AppError::Unexpected(anyhow::anyhow!(
                        "identity document of user {user_id}: type {:?}",
                        document.document_type
                    ))
                })?,
                document_number: document.document_number,
                issued_on: document.issued_on,
                address: document.address,
                submitted_at: document.submitted_at,
                updated_at: document.updated_at,
            })
        })
        .transpose()?;
    Ok(Some(UserDetail {
        kyc_reason: row.kyc_reason.clone(),
        locked_until: row.locked_until,
        created_at: row.created_at,
        user: users_repo::parse(row)?,
        identity,
    }))
}
