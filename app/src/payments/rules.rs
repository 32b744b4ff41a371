//! The payment rule: what the gateway's word about an order does to the order and to its fine. Pure (no SQL, no
//! HTTP), so every case is a unit test; `repo` reads the facts under the decision's lock and applies the chosen
//! settlement in one transaction.

use super::model::OrderState;
use crate::domain::{CivilDate, Fen};
use crate::platform::gateway::GatewayState;
use crate::violations::rules::amount_due;

/// An order as read under its decision's lock, with the fine it pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    /// `None` for a stored state the app does not know; money for it is taken as for an open order.
    pub state: Option<OrderState>,
    /// What the order charges.
    pub amount: Fen,
    /// The gateway's transaction that paid it, once paid.
    pub txn_id: Option<String>,
    /// The decision's fine; `None` when the decision cannot be read, so no money can pay it.
    pub fine: Option<FineFacts>,
}

/// The fine an order pays, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FineFacts {
    pub fine: Fen,
    /// `None` when the stored date is unreadable.
    pub decided_on: Option<CivilDate>,
    pub paid: bool,
}

/// Why money the gateway took cannot pay the fine; it is recorded for an operator to refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exception {
    /// The gateway reports money for an order the app never opened.
    UnknownOrder,
    /// The money differs from what the order charges.
    WrongAmount,
    /// The fine was already paid, by this order under another transaction or by another order.
    DuplicatePayment,
    /// The order had ended and the money no longer pays the fine.
    PaidAfterClose,
}

impl Exception {
    /// The stored code (`payment_exceptions.kind`).
    pub fn code(self) -> &'static str {
        match self {
            Exception::UnknownOrder => "unknown_order",
            Exception::WrongAmount => "wrong_amount",
            Exception::DuplicatePayment => "duplicate_payment",
            Exception::PaidAfterClose => "paid_after_close",
        }
    }
}

/// What the gateway's word does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Nothing final to apply: the order stays as it is.
    NoChange,
    /// An open order ends unpaid in this state; an order already ended keeps its state; the fine stays payable.
    Close(OrderState),
    /// The money pays the fine and the order.
    Pay,
    /// This very payment was applied before.
    AlreadyApplied,
    /// The money is recorded for refund; with `close`, an order still open is first ended as cancelled.
    Refund { exception: Exception, close: bool },
}

/// Decides what the gateway's `report` of an order does, given what the app knows of it (`None`: no such order).
/// An open order pays its fine; an ended one pays it only while the fine is unpaid and the money is what the fine
/// cost on the Asia/Shanghai day the gateway took it, so a payer whose money arrived late is not asked to pay
/// twice; anything else is recorded for refund.
pub fn settle(order: Option<&OrderFacts>, report: &GatewayState) -> Settlement {
    let Some(order) = order else {
        return match report {
            GatewayState::Paid { .. } => refund(Exception::UnknownOrder, false),
            _ => Settlement::NoChange,
        };
    };
    match report {
        GatewayState::Pending => Settlement::NoChange,
        GatewayState::Cancelled => Settlement::Close(OrderState::Cancelled),
        // An order the gateway never registered is only reported after a close, when it can no longer be paid.
        GatewayState::Closed | GatewayState::NotFound => Settlement::Close(OrderState::Expired),
        GatewayState::Paid { txn_id, amount_fen, paid_at } => paid(order, txn_id, Fen::new(*amount_fen), *paid_at),
    }
}

fn paid(order: &OrderFacts, txn_id: &str, amount: Fen, paid_at: i64) -> Settlement {
    let unpaid_fine = order.fine.filter(|fine| !fine.paid);
    match order.state {
        Some(OrderState::Paid) if order.txn_id.as_deref() == Some(txn_id) => Settlement::AlreadyApplied,
        Some(OrderState::Paid) => refund(Exception::DuplicatePayment, false),
        _ if amount != order.amount => refund(Exception::WrongAmount, true),
        Some(OrderState::Open) | None if unpaid_fine.is_some() => Settlement::Pay,
        Some(OrderState::Open) | None => refund(Exception::DuplicatePayment, true),
        Some(OrderState::Cancelled | OrderState::Expired) => {
            if unpaid_fine.and_then(|fine| cost_on(fine, paid_at)) == Some(amount) {
                Settlement::Pay
            } else {
                refund(Exception::PaidAfterClose, false)
            }
        }
    }
}

/// What the fine cost, late fee included, on the Asia/Shanghai day of `at`.
fn cost_on(fine: FineFacts, at: i64) -> Option<Fen> {
    let due = amount_due(fine.fine, fine.decided_on?, CivilDate::shanghai_today_from_epoch(at))?;
    Some(due.total)
}

fn refund(exception: Exception, close: bool) -> Settlement {
    Settlement::Refund { exception, close }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-03-01 00:00 Asia/Shanghai.
    const MARCH_1: i64 = 1_772_294_400;
    const DAY: i64 = 24 * 60 * 60;

    fn fine(paid: bool) -> FineFacts {
        FineFacts { fine: Fen::new(20_000), decided_on: CivilDate::parse("2026-03-01"), paid }
    }

    fn order(state: Option<OrderState>, amount: i64, fine: Option<FineFacts>) -> OrderFacts {
        let txn_id = (state == Some(OrderState::Paid)).then(|| "T1".to_string());
        OrderFacts { state, amount: Fen::new(amount), txn_id, fine }
    }

    fn paid(txn_id: &str, amount_fen: i64, paid_at: i64) -> GatewayState {
        GatewayState::Paid { txn_id: txn_id.to_string(), amount_fen, paid_at }
    }

    fn refund(exception: Exception, close: bool) -> Settlement {
        Settlement::Refund { exception, close }
    }

    #[test]
    fn money_for_an_unknown_order_is_recorded_and_other_news_of_it_changes_nothing() {
        assert_eq!(settle(None, &paid("T1", 100, MARCH_1)), refund(Exception::UnknownOrder, false));
        for report in [GatewayState::Pending, GatewayState::Cancelled, GatewayState::Closed, GatewayState::NotFound] {
            assert_eq!(settle(None, &report), Settlement::NoChange, "{report:?}");
        }
    }

    #[test]
    fn a_pending_order_stays_and_an_ended_one_closes_unpaid() {
        let open = order(Some(OrderState::Open), 20_000, Some(fine(false)));
        assert_eq!(settle(Some(&open), &GatewayState::Pending), Settlement::NoChange);
        assert_eq!(settle(Some(&open), &GatewayState::Cancelled), Settlement::Close(OrderState::Cancelled));
        assert_eq!(settle(Some(&open), &GatewayState::Closed), Settlement::Close(OrderState::Expired));
        assert_eq!(settle(Some(&open), &GatewayState::NotFound), Settlement::Close(OrderState::Expired));
    }

    #[test]
    fn money_for_an_open_order_pays_the_fine() {
        let open = order(Some(OrderState::Open), 20_000, Some(fine(false)));
        assert_eq!(settle(Some(&open), &paid("T1", 20_000, MARCH_1)), Settlement::Pay);
        let unknown_state = order(None, 20_000, Some(fine(false)));
        assert_eq!(settle(Some(&unknown_state), &paid("T1", 20_000, MARCH_1)), Settlement::Pay);
    }

    #[test]
    fn an_open_order_pays_even_when_the_decision_date_is_unreadable() {
        let fine = FineFacts { decided_on: None, ..fine(false) };
        let open = order(Some(OrderState::Open), 20_000, Some(fine));
        assert_eq!(settle(Some(&open), &paid("T1", 20_000, MARCH_1)), Settlement::Pay);
    }

    #[test]
    fn the_same_payment_again_is_already_applied_and_another_one_is_a_duplicate() {
        let paid_order = order(Some(OrderState::Paid), 20_000, Some(fine(true)));
        assert_eq!(settle(Some(&paid_order), &paid("T1", 20_000, MARCH_1)), Settlement::AlreadyApplied);
        assert_eq!(settle(Some(&paid_order), &paid("T2", 20_000, MARCH_1)), refund(Exception::DuplicatePayment, false));
    }

    #[test]
    fn money_for_an_open_order_whose_fine_another_order_paid_is_a_duplicate_and_ends_it() {
        let open = order(Some(OrderState::Open), 20_000, Some(fine(true)));
        assert_eq!(settle(Some(&open), &paid("T2", 20_000, MARCH_1)), refund(Exception::DuplicatePayment, true));
        let no_decision = order(Some(OrderState::Open), 20_000, None);
        assert_eq!(settle(Some(&no_decision), &paid("T2", 20_000, MARCH_1)), refund(Exception::DuplicatePayment, true));
    }

    #[test]
    fn a_wrong_amount_is_recorded_and_ends_the_order_whatever_its_state() {
        for state in [None, Some(OrderState::Open), Some(OrderState::Cancelled), Some(OrderState::Expired)] {
            let o = order(state, 20_000, Some(fine(false)));
            assert_eq!(
                settle(Some(&o), &paid("T1", 19_999, MARCH_1)),
                refund(Exception::WrongAmount, true),
                "{state:?}"
            );
        }
    }

    #[test]
    fn money_after_close_pays_the_fine_while_it_is_unpaid_and_costs_that_amount_on_the_day_paid() {
        for state in [OrderState::Cancelled, OrderState::Expired] {
            let ended = order(Some(state), 20_000, Some(fine(false)));
            assert_eq!(settle(Some(&ended), &paid("T1", 20_000, MARCH_1 + DAY - 1)), Settlement::Pay, "{state:?}");
        }
    }

    #[test]
    fn money_after_close_is_recorded_when_the_fine_is_paid_or_cost_more_that_day() {
        let paid_elsewhere = order(Some(OrderState::Cancelled), 20_000, Some(fine(true)));
        assert_eq!(
            settle(Some(&paid_elsewhere), &paid("T1", 20_000, MARCH_1)),
            refund(Exception::PaidAfterClose, false)
        );
        // Sixty days on the fine has grown a late fee, so the order's old amount no longer pays it.
        let late = order(Some(OrderState::Expired), 20_000, Some(fine(false)));
        assert_eq!(
            settle(Some(&late), &paid("T1", 20_000, MARCH_1 + 60 * DAY)),
            refund(Exception::PaidAfterClose, false)
        );
        let unreadable = order(Some(OrderState::Expired), 20_000, Some(FineFacts { decided_on: None, ..fine(false) }));
        assert_eq!(settle(Some(&unreadable), &paid("T1", 20_000, MARCH_1)), refund(Exception::PaidAfterClose, false));
        let no_decision = order(Some(OrderState::Cancelled), 20_000, None);
        assert_eq!(settle(Some(&no_decision), &paid("T1", 20_000, MARCH_1)), refund(Exception::PaidAfterClose, false));
    }

    #[test]
    fn exception_codes_are_the_stored_kinds() {
        assert_eq!(Exception::UnknownOrder.code(), "unknown_order");
        assert_eq!(Exception::WrongAmount.code(), "wrong_amount");
        assert_eq!(Exception::DuplicatePayment.code(), "duplicate_payment");
        assert_eq!(Exception::PaidAfterClose.code(), "paid_after_close");
    }
}
