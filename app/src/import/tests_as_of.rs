//! The optional `as_of` column of `drivers.csv` and `vehicles.csv`: read in Asia/Shanghai, never in the future, and
//! left out by files of the older formats, which still import.

use super::*;
use crate::platform::test_db::fresh_databases;

const ZHANG_ID: &str = "210202198503121234";
const ZHANG_CARD: &str = "6222023400001013";
const DRIVERS_HEADER: &str = "id_number,name,licence_class,licence_status,first_issued,cycle_points";

fn reasons(result: Result<ImportReport, ImportError>) -> Vec<String> {
    match result {
        Err(ImportError::Rows(errors)) => errors.into_iter().map(|e| e.to_string()).collect(),
        other => panic!("expected row errors, got {other:?}"),
    }
}

#[test]
fn as_of_is_a_past_shanghai_time_to_the_minute_or_second() {
    assert_eq!(parse_as_of(""), Ok(None));
    let at = parse_as_of("2026-01-02 08:30:05").unwrap().unwrap();
    assert_eq!(crate::export::shanghai_second(at), "2026-01-02 08:30:05");
    assert_eq!(parse_as_of("2026-01-02 08:30"), Ok(Some(at - 5)));
    assert!(parse_as_of("2026-01-02").is_err(), "a day is not a moment");
    assert!(parse_as_of("2026-01-02T08:30").is_err());
    assert_eq!(parse_as_of("2199-01-01 00:00"), Err("不能晚于当前时间"));
}

#[tokio::test]
async fn files_with_and_without_as_of_import_and_a_bad_one_is_refused_by_line() {
    for (backend, db) in fresh_databases().await {
        let old = format!("{DRIVERS_HEADER}\n{ZHANG_ID},张三,C1,normal,2008-03-20,4\n");
        assert_eq!(import_csv(&db, Kind::Drivers, old.as_bytes(), "ops").await.unwrap().inserted, 1, "{backend}");
        let new = format!("{DRIVERS_HEADER},as_of\n{ZHANG_ID},张三,C1,normal,2008-03-20,5,2026-01-02 08:30:00\n");
        assert_eq!(import_csv(&db, Kind::Drivers, new.as_bytes(), "ops").await.unwrap().updated, 1, "{backend}");
        let bad = format!(
            "{DRIVERS_HEADER},as_of\n{ZHANG_ID},张三,C1,normal,2008-03-20,5,2199-01-02 08:30:00\n\
             210203197809062312,李四,B2,normal,2001-05-15,3,昨天\n"
        );
        let errors = reasons(import_csv(&db, Kind::Drivers, bad.as_bytes(), "ops").await);
        assert_eq!(errors[0], "第2行：as_of 不能晚于当前时间", "{backend}");
        assert!(errors[1].starts_with("第3行：as_of 应为 YYYY-MM-DD HH:MM:SS"), "{backend}: {errors:?}");

        import_csv(&db, Kind::Cards, demo_file(Kind::Cards), "ops").await.unwrap();
        let vehicles = format!(
            "plate,plate_type,vehicle_type,owner_id_number,card_no,bound_on,as_of\n\
             辽B12345,02,小型轿车,{ZHANG_ID},{ZHANG_CARD},,2026-01-02 08:30\n"
        );
        assert_eq!(import_csv(&db, Kind::Vehicles, vehicles.as_bytes(), "ops").await.unwrap().inserted, 1);
        let message = match import_csv(
            &db,
            Kind::Vehicles,
            b"plate,plate_type,vehicle_type,owner_id_number,card_no,as_of\n",
            "ops",
        )
        .await
        {
            Err(ImportError::Header(message)) => message,
            other => panic!("{backend}: expected a header error, got {other:?}"),
        };
        assert!(message.contains("（最后的 bound_on,as_of 可省略）"), "{backend}: {message}");
    }
}
