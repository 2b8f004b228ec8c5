//! Requests (the quesiti), their status history, comments, attachment metadata and the
//! protocol counters, with an index for every archive filter of the contract.

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
                    .table("requests")
                    .if_not_exists()
                    .col(string_len("id", 36).primary_key())
                    .col(string_len_uniq("protocollo", 40))
                    .col(string_len("sede_code", 4))
                    .col(string_len("matricola", 10))
                    .col(string_len("ambito_code", 40))
                    .col(string_len("subject", 300))
                    // Lower-cased copy of the subject for the case-insensitive search on both backends.
                    .col(string_len("subject_search", 300))
                    .col(text("body"))
                    .col(text("details"))
                    .col(string_len("status", 16))
                    .col(string_len_null("esito_code", 24))
                    .col(text_null("esito_text"))
                    .col(integer("created_by"))
                    .col(integer_null("assigned_to"))
                    .col(integer("version").default(1))
                    .col(integer("attachment_count").default(0))
                    .col(string_len_null("bundle_sha256", 64))
                    .col(big_integer_null("bundle_size"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("taken_at"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .foreign_key(
                        ForeignKey::create().name("fk_requests_sede").from("requests", "sede_code").to("sedi", "code"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_requests_azienda")
                            .from("requests", "matricola")
                            .to("aziende", "matricola"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_requests_ambito")
                            .from("requests", "ambito_code")
                            .to("ambiti", "code"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_requests_created_by")
                            .from("requests", "created_by")
                            .to("users", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_requests_assigned_to")
                            .from("requests", "assigned_to")
                            .to("users", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        // The archive is always scoped by matricola (senders) or sede (back office), then sorted
        // by a timestamp; the id breaks ties for keyset paging.
        for (name, cols) in [
            ("idx_requests_matricola_updated", &["matricola", "updated_at", "id"][..]),
            ("idx_requests_matricola_created", &["matricola", "created_at", "id"]),
            ("idx_requests_matricola_status_updated", &["matricola", "status", "updated_at", "id"]),
            ("idx_requests_sede_status_updated", &["sede_code", "status", "updated_at", "id"]),
            ("idx_requests_sede_updated", &["sede_code", "updated_at", "id"]),
            ("idx_requests_sede_created", &["sede_code", "created_at", "id"]),
            ("idx_requests_updated", &["updated_at", "id"]),
            ("idx_requests_created", &["created_at", "id"]),
            ("idx_requests_status_updated", &["status", "updated_at"]),
            ("idx_requests_ambito_updated", &["ambito_code", "updated_at"]),
            ("idx_requests_assigned", &["assigned_to", "status"]),
            ("idx_requests_created_by", &["created_by", "created_at"]),
        ] {
            manager.create_index(index("requests", name, cols)).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("request_history")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len("request_id", 36))
                    .col(string_len_null("from_status", 16))
                    .col(string_len("to_status", 16))
                    .col(string_len_null("from_sede", 4))
                    .col(string_len_null("to_sede", 4))
                    .col(timestamp_with_time_zone("at"))
                    .col(integer_null("actor_user_id"))
                    .col(string_len("actor_role", 16))
                    .col(string_len("actor_display_name", 120))
                    .col(text_null("comment"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_history_request")
                            .from("request_history", "request_id")
                            .to("requests", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("request_history", "idx_history_request", &["request_id", "at"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("comments")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len("request_id", 36))
                    .col(text("body"))
                    .col(boolean("internal").default(false))
                    .col(integer_null("author_user_id"))
                    .col(string_len("author_role", 16))
                    .col(string_len("author_display_name", 120))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_comments_request")
                            .from("comments", "request_id")
                            .to("requests", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("comments", "idx_comments_request", &["request_id", "created_at"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("attachments")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len("request_id", 36))
                    .col(integer("position"))
                    .col(string_len("name", 255))
                    .col(big_integer("size"))
                    .col(string_len("content_type", 100))
                    .col(string_len("sha256", 64))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attachments_request")
                            .from("attachments", "request_id")
                            .to("requests", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("attachments", "idx_attachments_request", &["request_id", "position"])).await?;

        // One row per sede and year; incremented in the transaction that creates the request.
        manager
            .create_table(
                Table::create()
                    .table("protocol_counters")
                    .if_not_exists()
                    .col(string_len("sede_code", 4))
                    .col(integer("year"))
                    .col(big_integer("last_value").default(0))
                    .primary_key(Index::create().col("sede_code").col("year"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in ["protocol_counters", "attachments", "comments", "request_history", "requests"] {
            manager.drop_table(Table::drop().table(t).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
