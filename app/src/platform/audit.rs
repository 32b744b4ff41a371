//! The audit trail: one row for every state change that matters, written in the change's own transaction.

use sqlx::{Any, Transaction};

/// Who made a change.
#[derive(Clone, Copy)]
pub enum Actor<'a> {
    /// A platform account, with the channel it came through.
    Account { id: i64, channel: &'a str },
    /// An operator's command-line tool.
    Operator(&'a str),
    /// A staff member in the console, with their role.
    Staff { username: &'a str, role: &'a str },
    /// Someone not signed in, e.g. applying for a card, with the channel their webview implies.
    Guest { channel: &'a str },
}

/// Appends an audit row inside `tx`.
pub async fn record(
    tx: &mut Transaction<'static, Any>,
    actor: Actor<'_>,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    let (actor, channel) = match actor {
        Actor::Account { id, channel } => (format!("account:{id}"), Some(channel.to_string())),
        Actor::Operator(name) => (format!("operator:{name}"), None),
        Actor::Staff { username, role } => (format!("staff:{username}"), Some(format!("console:{role}"))),
        Actor::Guest { channel } => ("guest".to_string(), Some(channel.to_string())),
    };
    sqlx::query("INSERT INTO audit_log (at, actor, channel, action, subject, detail) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(super::now())
        .bind(actor)
        .bind(channel)
        .bind(action)
        .bind(subject)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
