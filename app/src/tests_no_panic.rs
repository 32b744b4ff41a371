//! Property tests: whatever a query parameter (`no`, `from`, `to`, `date`, `state`, `channel`, …) or a form field
//! holds, the parsers behind it answer with a value or a refusal, never a panic, and date arithmetic on any date
//! they accept stays checked. It lives at the crate's root because it reaches parsers in several areas.

use proptest::prelude::*;

use crate::domain::*;
use crate::payments::console::model::OrderFilter;

/// Text close to what the parameters expect, and sometimes anything at all.
fn param() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "[0-9\\-]{0,12}",
        "[0-9]{15,18}[xX]?",
        "SQ[0-9A-Z]{0,16}",
        "[辽京]?[A-Za-z]?[0-9A-Z]{0,7}",
        "[0-9.]{0,20}",
        "\\PC{0,24}",
        ".{0,24}",
    ]
}

#[test]
fn an_unreadable_date_parameter_gets_a_message() {
    assert_eq!(OrderFilter::date_problem("", ""), None);
    assert_eq!(OrderFilter::date_problem("2026-12-01", "2199-12-31"), None);
    for (from, to) in [("2026-13-01", ""), ("", "2200-01-01"), ("12/01/2026", ""), ("", "明天")] {
        let message = OrderFilter::date_problem(from, to).unwrap();
        assert!(message.starts_with("日期应为 YYYY-MM-DD 格式"), "{from} {to}: {message}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_parser_of_input_answers_without_panicking(text in param()) {
        let today = CivilDate::new(2026, 12, 2).unwrap();
        let _ = DecisionNo::parse(&text);
        let _ = IdNumber::parse(&text).map(|id| (id.birth_date(), id.masked()));
        let _ = IdNumber::parse_as_of(&text, today);
        let _ = CardNo::parse(&text).map(|card| card.masked());
        let _ = Plate::parse(&text);
        let _ = PlateType::parse(&text);
        let _ = Mobile::parse(&text).map(|m| m.masked());
        let _ = PersonName::parse(&text).map(|n| n.masked());
        let _ = SmsCode::parse(&text);
        let _ = LicenceClass::parse(&text);
        let _ = LicenceStatus::parse(&text);
        let _ = Fen::parse_yuan(&text).map(|fen| fen.to_string());
        let _ = crate::cards::rules::is_application_no(&text);
        let _ = crate::import::Kind::parse(&text);
    }

    #[test]
    fn a_date_parameter_is_a_date_with_checked_arithmetic_or_nothing(text in param(), days in any::<i64>()) {
        if let Some(date) = CivilDate::parse(&text) {
            prop_assert_eq!(date.to_string(), text.clone());
            prop_assert!(date.shanghai_day_end() > date.shanghai_midnight());
            let _ = date.checked_add_days(days);
            let _ = crate::violations::rules::due_date(date);
        }
    }

    #[test]
    fn the_payments_filter_reads_any_parameters(state in param(), channel in param(), from in param(), to in param()) {
        let filter = OrderFilter::parse(&state, &channel, &from, &to);
        prop_assert_eq!(filter.from.is_some(), CivilDate::parse(&from).is_some());
        let problem = OrderFilter::date_problem(&from, &to);
        let unreadable = |t: &str| !t.is_empty() && CivilDate::parse(t).is_none();
        prop_assert_eq!(problem.is_some(), unreadable(&from) || unreadable(&to));
        let _ = filter.query();
    }
}
