//! The notification outbox, idempotency keys and the append-only audit log.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("notifications")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len_null("request_id", 36))
                    .col(string_len("event", 32))
                    .col(string_len("channel", 16))
                    .col(string_len("recipient", 254))
                    .col(string_len("message_id", 200))
                    .col(text_null("subject"))
                    .col(text("body"))
                    .col(text_null("body_html"))
                    .col(string_len("status", 16))
                    .col(integer("attempts").default(0))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(string_len_null("locked_by", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .col(text_null("last_error"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_request")
                            .from("notifications", "request_id")
                            .to("requests", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("notifications", "idx_notifications_due", &["status", "next_attempt_at"])).await?;
        manager
            .create_index(index("notifications", "idx_notifications_request", &["request_id", "created_at"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .if_not_exists()
                    .col(integer("user_id"))
                    .col(string_len("key", 200))
                    .col(string_len("request_hash", 64))
                    .col(integer_null("response_status"))
                    .col(text_null("response_body"))
                    .col(string_len_null("request_id", 36))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("user_id").col("key"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("idempotency_keys", "idx_idempotency_created", &["created_at"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(integer_null("actor_user_id"))
                    .col(string_len("actor_username", 64))
                    .col(string_len("actor_role", 16))
                    .col(string_len("action", 64))
                    .col(string_len("entity", 32))
                    .col(string_len("entity_id", 64))
                    .col(text("detail"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("audit_log", "idx_audit_entity", &["entity", "entity_id", "at"])).await?;
        manager.create_index(index("audit_log", "idx_audit_at", &["at"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in ["audit_log", "idempotency_keys", "notifications"] {
            manager.drop_table(Table::drop().table(t).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
