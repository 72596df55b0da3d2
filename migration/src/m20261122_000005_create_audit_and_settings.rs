//! `audit_log` (append-only record of security- and money-relevant actions)
//! and `platform_settings` (runtime-tunable key/value configuration).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(ColumnDef::new(AuditLog::Id).uuid().not_null().primary_key())
                    // NULL for anonymous/system actions; SET NULL on user
                    // deletion so the audit trail itself survives.
                    .col(ColumnDef::new(AuditLog::ActorId).uuid().null())
                    // Free-form ('login_succeeded', 'login_failed',
                    // 'user_created', ...): new actions need no migration.
                    .col(ColumnDef::new(AuditLog::Action).text().not_null())
                    .col(ColumnDef::new(AuditLog::EntityType).text().null())
                    // TEXT, not uuid: some audited entities have non-uuid keys
                    // (e.g. platform_settings.key).
                    .col(ColumnDef::new(AuditLog::EntityId).text().null())
                    .col(ColumnDef::new(AuditLog::Before).json().null())
                    .col(ColumnDef::new(AuditLog::After).json().null())
                    .col(ColumnDef::new(AuditLog::Ip).text().null())
                    .col(
                        ColumnDef::new(AuditLog::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_log_actor_id")
                            .from(AuditLog::Table, AuditLog::ActorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        // Rate-limiting failed logins per IP: count recent rows with
        // action = 'login_failed' AND ip = ? AND created_at > ?.
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_action_ip_created_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::Action)
                    .col(AuditLog::Ip)
                    .col(AuditLog::CreatedAt)
                    .to_owned(),
            )
            .await?;

        // "What did this user do", newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_actor_id_created_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::ActorId)
                    .col(AuditLog::CreatedAt)
                    .to_owned(),
            )
            .await?;

        // "What happened to this object".
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_entity_type_entity_id")
                    .table(AuditLog::Table)
                    .col(AuditLog::EntityType)
                    .col(AuditLog::EntityId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_created_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PlatformSettings::Table)
                    .col(
                        ColumnDef::new(PlatformSettings::Key)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    // Stored as text; the app parses it per key.
                    .col(ColumnDef::new(PlatformSettings::Value).text().not_null())
                    .col(
                        ColumnDef::new(PlatformSettings::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    // NULL for defaults seeded by the system; SET NULL so that
                    // deleting a staff account does not block or drop settings.
                    .col(ColumnDef::new(PlatformSettings::UpdatedBy).uuid().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_platform_settings_updated_by")
                            .from(PlatformSettings::Table, PlatformSettings::UpdatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PlatformSettings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    ActorId,
    Action,
    EntityType,
    EntityId,
    Before,
    After,
    Ip,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PlatformSettings {
    Table,
    Key,
    Value,
    UpdatedAt,
    UpdatedBy,
}
