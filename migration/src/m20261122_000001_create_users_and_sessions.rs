//! Accounts (`users`) and the server-side session store (`sessions`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    // Explicit NOT NULL on every uuid primary key: SQLite lets
                    // non-INTEGER primary keys hold NULL unless told otherwise.
                    .col(ColumnDef::new(Users::Id).uuid().not_null().primary_key())
                    // Unique on the stored value; the app lowercases emails
                    // before writing, so this is effectively case-insensitive.
                    .col(ColumnDef::new(Users::Email).text().not_null().unique_key())
                    .col(ColumnDef::new(Users::PasswordHash).text().not_null())
                    .col(ColumnDef::new(Users::FullName).text().not_null())
                    .col(ColumnDef::new(Users::Role).text().not_null().check((
                        "ck_users_role",
                        Expr::col(Users::Role).is_in(["borrower", "investor", "staff", "admin"]),
                    )))
                    .col(
                        ColumnDef::new(Users::KycStatus)
                            .text()
                            .not_null()
                            .default("none")
                            .check((
                                "ck_users_kyc_status",
                                Expr::col(Users::KycStatus)
                                    .is_in(["none", "pending", "verified", "rejected"]),
                            )),
                    )
                    .col(ColumnDef::new(Users::KycReason).text().null())
                    .col(
                        ColumnDef::new(Users::FailedLoginCount)
                            .integer()
                            .not_null()
                            .default(0)
                            .check((
                                "ck_users_failed_login_count",
                                Expr::col(Users::FailedLoginCount).gte(0),
                            )),
                    )
                    .col(
                        ColumnDef::new(Users::LockedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Users::PasswordChangedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Users::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Users::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_users_role")
                    .table(Users::Table)
                    .col(Users::Role)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(ColumnDef::new(Sessions::Id).uuid().not_null().primary_key())
                    // SHA-256 hex of the cookie's session key; the raw key is
                    // never stored, so a leaked table cannot hijack sessions.
                    .col(
                        ColumnDef::new(Sessions::KeyHash)
                            .text()
                            .not_null()
                            .unique_key(),
                    )
                    // NULL for anonymous sessions (e.g. CSRF token before login).
                    .col(ColumnDef::new(Sessions::UserId).uuid().null())
                    .col(ColumnDef::new(Sessions::State).text().not_null())
                    .col(ColumnDef::new(Sessions::Ip).text().null())
                    .col(ColumnDef::new(Sessions::UserAgent).text().null())
                    .col(
                        ColumnDef::new(Sessions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Sessions::LastSeenAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Sessions::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    // Deleting a user logs them out everywhere.
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_user_id")
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_user_id")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .to_owned(),
            )
            .await?;

        // Used by the expired-session sweeper.
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_expires_at")
                    .table(Sessions::Table)
                    .col(Sessions::ExpiresAt)
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Sessions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    FullName,
    Role,
    KycStatus,
    KycReason,
    FailedLoginCount,
    LockedUntil,
    PasswordChangedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    KeyHash,
    UserId,
    State,
    Ip,
    UserAgent,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
}
