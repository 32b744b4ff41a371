//! The violation rules of SPEC §3: when online processing is refused, the points it adds, and what is owed by when.

use std::fmt;

use crate::domain::{CivilDate, Fen};

/// Largest fine the simple procedure covers; a larger one goes through the general procedure ([157] Art.43).
pub const ONLINE_FINE_LIMIT: Fen = Fen::new(20_000);

/// Points in one scoring cycle that the driver may not reach online ([163] Art.14).
pub const POINTS_LIMIT: i64 = 12;

/// Days to pay after the decision, the decision day not counted ([APL] Art.67).
pub const PAYMENT_DAYS: i64 = 15;

/// Each day past the due date adds this share of the fine as 加处罚款 ([APL] Art.72).
const LATE_FEE_PERCENT_PER_DAY: i64 = 3;

/// Why a record cannot be processed online; the user must go to the counter or fix the cause first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum OnlineRefusal {
    /// The fine is over 200 yuan ([157] Art.43).
    FineOverLimit,
    /// The record is flagged for counter handling: suspension, revocation or detention ([157] Art.31).
    CounterOnly,
    /// The driver's cycle points plus the record's would reach 12 ([163] Art.14).
    WouldReachTwelvePoints,
    /// The driver's licence is suspended, revoked or expired.
    LicenceNotNormal,
    /// The vehicle is not bound to the user's traffic service card.
    VehicleNotBound,
}

impl OnlineRefusal {
    /// The reason shown to the user, naming where to go instead.
    pub fn reason(&self) -> &'static str {
        match self {
            OnlineRefusal::FineOverLimit => "罚款金额超过200元，适用一般程序，请到交警大队窗口处理",
            OnlineRefusal::CounterOnly => "该违法需到交警大队窗口处理（可能涉及暂扣、吊销驾驶证或行政拘留）",
            OnlineRefusal::WouldReachTwelvePoints => "处理后累积记分将达到12分，请到交警大队窗口处理",
            OnlineRefusal::LicenceNotNormal => "驾驶证状态异常，不能在线处理",
            OnlineRefusal::VehicleNotBound => "该车辆未绑定您的交通服务卡",
        }
    }
}

impl fmt::Display for OnlineRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// The facts about a record, its driver and the user that decide whether it may be processed online.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnlineCheck {
    /// The record's fine.
    pub fine: Fen,
    /// Whether the record is flagged for counter handling.
    pub counter_only: bool,
    /// Points the record carries.
    pub record_points: i64,
    /// Points the processing driver already has in the current cycle.
    pub driver_cycle_points: i64,
    /// Whether the processing driver's licence is in normal status.
    pub licence_normal: bool,
    /// Whether the vehicle is bound to the user's traffic service card.
    pub vehicle_bound: bool,
}

/// The first reason the record may not be processed online, or `None` if it may.
pub fn online_refusal(check: &OnlineCheck) -> Option<OnlineRefusal> {
    // Ownership first, so a stranger's record reveals nothing about its fine or the driver; then the record's own
    // facts, which no driver can change, before the driver's.
    if !check.vehicle_bound {
        Some(OnlineRefusal::VehicleNotBound)
    } else if check.counter_only {
        Some(OnlineRefusal::CounterOnly)
    } else if check.fine > ONLINE_FINE_LIMIT {
        Some(OnlineRefusal::FineOverLimit)
    } else if !check.licence_normal {
        Some(OnlineRefusal::LicenceNotNormal)
    } else if points_after_processing(check.driver_cycle_points, check.record_points) >= POINTS_LIMIT {
        Some(OnlineRefusal::WouldReachTwelvePoints)
    } else {
        None
    }
}

/// The driver's cycle points once the record's points are added to them by processing.
pub fn points_after_processing(driver_cycle_points: i64, record_points: i64) -> i64 {
    driver_cycle_points + record_points
}

/// The last day to pay without 加处罚款, or `None` when it would lie past 2199.
pub fn due_date(decided_on: CivilDate) -> Option<CivilDate> {
    decided_on.checked_add_days(PAYMENT_DAYS)
}

/// Whole days past the due date, zero up to and including the due date itself.
pub fn days_overdue(decided_on: CivilDate, today: CivilDate) -> i64 {
    (today.days_since(decided_on) - PAYMENT_DAYS).max(0)
}

/// 加处罚款: 3% of the fine per overdue day, rounded down to the fen and never more than the fine ([APL] Art.72).
pub fn late_fee(fine: Fen, decided_on: CivilDate, today: CivilDate) -> Fen {
    // Capping the percentage rather than the product gives the same min(fine, floor(fine × 3 × days / 100)) for
    // any fine, and with i128 the product cannot overflow while the result never exceeds the fine.
    let percent = (LATE_FEE_PERCENT_PER_DAY * days_overdue(decided_on, today)).min(100);
    let fee = i128::from(fine.fen()) * i128::from(percent) / 100;
    Fen::new(i64::try_from(fee).expect("a fee of at most 100% of the fine fits where the fine does"))
}

/// What a decided, unpaid record costs today and until when the fine alone is enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AmountDue {
    /// The fine in the decision.
    pub fine: Fen,
    /// 加处罚款 accrued so far.
    pub late_fee: Fen,
    /// Fine plus late fee: what the user pays today.
    pub total: Fen,
    /// Last day to pay without a late fee.
    pub due_date: CivilDate,
    /// Days from today to the due date: 0 on the due date, negative once overdue.
    pub days_left: i64,
}

/// The fine, late fee, total and countdown for a fine decided on `decided_on`, as of `today`; `None` for a decision
/// date so late that its due date lies past 2199.
pub fn amount_due(fine: Fen, decided_on: CivilDate, today: CivilDate) -> Option<AmountDue> {
    let late_fee = late_fee(fine, decided_on, today);
    let due_date = due_date(decided_on)?;
    Some(AmountDue { fine, late_fee, total: fine + late_fee, due_date, days_left: due_date.days_since(today) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> CivilDate {
        CivilDate::parse(text).unwrap()
    }

    fn yuan(text: &str) -> Fen {
        Fen::parse_yuan(text).unwrap()
    }

    /// A record every rule allows: bound vehicle, 200 yuan, 6 points, driver at 5 points with a normal licence.
    fn allowed() -> OnlineCheck {
        OnlineCheck {
            fine: yuan("200"),
            counter_only: false,
            record_points: 6,
            driver_cycle_points: 5,
            licence_normal: true,
            vehicle_bound: true,
        }
    }

    #[test]
    fn online_fine_limit_is_200_yuan() {
        assert_eq!(ONLINE_FINE_LIMIT, yuan("200"));
    }

    #[test]
    fn a_fine_of_exactly_200_yuan_may_be_processed_online() {
        assert_eq!(online_refusal(&allowed()), None);
    }

    #[test]
    fn a_fine_of_200_01_or_201_yuan_needs_the_general_procedure() {
        for fine in ["200.01", "201"] {
            let check = OnlineCheck { fine: yuan(fine), ..allowed() };
            assert_eq!(online_refusal(&check), Some(OnlineRefusal::FineOverLimit), "{fine}");
        }
    }

    #[test]
    fn a_record_flagged_for_the_counter_is_refused() {
        let check = OnlineCheck { fine: yuan("50"), counter_only: true, ..allowed() };
        assert_eq!(online_refusal(&check), Some(OnlineRefusal::CounterOnly));
    }

    #[test]
    fn reaching_11_points_is_allowed_and_reaching_12_is_refused() {
        assert_eq!(online_refusal(&OnlineCheck { driver_cycle_points: 5, record_points: 6, ..allowed() }), None);
        assert_eq!(
            online_refusal(&OnlineCheck { driver_cycle_points: 6, record_points: 6, ..allowed() }),
            Some(OnlineRefusal::WouldReachTwelvePoints)
        );
        assert_eq!(
            online_refusal(&OnlineCheck { driver_cycle_points: 0, record_points: 12, ..allowed() }),
            Some(OnlineRefusal::WouldReachTwelvePoints)
        );
        assert_eq!(
            online_refusal(&OnlineCheck { driver_cycle_points: 11, record_points: 1, ..allowed() }),
            Some(OnlineRefusal::WouldReachTwelvePoints)
        );
        assert_eq!(online_refusal(&OnlineCheck { driver_cycle_points: 11, record_points: 0, ..allowed() }), None);
    }

    #[test]
    fn a_licence_not_in_normal_status_is_refused() {
        let check = OnlineCheck { licence_normal: false, ..allowed() };
        assert_eq!(online_refusal(&check), Some(OnlineRefusal::LicenceNotNormal));
    }

    #[test]
    fn a_vehicle_not_bound_to_the_card_is_refused() {
        let check = OnlineCheck { vehicle_bound: false, ..allowed() };
        assert_eq!(online_refusal(&check), Some(OnlineRefusal::VehicleNotBound));
    }

    #[test]
    fn refusals_are_checked_binding_counter_fine_licence_then_points() {
        let mut check = OnlineCheck {
            fine: yuan("500"),
            counter_only: true,
            record_points: 12,
            driver_cycle_points: 6,
            licence_normal: false,
            vehicle_bound: false,
        };
        assert_eq!(online_refusal(&check), Some(OnlineRefusal::VehicleNotBound));
        check.vehicle_bound = true;
        assert_eq!(online_refusal(&check), Some(OnlineRefusal::CounterOnly));
        check.counter_only = false;
        assert_eq!(online_refusal(&check), Some(OnlineRefusal::FineOverLimit));
        check.fine = yuan("200");
        assert_eq!(online_refusal(&check), Some(OnlineRefusal::LicenceNotNormal));
        check.licence_normal = true;
        assert_eq!(online_refusal(&check), Some(OnlineRefusal::WouldReachTwelvePoints));
        check.record_points = 3;
        assert_eq!(online_refusal(&check), None);
    }

    #[test]
    fn refusal_reasons_tell_the_user_where_to_go() {
        assert_eq!(OnlineRefusal::FineOverLimit.reason(), "罚款金额超过200元，适用一般程序，请到交警大队窗口处理");
        assert_eq!(
            OnlineRefusal::CounterOnly.reason(),
            "该违法需到交警大队窗口处理（可能涉及暂扣、吊销驾驶证或行政拘留）"
        );
        assert_eq!(OnlineRefusal::WouldReachTwelvePoints.reason(), "处理后累积记分将达到12分，请到交警大队窗口处理");
        assert_eq!(OnlineRefusal::LicenceNotNormal.reason(), "驾驶证状态异常，不能在线处理");
        assert_eq!(OnlineRefusal::VehicleNotBound.to_string(), "该车辆未绑定您的交通服务卡");
    }

    #[test]
    fn processing_adds_the_record_points_to_the_driver() {
        assert_eq!(points_after_processing(5, 6), 11);
        assert_eq!(points_after_processing(0, 0), 0);
    }

    #[test]
    fn the_due_date_is_15_days_after_the_decision_day() {
        assert_eq!(due_date(date("2026-03-01")), Some(date("2026-03-16")));
    }

    #[test]
    fn a_decision_on_new_years_eve_is_due_in_january() {
        assert_eq!(due_date(date("2025-12-31")), Some(date("2026-01-15")));
    }

    #[test]
    fn february_counts_29_days_in_a_leap_year() {
        assert_eq!(due_date(date("2024-02-20")), Some(date("2024-03-06")));
        assert_eq!(due_date(date("2026-02-20")), Some(date("2026-03-07")));
        assert_eq!(due_date(date("2024-02-14")), Some(date("2024-02-29")));
    }

    #[test]
    fn paying_on_the_due_date_is_on_time() {
        let decided = date("2026-03-01");
        assert_eq!(days_overdue(decided, date("2026-03-16")), 0);
        assert_eq!(late_fee(yuan("200"), decided, date("2026-03-16")), Fen::new(0));
    }

    #[test]
    fn paying_the_day_after_the_due_date_adds_3_percent() {
        let decided = date("2026-03-01");
        assert_eq!(days_overdue(decided, date("2026-03-17")), 1);
        assert_eq!(late_fee(yuan("200"), decided, date("2026-03-17")), yuan("6"));
    }

    #[test]
    fn no_late_fee_before_the_due_date_or_on_a_clock_behind_the_decision() {
        let decided = date("2026-03-01");
        for today in ["2026-03-01", "2026-03-10", "2026-02-27"] {
            assert_eq!(days_overdue(decided, date(today)), 0, "{today}");
            assert_eq!(late_fee(yuan("200"), decided, date(today)), Fen::new(0), "{today}");
        }
    }

    #[test]
    fn the_late_fee_grows_3_percent_a_day_until_it_equals_the_fine() {
        let decided = date("2026-03-01");
        let fine = yuan("200");
        let fee_after = |days: i64| late_fee(fine, decided, due_date(decided).unwrap().checked_add_days(days).unwrap());
        assert_eq!(fee_after(10), yuan("60"));
        assert_eq!(fee_after(33), yuan("198"));
        // 34 days would be 102%; the fee stops at the fine itself.
        assert_eq!(fee_after(34), fine);
        assert_eq!(fee_after(365), fine);
    }

    #[test]
    fn the_late_fee_rounds_down_to_the_fen() {
        // 0.33 yuan three days late: floor(33 × 9 / 100) = 2 fen, not 2.97.
        let decided = date("2026-03-01");
        assert_eq!(late_fee(yuan("0.33"), decided, date("2026-03-19")), Fen::new(2));
    }

    #[test]
    fn the_late_fee_matches_the_spec_formula_for_every_fine_and_day() {
        let decided = date("2026-03-01");
        for fine in (0..=20_000).step_by(7).chain([1, 99, 101, 19_999, 1_000_000_000]) {
            for days in 0..=40 {
                let expected = fine.min(fine * 3 * days / 100);
                let today = due_date(decided).unwrap().checked_add_days(days).unwrap();
                assert_eq!(late_fee(Fen::new(fine), decided, today), Fen::new(expected), "{fine} fen, {days} days");
            }
        }
    }

    #[test]
    fn the_late_fee_of_the_largest_fine_cannot_overflow() {
        let decided = date("2026-03-01");
        assert_eq!(late_fee(Fen::new(i64::MAX), decided, date("2199-12-31")), Fen::new(i64::MAX));
        assert_eq!(late_fee(Fen::new(i64::MAX), decided, date("2026-03-17")), Fen::new(276_701_161_105_643_274));
    }

    #[test]
    fn the_amount_due_before_the_deadline_is_the_fine_with_a_countdown() {
        assert_eq!(amount_due(yuan("200"), date("2199-12-17"), date("2026-03-06")), None);
        assert_eq!(due_date(date("2199-12-16")), Some(date("2199-12-31")));
        let due = amount_due(yuan("200"), date("2026-03-01"), date("2026-03-06")).unwrap();
        assert_eq!(
            due,
            AmountDue {
                fine: yuan("200"),
                late_fee: Fen::new(0),
                total: yuan("200"),
                due_date: date("2026-03-16"),
                days_left: 10,
            }
        );
    }

    #[test]
    fn the_amount_due_on_the_due_date_has_zero_days_left() {
        let due = amount_due(yuan("150"), date("2026-03-01"), date("2026-03-16")).unwrap();
        assert_eq!((due.total, due.days_left), (yuan("150"), 0));
    }

    #[test]
    fn the_amount_due_when_overdue_adds_the_late_fee_and_counts_negative_days() {
        let due = amount_due(yuan("150"), date("2026-03-01"), date("2026-03-18")).unwrap();
        assert_eq!(due.late_fee, yuan("9"));
        assert_eq!(due.total, yuan("159"));
        assert_eq!(due.days_left, -2);
    }

    #[test]
    fn the_due_date_ends_at_midnight_in_dalian() {
        // Decided 2026-01-16, due 2026-01-31: 23:59:59 that night in Dalian is on time, one second later is late.
        let decided = date("2026-01-16");
        let last_second = CivilDate::shanghai_today_from_epoch(1_769_875_199);
        let next_second = CivilDate::shanghai_today_from_epoch(1_769_875_200);
        assert_eq!(late_fee(yuan("100"), decided, last_second), Fen::new(0));
        assert_eq!(late_fee(yuan("100"), decided, next_second), yuan("3"));
    }
}
