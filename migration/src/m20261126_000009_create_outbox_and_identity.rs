//! `outbox_emails` (the transactional outbox: emails written in the same
//! transaction as the event they announce, sent later by the `outbox` job)
//! and `identity_documents` (what a user submitted for the identity check).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxEmails::Table)
                    .col(
                        ColumnDef::new(OutboxEmails::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    // The message's name (`kyc_decision`, `application_approved`, ...):
                    // free text, so a new message needs no migration.
                    .col(ColumnDef::new(OutboxEmails::Kind).text().not_null())
                    // Copied, not referenced: the email goes to the address the
                    // account had when the event happened.
                    .col(ColumnDef::new(OutboxEmails::ToAddress).text().not_null())
                    // Rendered when queued, so what is sent is what the event said.
                    .col(ColumnDef::new(OutboxEmails::Subject).text().not_null())
                    .col(ColumnDef::new(OutboxEmails::TextBody).text().not_null())
                    .col(ColumnDef::new(OutboxEmails::HtmlBody).text().not_null())
                    // pending -> sending (claimed by one sender) -> sent; back to
                    // pending with a later next_attempt_at after an error, and
                    // failed once the attempts are used up.
                    .col(
                        ColumnDef::new(OutboxEmails::State)
                            .text()
                            .not_null()
                            .default("pending")
                            .check((
                                "ck_outbox_emails_state",
                                Expr::col(OutboxEmails::State)
                                    .is_in(["pending", "sending", "sent", "failed"]),
                            )),
                    )
                    .col(
                        ColumnDef::new(OutboxEmails::Attempts)
                            .integer()
                            .not_null()
                            .default(0)
                            .check((
                                "ck_outbox_emails_attempts",
                                Expr::col(OutboxEmails::Attempts).gte(0),
                            )),
                    )
                    .col(
                        ColumnDef::new(OutboxEmails::NextAttemptAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(OutboxEmails::LastError).text().null())
                    // When a sender claimed the row; a claim far in the past means
                    // the sender died mid-send and the row may be claimed again.
                    .col(
                        ColumnDef::new(OutboxEmails::ClaimedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(OutboxEmails::SentAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(OutboxEmails::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        // The sender's question: which pending emails are due now.
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_emails_state_next_attempt_at")
                    .table(OutboxEmails::Table)
                    .col(OutboxEmails::State)
                    .col(OutboxEmails::NextAttemptAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdentityDocuments::Table)
                    // One document per user: a new submission replaces the old
                    // one (the audit log keeps what changed).
                    .col(
                        ColumnDef::new(IdentityDocuments::UserId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(IdentityDocuments::DocumentType)
                            .text()
                            .not_null()
                            .check((
                                "ck_identity_documents_document_type",
                                Expr::col(IdentityDocuments::DocumentType).is_in([
                                    "passport",
                                    "national_id",
                                    "driving_licence",
                                ]),
                            )),
                    )
                    .col(
                        ColumnDef::new(IdentityDocuments::DocumentNumber)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdentityDocuments::IssuedOn)
                            .date()
                            .not_null(),
                    )
                    .col(ColumnDef::new(IdentityDocuments::Address).text().not_null())
                    .col(
                        ColumnDef::new(IdentityDocuments::SubmittedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdentityDocuments::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_identity_documents_user_id")
                            .from(IdentityDocuments::Table, IdentityDocuments::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdentityDocuments::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OutboxEmails::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum OutboxEmails {
    Table,
    Id,
    Kind,
    ToAddress,
    Subject,
    TextBody,
    HtmlBody,
    State,
    Attempts,
    NextAttemptAt,
    LastError,
    ClaimedAt,
    SentAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdentityDocuments {
    Table,
    UserId,
    DocumentType,
    DocumentNumber,
    IssuedOn,
    Address,
    SubmittedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
