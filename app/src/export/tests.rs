use super::*;

#[test]
fn times_are_read_in_asia_shanghai_at_day_minute_or_second() {
    let midnight = parse_shanghai_time("2026-12-03").unwrap();
    assert_eq!(shanghai_second(midnight), "2026-12-03 00:00:00");
    assert_eq!(parse_shanghai_time("2026-12-03 08:30"), Some(midnight + 8 * 3600 + 30 * 60));
    assert_eq!(parse_shanghai_time("2026-12-03 08:30:15"), Some(midnight + 8 * 3600 + 30 * 60 + 15));
    // Midnight in Dalian is 16:00 UTC the day before.
    assert_eq!(midnight % 86_400, 16 * 3600);
}

#[test]
fn other_time_shapes_are_refused() {
    for text in ["", "2026-12-3", "2026-02-30", "2026-12-03T08:30", "2026-12-03 25:00", "yesterday"] {
        assert_eq!(parse_shanghai_time(text), None, "{text}");
    }
}

#[test]
fn a_file_is_its_header_then_its_rows_quoted_where_needed() {
    let rows = vec![vec!["粤B12345".to_string(), "02".into(), "6222023400001013".into(), "2026-12-03 08:30:00".into()]];
    let file = csv_out::file(Kind::Unbindings, &rows).unwrap();
    assert_eq!(
        String::from_utf8(file).unwrap(),
        "plate,plate_type,card_no,unbound_at\n粤B12345,02,6222023400001013,2026-12-03 08:30:00\n"
    );
    let empty = csv_out::file(Kind::Payments, &[]).unwrap();
    assert_eq!(
        String::from_utf8(empty).unwrap(),
        "receipt_no,decision_no,fine_fen,late_fee_fen,amount_fen,channel,txn_id,paid_at\n"
    );
    let quoted = csv_out::file(Kind::Unbindings, &[vec!["a,b".into(), "\"".into(), String::new(), String::new()]]);
    assert!(String::from_utf8(quoted.unwrap()).unwrap().ends_with("\"a,b\",\"\"\"\",,\n"));
}

#[test]
fn kinds_read_back_their_names() {
    for kind in Kind::ALL {
        assert_eq!(Kind::parse(kind.name()), Some(kind));
    }
    assert_eq!(Kind::parse("drivers"), None);
    assert!(Kind::Decisions.for_police() && !Kind::Cards.for_police());
}
