//! 对账: one day's paid orders in the app against the gateway's statement of the same Asia/Shanghai day,
//! matched order by order.

use std::collections::{HashMap, HashSet};

use super::model::{ChannelTotals, DifferenceKind, DifferenceRow, CHANNELS};
use crate::domain::Fen;
use crate::identity::model::Channel;
use crate::payments::model::OrderState;
use crate::platform::gateway::StatementLine;

/// An order the app counts as paid on the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPayment {
    pub order_no: String,
    pub channel: Channel,
    pub amount_fen: i64,
    pub txn_id: Option<String>,
}

/// The per-channel figures and every order that differs. `known` holds the app's channel and state for the
/// statement's orders that the app does not count as paid that day, so even those are put under a channel.
pub fn compare(
    app: &[AppPayment],
    statement: &[StatementLine],
    known: &HashMap<String, (Channel, OrderState)>,
) -> (Vec<ChannelTotals>, Vec<DifferenceRow>) {
    let app_by_order: HashMap<&str, &AppPayment> = app.iter().map(|p| (p.order_no.as_str(), p)).collect();
    let on_statement: HashSet<&str> = statement.iter().map(|line| line.order_no.as_str()).collect();
    let channel_of = |order_no: &str| {
        app_by_order.get(order_no).map(|p| p.channel).or_else(|| known.get(order_no).map(|(channel, _)| *channel))
    };

    let mut differences = Vec::new();
    for line in statement {
        match app_by_order.get(line.order_no.as_str()) {
            None => differences.push(DifferenceRow {
                order_no: line.order_no.clone(),
                channel: channel_of(&line.order_no),
                kind: match known.get(&line.order_no) {
                    Some((_, OrderState::Paid)) => DifferenceKind::OtherDay,
                    _ => DifferenceKind::GatewayOnly,
                },
                app_amount: None,
                gateway_amount: Some(Fen::new(line.amount_fen).to_string()),
                app_state: known.get(&line.order_no).map(|(_, state)| *state),
                txn_id: Some(line.txn_id.clone()),
            }),
            Some(payment) if payment.amount_fen != line.amount_fen => differences.push(DifferenceRow {
                order_no: line.order_no.clone(),
                channel: Some(payment.channel),
                kind: DifferenceKind::AmountMismatch,
                app_amount: Some(Fen::new(payment.amount_fen).to_string()),
                gateway_amount: Some(Fen::new(line.amount_fen).to_string()),
                app_state: Some(OrderState::Paid),
                txn_id: Some(line.txn_id.clone()),
            }),
            Some(_) => {}
        }
    }
    for payment in app.iter().filter(|p| !on_statement.contains(p.order_no.as_str())) {
        differences.push(DifferenceRow {
            order_no: payment.order_no.clone(),
            channel: Some(payment.channel),
            kind: DifferenceKind::AppOnly,
            app_amount: Some(Fen::new(payment.amount_fen).to_string()),
            gateway_amount: None,
            app_state: Some(OrderState::Paid),
            txn_id: payment.txn_id.clone(),
        });
    }

    let totals = |channel: Option<Channel>| {
        let (app_count, app_fen) = app
            .iter()
            .filter(|p| Some(p.channel) == channel)
            .fold((0i64, 0i64), |(n, sum), p| (n + 1, sum + p.amount_fen));
        let (gateway_count, gateway_fen) = statement
            .iter()
            .filter(|line| channel_of(&line.order_no) == channel)
            .fold((0i64, 0i64), |(n, sum), line| (n + 1, sum + line.amount_fen));
        let differs = differences.iter().any(|d| d.channel == channel);
        ChannelTotals {
            channel,
            app_count,
            app_sum: Fen::new(app_fen).to_string(),
            gateway_count,
            gateway_sum: Fen::new(gateway_fen).to_string(),
            count_difference: gateway_count - app_count,
            sum_difference: Fen::new(gateway_fen - app_fen).to_string(),
            balanced: !differs,
        }
    };
    let mut channels: Vec<ChannelTotals> = CHANNELS.into_iter().map(|c| totals(Some(c))).collect();
    if statement.iter().any(|line| channel_of(&line.order_no).is_none()) {
        channels.push(totals(None));
    }
    (channels, differences)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paid(order_no: &str, channel: Channel, amount_fen: i64) -> AppPayment {
        AppPayment { order_no: order_no.into(), channel, amount_fen, txn_id: Some(format!("T{order_no}")) }
    }

    fn line(order_no: &str, amount_fen: i64) -> StatementLine {
        StatementLine { order_no: order_no.into(), txn_id: format!("T{order_no}"), amount_fen, paid_at: 0 }
    }

    #[test]
    fn matching_records_balance_every_channel() {
        let app = [paid("P1", Channel::Wechat, 20_000), paid("P2", Channel::Icbc, 26_000)];
        let (channels, differences) = compare(&app, &[line("P1", 20_000), line("P2", 26_000)], &HashMap::new());
        assert!(differences.is_empty());
        assert_eq!(channels.len(), 2, "no row for unknown orders when there are none");
        assert_eq!((channels[0].app_count, channels[0].gateway_sum.as_str()), (1, "200.00"));
        assert_eq!((channels[1].gateway_count, channels[1].sum_difference.as_str()), (1, "0.00"));
        assert!(channels.iter().all(|c| c.balanced && c.count_difference == 0));
    }

    #[test]
    fn a_payment_the_app_missed_is_listed_under_its_channel() {
        let known = HashMap::from([("P3".to_string(), (Channel::Icbc, OrderState::Open))]);
        let (channels, differences) = compare(&[], &[line("P3", 500)], &known);
        assert_eq!(differences.len(), 1);
        assert_eq!(differences[0].kind, DifferenceKind::GatewayOnly);
        assert_eq!(differences[0].app_state, Some(OrderState::Open));
        let icbc = &channels[1];
        assert_eq!((icbc.app_count, icbc.gateway_count, icbc.count_difference), (0, 1, 1));
        assert_eq!(icbc.sum_difference, "5.00");
        assert!(!icbc.balanced && channels[0].balanced);
    }

    #[test]
    fn a_payment_the_app_dates_on_another_day_says_so() {
        let known = HashMap::from([("P6".to_string(), (Channel::Wechat, OrderState::Paid))]);
        let (_, differences) = compare(&[], &[line("P6", 500)], &known);
        assert_eq!(differences[0].kind, DifferenceKind::OtherDay);
    }

    #[test]
    fn a_payment_for_an_order_the_app_never_opened_gets_a_row_of_its_own() {
        let (channels, differences) = compare(&[], &[line("X9", 100)], &HashMap::new());
        assert_eq!(channels.len(), 3);
        assert_eq!((channels[2].channel, channels[2].gateway_count), (None, 1));
        assert_eq!((differences[0].channel, differences[0].app_state), (None, None));
    }

    #[test]
    fn app_only_payments_and_different_amounts_are_differences() {
        let app = [paid("P4", Channel::Wechat, 20_000), paid("P5", Channel::Wechat, 20_000)];
        let (channels, differences) = compare(&app, &[line("P5", 19_999)], &HashMap::new());
        let kinds: Vec<_> = differences.iter().map(|d| (d.order_no.as_str(), d.kind)).collect();
        assert_eq!(kinds, [("P5", DifferenceKind::AmountMismatch), ("P4", DifferenceKind::AppOnly)]);
        assert_eq!((channels[0].count_difference, channels[0].sum_difference.as_str()), (-1, "-200.01"));
    }
}
