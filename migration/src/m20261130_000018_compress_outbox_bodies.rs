//! On PostgreSQL, email bodies compressed with lz4 instead of the default
//! pglz: a due day queues a receipt per borrower and a note per investor of
//! each loan (210 000 emails of about 3 kB for 10 000 loans), and pglz
//! compressing them was the server's busiest function (measured: the day's
//! email inserts 6.7 s with pglz, 4.6 s with lz4). A server without lz4
//! (PostgreSQL before 14, or built without it) keeps its default, with a
//! notice. SQLite stores text uncompressed either way.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn set_compression(manager: &SchemaManager<'_>, method: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "DO $$ BEGIN
               EXECUTE 'ALTER TABLE outbox_emails
                          ALTER COLUMN text_body SET COMPRESSION {method},
                          ALTER COLUMN html_body SET COMPRESSION {method}';
             EXCEPTION WHEN OTHERS THEN
               RAISE NOTICE 'outbox_emails keeps its compression: %', SQLERRM;
             END $$"
        ))
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_compression(manager, "lz4").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_compression(manager, "default").await
    }
}
