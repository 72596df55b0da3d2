//! `users`: accounts. Mirrors migration `m20261122_000001`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Stored lowercased by the app; unique.
    #[sea_orm(column_type = "Text", unique)]
    pub email: String,
    #[sea_orm(column_type = "Text")]
    pub password_hash: String,
    #[sea_orm(column_type = "Text")]
    pub full_name: String,
    /// `borrower` | `investor` | `staff` | `admin`.
    #[sea_orm(column_type = "Text")]
    pub role: String,
    /// `none` | `pending` | `verified` | `rejected`.
    #[sea_orm(column_type = "Text")]
    pub kyc_status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub kyc_reason: Option<String>,
    pub failed_login_count: i32,
    pub locked_until: Option<DateTimeUtc>,
    pub password_changed_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::sessions::Entity")]
    Sessions,
    #[sea_orm(has_one = "super::borrower_profiles::Entity")]
    BorrowerProfiles,
    #[sea_orm(has_many = "super::borrower_liabilities::Entity")]
    BorrowerLiabilities,
    #[sea_orm(has_many = "super::borrower_assets::Entity")]
    BorrowerAssets,
    #[sea_orm(has_one = "super::investor_profiles::Entity")]
    InvestorProfiles,
    #[sea_orm(has_many = "super::loan_requests::Entity")]
    LoanRequests,
    #[sea_orm(has_many = "super::investments::Entity")]
    Investments,
    #[sea_orm(has_many = "super::wallets::Entity")]
    Wallets,
    #[sea_orm(has_many = "super::ledger_entries::Entity")]
    LedgerEntries,
    #[sea_orm(has_many = "super::audit_log::Entity")]
    AuditLog,
    #[sea_orm(has_many = "super::platform_settings::Entity")]
    PlatformSettings,
}

impl Related<super::sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sessions.def()
    }
}

impl Related<super::borrower_profiles::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BorrowerProfiles.def()
    }
}

impl Related<super::borrower_liabilities::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BorrowerLiabilities.def()
    }
}

impl Related<super::borrower_assets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BorrowerAssets.def()
    }
}

impl Related<super::investor_profiles::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::InvestorProfiles.def()
    }
}

impl Related<super::loan_requests::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::LoanRequests.def()
    }
}

impl Related<super::investments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Investments.def()
    }
}

impl Related<super::wallets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Wallets.def()
    }
}

impl Related<super::ledger_entries::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::LedgerEntries.def()
    }
}

impl Related<super::audit_log::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuditLog.def()
    }
}

impl Related<super::platform_settings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PlatformSettings.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
