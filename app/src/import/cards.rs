//! `cards.csv`: the bank's traffic service cards (工银交通服务卡) and their holders.

use sqlx::{Any, Transaction};

use super::sql::{Dest, Planned, Table, Ty, Value};
use super::{Fields, ImportReport, Parsed};
use crate::domain::{CardNo, IdNumber, Mobile, PersonName};

pub(super) const COLUMNS: &[&str] = &["card_no", "id_number", "name", "phone", "status"];

/// One card as the bank reports it.
pub(super) struct Card {
    card_no: CardNo,
    id_number: IdNumber,
    name: PersonName,
    phone: Mobile,
    status: &'static str,
}

pub(super) fn parse(fields: &mut Fields) -> Option<Card> {
    let card_no = fields.parse("card_no", CardNo::parse);
    let id_number = fields.id_number("id_number");
    let name = fields.parse("name", PersonName::parse);
    let phone = fields.parse("phone", Mobile::parse);
    let status = fields.parse("status", |text| match text {
        "active" => Ok("active"),
        "cancelled" => Ok("cancelled"),
        _ => Err("应为 active（正常）或 cancelled（已注销）"),
    });
    Some(Card { card_no: card_no?, id_number: id_number?, name: name?, phone: phone?, status: status? })
}

pub(super) fn key(card: &Card) -> String {
    card.card_no.to_string()
}

/// The cards table as an import writes it.
const TABLE: Table = Table {
    name: "cards",
    key: &["card_no"],
    columns: &[
        ("card_no", Ty::Text),
        ("id_number", Ty::Text),
        ("name", Ty::Text),
        ("phone", Ty::Text),
        ("status", Ty::Text),
    ],
    on_conflict: None,
};

pub(super) async fn write(
    tx: &mut Transaction<'static, Any>,
    dest: &mut Dest,
    rows: &[Parsed<Card>],
) -> Result<ImportReport, sqlx::Error> {
    let keys: Vec<&str> = rows.iter().map(|p| p.row.card_no.as_str()).collect();
    let stored = TABLE.stored(tx, dest.backend, &keys).await?;
    let planned = rows
        .iter()
        .map(|Parsed { row: card, .. }| Planned {
            values: vec![
                Value::text(card.card_no.as_str()),
                Value::text(card.id_number.as_str()),
                Value::text(card.name.as_str()),
                Value::text(card.phone.as_str()),
                Value::text(card.status),
            ],
            kept: false,
        })
        .collect();
    TABLE.apply(tx, dest, &stored, planned).await
}
