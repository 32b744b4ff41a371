//! `cards.csv`: the bank's traffic service cards (工银交通服务卡) and their holders.

use sqlx::{Any, Transaction};

use super::{Fields, ImportReport, Parsed};
use crate::domain::{CardNo, IdNumber, Mobile, PersonName};
use crate::platform::now;

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

pub(super) async fn write(
    tx: &mut Transaction<'static, Any>,
    rows: &[Parsed<Card>],
) -> Result<ImportReport, sqlx::Error> {
    let mut report = ImportReport::default();
    for Parsed { row: card, .. } in rows {
        let existed = sqlx::query("SELECT 1 FROM cards WHERE card_no = $1")
            .bind(card.card_no.as_str())
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
        sqlx::query(
            "INSERT INTO cards (card_no, id_number, name, phone, status, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (card_no) DO UPDATE SET id_number = excluded.id_number, name = excluded.name, \
             phone = excluded.phone, status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind(card.card_no.as_str())
        .bind(card.id_number.as_str())
        .bind(card.name.as_str())
        .bind(card.phone.as_str())
        .bind(card.status)
        .bind(now())
        .execute(&mut **tx)
        .await?;
        report.count(existed);
    }
    Ok(report)
}
