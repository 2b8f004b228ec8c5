//! The registry: sedi, aziende, users, deleghe, API clients and the sign-in throttle.

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
                    .table("sedi")
                    .if_not_exists()
                    .col(string_len("code", 4).primary_key())
                    .col(string_len("name", 120))
                    .col(boolean("pilot").default(false))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("aziende")
                    .if_not_exists()
                    .col(string_len("matricola", 10).primary_key())
                    .col(string_len("codice_fiscale", 16))
                    .col(string_len("ragione_sociale", 200))
                    .col(string_len("sede_code", 4))
                    .col(string_len_null("email", 254))
                    .col(string_len_null("pec", 254))
                    .col(string_len_null("mobile", 20))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create().name("fk_aziende_sede").from("aziende", "sede_code").to("sedi", "code"),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("aziende", "idx_aziende_sede", &["sede_code"])).await?;
        manager.create_index(index("aziende", "idx_aziende_codice_fiscale", &["codice_fiscale"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("users")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(string_len_uniq("username", 64))
                    .col(string_len("password_hash", 200))
                    .col(string_len("role", 16))
                    .col(string_len("display_name", 120))
                    .col(string_len_null("sede_code", 4))
                    .col(string_len_null("email", 254))
                    .col(string_len_null("mobile", 20))
                    .col(boolean("email_enabled").default(true))
                    .col(boolean("sms_enabled").default(true))
                    .col(boolean("active").default(true))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create().name("fk_users_sede").from("users", "sede_code").to("sedi", "code"),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("users", "idx_users_role", &["role"])).await?;

        // The matricole a user may act for: its own (azienda) or delegated (intermediario).
        manager
            .create_table(
                Table::create()
                    .table("deleghe")
                    .if_not_exists()
                    .col(integer("user_id"))
                    .col(string_len("matricola", 10))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("user_id").col("matricola"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_deleghe_user")
                            .from("deleghe", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_deleghe_azienda")
                            .from("deleghe", "matricola")
                            .to("aziende", "matricola"),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("deleghe", "idx_deleghe_matricola", &["matricola"])).await?;

        // Payroll software signs in with client credentials and acts as its owner user.
        manager
            .create_table(
                Table::create()
                    .table("api_clients")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(string_len_uniq("client_id", 64))
                    .col(string_len("secret_hash", 200))
                    .col(string_len("name", 120))
                    .col(integer("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_clients_user")
                            .from("api_clients", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        // Failed sign-ins per account name (known or not), shared by every instance.
        manager
            .create_table(
                Table::create()
                    .table("login_throttle")
                    .if_not_exists()
                    .col(string_len("key", 128).primary_key())
                    .col(integer("failures").default(0))
                    .col(timestamp_with_time_zone("window_start"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in ["login_throttle", "api_clients", "deleghe", "users", "aziende", "sedi"] {
            manager.drop_table(Table::drop().table(t).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
