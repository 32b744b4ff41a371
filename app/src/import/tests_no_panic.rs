//! Property tests: no file, however broken, makes the import's parsers panic; each bad row becomes a message.

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

fn today() -> CivilDate {
    CivilDate::new(2026, 12, 2).unwrap()
}

/// Reads and parses `bytes` as a file of `kind`; only whether it returns matters.
fn parse_file(kind: Kind, bytes: &[u8]) -> bool {
    let Ok(mut reader) = RecordReader::open(kind, bytes) else { return false };
    let mut seen = Seen::default();
    let mut errors = Errors::default();
    loop {
        match read_batch(&mut reader) {
            Ok(records) if records.is_empty() => return errors.is_empty(),
            Ok(records) => {
                Rows::parse(kind, reader.columns, &records, today(), Some(&mut seen), &mut errors);
            }
            Err(_) => return false,
        }
    }
}

/// A cell: mostly text close to valid (digits, dates, times, amounts, ID numbers, Chinese) so the parsers get past
/// their first checks, and sometimes anything at all.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,20}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}",
        "[0-9]{1,12}(\\.[0-9]{0,4})?",
        "[0-9]{17}[0-9xX]",
        "[辽京沪]?[A-Za-z]?[0-9A-Z]{0,7}",
        "(0|1|01|02|51|52|active|cancelled|normal|single|judge|[A-DTF])",
        "/videos/[a-z]{0,5}\\.(mp4|webm)(\\|https://[a-z.]{0,8}/a\\.mp4)?",
        "\\PC{0,16}",
        Just(String::new()),
    ]
}

fn quoted(cell: &str) -> String {
    format!("\"{}\"", cell.replace('"', "\"\""))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_bytes_are_refused_or_read_without_panicking(bytes in vec(any::<u8>(), 0..600), kind in 0..Kind::ALL.len()) {
        parse_file(Kind::ALL[kind], &bytes);
    }

    #[test]
    fn any_rows_under_the_right_header_are_checked_without_panicking(
        kind in 0..Kind::ALL.len(),
        rows in vec(vec(cell(), 14), 1..6),
        short in any::<bool>(),
    ) {
        let kind = Kind::ALL[kind];
        let width = kind.columns().len() - usize::from(short);
        let mut file = kind.columns().join(",") + "\r\n";
        for row in &rows {
            let cells: Vec<String> = row.iter().take(width).map(|c| quoted(c)).collect();
            file.push_str(&cells.join(","));
            file.push('\n');
        }
        parse_file(kind, file.as_bytes());
    }

    #[test]
    fn a_date_cell_parses_only_within_the_apps_years(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}") {
        if let Ok(date) = parse_date(&text) {
            let date = CivilDate::parse(&date.format("%Y-%m-%d").to_string());
            prop_assert!(date.is_some(), "{text}");
        }
    }
}

#[test]
fn the_property_cells_reach_a_good_row() {
    let row = "6222023400001013,210202198503121234,张三,13804110001,active";
    let file =
        format!("{}\n{}\n", Kind::Cards.columns().join(","), row.split(',').map(quoted).collect::<Vec<_>>().join(","));
    assert!(parse_file(Kind::Cards, file.as_bytes()), "quoting keeps a good row good");
}
