//! `login_devices`: browsers that have signed in to an account (OWASP's
//! device cookies). A successful sign-in stores a row and hands the browser a
//! signed cookie naming it; a later attempt for the same account that
//! carries it skips the per-address throttle and the account lockout, and
//! its wrong passwords count here instead (`failed_count`, `locked_until`).
//! Rows unused for the cookie's lifetime are purged by `serve`. Deleting the
//! user cascades.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginDevices::Table)
                    .col(
                        ColumnDef::new(LoginDevices::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(LoginDevices::UserId).uuid().not_null())
                    // Wrong passwords in a row from this browser; reset by a
                    // success and when they lock it.
                    .col(
                        ColumnDef::new(LoginDevices::FailedCount)
                            .integer()
                            .not_null()
                            .default(0)
                            .check((
                                "ck_login_devices_failed_count",
                                Expr::col(LoginDevices::FailedCount).gte(0),
                            )),
                    )
                    .col(
                        ColumnDef::new(LoginDevices::LockedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(LoginDevices::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LoginDevices::LastUsedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_login_devices_user_id")
                            .from(LoginDevices::Table, LoginDevices::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_login_devices_user_id")
                    .table(LoginDevices::Table)
                    .col(LoginDevices::UserId)
                    .to_owned(),
            )
            .await?;
        // The purge deletes by age.
        manager
            .create_index(
                Index::create()
                    .name("ix_login_devices_last_used_at")
                    .table(LoginDevices::Table)
                    .col(LoginDevices::LastUsedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginDevices::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum LoginDevices {
    Table,
    Id,
    UserId,
    FailedCount,
    LockedUntil,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
