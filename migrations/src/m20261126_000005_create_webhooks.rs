//! Webhooks of payroll software: an API client's endpoints and the events they want. Their
//! deliveries travel through the notification outbox, which gains a `webhook_id`.

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
                    .table("webhooks")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(integer("api_client_id"))
                    .col(string_len("url", 500))
                    .col(string_len("events", 200))
                    .col(string_len("secret", 100))
                    .col(boolean("active").default(true))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhooks_api_client")
                            .from("webhooks", "api_client_id")
                            .to("api_clients", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("webhooks", "idx_webhooks_client", &["api_client_id"])).await?;
        manager
            .alter_table(Table::alter().table("notifications").add_column(integer_null("webhook_id")).to_owned())
            .await?;
        manager
            .create_index(index("notifications", "idx_notifications_webhook", &["webhook_id", "created_at"]))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_notifications_webhook").table("notifications").to_owned()).await?;
        manager.alter_table(Table::alter().table("notifications").drop_column("webhook_id").to_owned()).await?;
        manager.drop_table(Table::drop().table("webhooks").if_exists().to_owned()).await
    }
}
