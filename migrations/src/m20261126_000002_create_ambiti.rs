//! The catalogue of ambiti (the contexts of the companies' Cassetto) and their detail fields.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (code, label)
const AMBITI: &[(&str, &str)] = &[
    ("GENERICA", "Richiesta generica"),
    ("REGOLARITA_CONTRIBUTIVA", "Regolarità contributiva"),
    ("DM_TRASMESSI", "DM trasmessi"),
    ("F24", "Versamenti F24"),
    ("UNIEMENS", "Denunce UniEmens"),
    ("NOTE_RETTIFICA", "Note di rettifica"),
    ("ANAGRAFICA", "Dati anagrafici dell'azienda"),
    ("CIG", "Cassa integrazione guadagni"),
];

/// (ambito, name, label, type, required)
const FIELDS: &[(&str, &str, &str, &str, bool)] = &[
    ("REGOLARITA_CONTRIBUTIVA", "period_from", "Periodo dal", "period", true),
    ("REGOLARITA_CONTRIBUTIVA", "period_to", "Periodo al", "period", true),
    ("DM_TRASMESSI", "period", "Periodo di competenza", "period", true),
    ("F24", "payment_date", "Data del versamento", "date", true),
    ("F24", "amount", "Importo versato (euro)", "amount", true),
    ("UNIEMENS", "period", "Periodo di competenza", "period", true),
    ("NOTE_RETTIFICA", "period", "Periodo della nota", "period", true),
    ("NOTE_RETTIFICA", "numero_nota", "Numero della nota di rettifica", "text", false),
    ("CIG", "numero_autorizzazione", "Numero di autorizzazione", "text", false),
    ("CIG", "period", "Periodo di competenza", "period", true),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("ambiti")
                    .if_not_exists()
                    .col(string_len("code", 40).primary_key())
                    .col(string_len("label", 120))
                    .col(integer("position"))
                    .col(boolean("active").default(true))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("ambito_fields")
                    .if_not_exists()
                    .col(string_len("ambito_code", 40))
                    .col(string_len("name", 40))
                    .col(string_len("label", 120))
                    .col(string_len("field_type", 16))
                    .col(boolean("required"))
                    .col(integer("position"))
                    .primary_key(Index::create().col("ambito_code").col("name"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ambito_fields_ambito")
                            .from("ambito_fields", "ambito_code")
                            .to("ambiti", "code")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        let mut ins = Query::insert();
        ins.into_table("ambiti").columns(["code", "label", "position", "active"]);
        for (i, (code, label)) in AMBITI.iter().enumerate() {
            ins.values_panic([(*code).into(), (*label).into(), (i as i32).into(), true.into()]);
        }
        manager.exec_stmt(ins).await?;

        let mut ins = Query::insert();
        ins.into_table("ambito_fields").columns(["ambito_code", "name", "label", "field_type", "required", "position"]);
        for (i, (ambito, name, label, kind, required)) in FIELDS.iter().enumerate() {
            ins.values_panic([
                (*ambito).into(),
                (*name).into(),
                (*label).into(),
                (*kind).into(),
                (*required).into(),
                (i as i32).into(),
            ]);
        }
        manager.exec_stmt(ins).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in ["ambito_fields", "ambiti"] {
            manager.drop_table(Table::drop().table(t).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
