//! `nominees`: whom an investor names to receive their portfolio, with
//! shares that sum to 100 % (checked by the application; each share is
//! 1..=100 here). Personal data owned by the user: deleting the user cascades.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Nominees::Table)
                    .col(ColumnDef::new(Nominees::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Nominees::UserId).uuid().not_null())
                    .col(ColumnDef::new(Nominees::Name).text().not_null())
                    .col(
                        ColumnDef::new(Nominees::Relation).text().not_null().check((
                            "ck_nominees_relation",
                            Expr::col(Nominees::Relation)
                                .is_in(["spouse", "child", "parent", "sibling", "other"]),
                        )),
                    )
                    .col(
                        ColumnDef::new(Nominees::SharePct)
                            .integer()
                            .not_null()
                            .check((
                                "ck_nominees_share_pct",
                                Expr::col(Nominees::SharePct).between(1, 100),
                            )),
                    )
                    .col(
                        ColumnDef::new(Nominees::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_nominees_user_id")
                            .from(Nominees::Table, Nominees::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_nominees_user_id")
                    .table(Nominees::Table)
                    .col(Nominees::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Nominees::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Nominees {
    Table,
    Id,
    UserId,
    Name,
    Relation,
    SharePct,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
