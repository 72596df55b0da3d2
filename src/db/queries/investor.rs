//! The investor's dashboard (account, wallet and portfolio totals), and the
//! profile and nominees as the profile page shows them.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, RelationTrait, Value,
    sea_query::{Expr, SelectStatement},
};

use crate::{
    db::{
        entities::{investments, investor_profiles, nominees, users, wallets},
        queries::{
            fixed_sql::FixedSql,
            users::{self as users_queries, AccountSummary},
            wallet::with_wallet_columns,
        },
        repo::wallets as wallets_repo,
    },
    domain::{ids::UserId, investing::InvestmentStatus, money::Currency},
    error::AppError,
};

/// What the investor's home shows: the account with its wallet, and per
/// status of their investments how many and how much (minor units).
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub account: AccountSummary,
    pub totals: Vec<(InvestmentStatus, i64, i64)>,
}

/// The account and wallet columns, repeated on every row of the dashboard's
/// statement but read from the first only.
#[derive(Debug, FromQueryResult)]
struct AccountColumns {
    email: String,
    full_name: String,
    kyc_status: String,
    created_at: DateTime<Utc>,
    #[sea_orm(nested(prefix = "wallet_"))]
    wallet: Option<wallets::Model>,
}

/// One status's totals, read from each row (one row with no status when
/// there are no investments).
#[derive(Debug, FromQueryResult)]
struct StatusColumns {
    status: Option<String>,
    count: i64,
    total: Option<i64>,
}

/// The dashboard of `user_id`, in one statement.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn dashboard(
    conn: &impl ConnectionTrait,
    user_id: UserId,
) -> Result<Option<Dashboard>, AppError> {
    static DASHBOARD: FixedSql = FixedSql::new();
    let inputs = [Value::from(user_id), Currency::Rub.code().into()];
    let statement = DASHBOARD.statement(conn.get_database_backend(), &inputs, || {
        dashboard_statement(user_id)
    });
    let rows = conn.query_all_raw(statement).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let first = AccountColumns::from_query_result(first, "")?;
    let account = AccountSummary {
        kyc_status: users_queries::kyc_status(user_id.as_uuid(), &first.kyc_status)?,
        email: first.email,
        full_name: first.full_name,
        created_at: first.created_at,
        wallet: first.wallet.map(wallets_repo::parse).transpose()?,
    };
    let mut totals = Vec::new();
    for row in &rows {
        let StatusColumns {
            status,
            count,
            total,
        } = StatusColumns::from_query_result(row, "")?;
        let Some(status) = status else {
            continue;
        };
        let status = InvestmentStatus::parse(&status).ok_or_else(|| {
            AppError::Unexpected(anyhow::anyhow!("an investment status {status:?}"))
        })?;
        totals.push((status, count, total.unwrap_or(0)));
    }
    Ok(Some(Dashboard { account, totals }))
}

fn dashboard_statement(user_id: UserId) -> SelectStatement {
    let account = users::Entity::find_by_id(user_id)
        .select_only()
        .columns([
            users::Column::Email,
            users::Column::FullName,
            users::Column::KycStatus,
            users::Column::CreatedAt,
        ])
        .join(JoinType::LeftJoin, users_queries::rouble_wallet());
    with_wallet_columns(account)
        .join(JoinType::LeftJoin, users::Relation::Investments.def())
        .column(investments::Column::Status)
        .column_as(investments::Column::Id.count(), "count")
        // PostgreSQL sums BIGINT as NUMERIC; the cast reads back as i64 on both.
        .column_as(
            Expr::cust("CAST(SUM(investments.amount) AS BIGINT)"),
            "total",
        )
        // The user's and the wallet's keys: their other columns follow.
        .group_by(users::Column::Id)
        .group_by(wallets::Column::Id)
        .group_by(investments::Column::Status)
        .into_query()
}

/// The investor's profile as stored.
#[derive(Debug, Clone)]
pub struct StoredProfile {
    pub tax_id: Option<String>,
    pub qualified: bool,
    pub risk_declaration_accepted_at: Option<DateTime<Utc>>,
    /// In the order they were listed.
    pub nominees: Vec<StoredNominee>,
}

/// One nominee as stored.
#[derive(Debug, Clone)]
pub struct StoredNominee {
    pub name: String,
    /// The `Kinship` word.
    pub relation: String,
    pub share_pct: i32,
}

/// The stored profile with its nominees, if the investor saved one.
///
/// # Errors
/// On database failure.
pub async fn profile(
    conn: &impl ConnectionTrait,
    user_id: UserId,
) -> Result<Option<StoredProfile>, AppError> {
    let Some(profile) = investor_profiles::Entity::find_by_id(user_id)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let nominees = nominees::Entity::find()
        .filter(nominees::Column::UserId.eq(user_id))
        .order_by_asc(nominees::Column::CreatedAt)
        .order_by_asc(nominees::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|n| StoredNominee {
            name: n.name,
            relation: n.relation,
            share_pct: n.share_pct,
        })
        .collect();
    Ok(Some(StoredProfile {
        tax_id: profile.tax_id,
        qualified: profile.qualified,
        risk_declaration_accepted_at: profile.risk_declaration_accepted_at,
        nominees,
    }))
}
