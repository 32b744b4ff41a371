//! Calendar dates without a time of day, for decision dates and payment deadlines counted in Dalian days.

use std::fmt;

/// Asia/Shanghai is UTC+8 all year; China has not used daylight saving since 1991.
const SHANGHAI_OFFSET_SECS: i64 = 8 * 3600;
const SECS_PER_DAY: i64 = 86_400;
/// Wide enough for any decision, payment or birth date the app handles, and keeps every year four digits.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

/// A real Gregorian date between 1900-01-01 and 2199-12-31, written and serialised as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CivilDate {
    // Field order makes the derived ordering chronological.
    year: i32,
    month: u32,
    day: u32,
}

impl CivilDate {
    /// The date, or `None` if it does not exist or lies outside 1900–2199.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Self> {
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if is_leap_year(year) => 29,
            2 => 28,
            _ => return None,
        };
        (YEARS.contains(&year) && (1..=days_in_month).contains(&day)).then_some(Self { year, month, day })
    }

    /// Parses exactly `YYYY-MM-DD`, as sent by date inputs and stored in the database.
    pub fn parse(input: &str) -> Option<Self> {
        let bytes = input.as_bytes();
        let digits_at = |range: std::ops::Range<usize>| {
            bytes[range].iter().try_fold(0u32, |acc, b| b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0')))
        };
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let year = i32::try_from(digits_at(0..4)?).ok()?;
        Self::new(year, digits_at(5..7)?, digits_at(8..10)?)
    }

    /// The Asia/Shanghai calendar date at a Unix instant given in seconds.
    ///
    /// # Panics
    ///
    /// If that date lies outside 1900–2199, which only a broken clock produces.
    pub fn shanghai_today_from_epoch(epoch_secs: i64) -> Self {
        let local_day = epoch_secs.saturating_add(SHANGHAI_OFFSET_SECS).div_euclid(SECS_PER_DAY);
        Self::from_days(local_day).expect("the clock reads a date between 1900 and 2199")
    }

    /// The Unix instant, in seconds, at which this date begins in Asia/Shanghai (16:00 UTC the day before).
    pub fn shanghai_midnight(self) -> i64 {
        self.to_days() * SECS_PER_DAY - SHANGHAI_OFFSET_SECS
    }

    /// The date a number of days after 1970-01-01 (negative for earlier dates), or `None` outside 1900–2199.
    pub fn from_days(days: i64) -> Option<Self> {
        // Howard Hinnant's civil_from_days, on a calendar whose years start on 1 March so leap days come last.
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Self::new(i32::try_from(year).ok()?, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
    }

    /// Days since 1970-01-01, negative for earlier dates.
    pub fn to_days(self) -> i64 {
        // Howard Hinnant's days_from_civil; January and February count as months 11 and 12 of the year before.
        let month = i64::from(self.month);
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year.rem_euclid(400);
        let shifted_month = if month > 2 { month - 3 } else { month + 9 };
        let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` later (earlier when negative), or `None` when it lies outside 1900–2199.
    pub fn checked_add_days(self, days: i64) -> Option<Self> {
        self.to_days().checked_add(days).and_then(Self::from_days)
    }

    /// The Unix instant, in seconds, at which the day after this date begins in Asia/Shanghai: the end of a
    /// from–to range, which needs no next date and so holds for 2199-12-31 too.
    pub fn shanghai_day_end(self) -> i64 {
        self.shanghai_midnight() + SECS_PER_DAY
    }

    /// Days from `earlier` to this date, negative when `earlier` is in fact later.
    pub fn days_since(self, earlier: Self) -> i64 {
        self.to_days() - earlier.to_days()
    }

    /// The year, 1900 to 2199.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// The day of the month, starting at 1.
    pub fn day(self) -> u32 {
        self.day
    }
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

impl fmt::Display for CivilDate {
    /// Formats as `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl serde::Serialize for CivilDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CivilDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::invalid_value(serde::de::Unexpected::Str(&text), &"a date as YYYY-MM-DD in 1900–2199")
        })
    }
}

#[cfg(test)]
mod tests {
    use serde::de::value::{Error as ValueError, StrDeserializer};
    use serde::de::IntoDeserializer;
    use serde::Deserialize;

    use super::*;

    fn date(year: i32, month: u32, day: u32) -> CivilDate {
        CivilDate::new(year, month, day).unwrap()
    }

    #[test]
    fn accepts_real_dates_and_reports_their_parts() {
        let d = date(2026, 1, 31);
        assert_eq!((d.year(), d.month(), d.day()), (2026, 1, 31));
        assert!(CivilDate::new(2026, 4, 30).is_some());
        assert!(CivilDate::new(2026, 12, 31).is_some());
    }

    #[test]
    fn rejects_impossible_months_and_days() {
        for (month, day) in [(0, 1), (13, 1), (1, 0), (1, 32), (4, 31), (6, 31), (9, 31), (11, 31)] {
            assert_eq!(CivilDate::new(2026, month, day), None, "{month}-{day}");
        }
    }

    #[test]
    fn february_has_29_days_only_in_leap_years() {
        assert!(CivilDate::new(2024, 2, 29).is_some());
        assert!(CivilDate::new(2000, 2, 29).is_some());
        assert_eq!(CivilDate::new(2026, 2, 29), None);
        assert_eq!(CivilDate::new(1900, 2, 29), None);
        assert_eq!(CivilDate::new(2100, 2, 29), None);
        assert_eq!(CivilDate::new(2024, 2, 30), None);
    }

    #[test]
    fn accepts_years_1900_to_2199_only() {
        assert!(CivilDate::new(1900, 1, 1).is_some());
        assert!(CivilDate::new(2199, 12, 31).is_some());
        assert_eq!(CivilDate::new(1899, 12, 31), None);
        assert_eq!(CivilDate::new(2200, 1, 1), None);
    }

    #[test]
    fn parses_and_displays_yyyy_mm_dd() {
        assert_eq!(CivilDate::parse("2026-01-31"), Some(date(2026, 1, 31)));
        assert_eq!(date(2026, 3, 5).to_string(), "2026-03-05");
        assert_eq!(date(1900, 1, 1).to_string(), "1900-01-01");
    }

    #[test]
    fn rejects_other_layouts_and_padding() {
        for input in [
            "",
            "2026-1-31",
            "2026-01-3",
            "2026/01/31",
            "20260131",
            " 2026-01-31",
            "2026-01-31 ",
            "2026-01-31T00:00",
            "+026-01-31",
            "2026-+1-31",
            "２０２６-01-31",
            "2026年01月31日",
        ] {
            assert_eq!(CivilDate::parse(input), None, "{input}");
        }
    }

    #[test]
    fn rejects_well_shaped_but_unreal_dates() {
        assert_eq!(CivilDate::parse("2026-02-29"), None);
        assert_eq!(CivilDate::parse("2026-13-01"), None);
        assert_eq!(CivilDate::parse("2026-00-10"), None);
        assert_eq!(CivilDate::parse("1899-12-31"), None);
    }

    #[test]
    fn counts_days_from_1970_01_01() {
        assert_eq!(date(1970, 1, 1).to_days(), 0);
        assert_eq!(date(1969, 12, 31).to_days(), -1);
        assert_eq!(date(2000, 3, 1).to_days(), 11_017);
        assert_eq!(date(1900, 1, 1).to_days(), -25_567);
        assert_eq!(date(2026, 1, 31).to_days(), 20_484);
    }

    #[test]
    fn from_days_inverts_to_days_on_every_date_of_the_range() {
        let first = date(1900, 1, 1).to_days();
        let last = date(2199, 12, 31).to_days();
        let mut previous = date(1900, 1, 1);
        for days in first + 1..=last {
            let d = CivilDate::from_days(days).unwrap();
            assert_eq!(d.to_days(), days);
            let next_day = CivilDate::new(previous.year, previous.month, previous.day + 1);
            let next_month = CivilDate::new(previous.year, previous.month + 1, 1);
            let next_year = CivilDate::new(previous.year + 1, 1, 1);
            assert_eq!(Some(d), next_day.or(next_month).or(next_year), "after {previous}");
            previous = d;
        }
        assert_eq!(previous, date(2199, 12, 31));
    }

    #[test]
    fn from_days_refuses_dates_outside_the_range() {
        assert_eq!(CivilDate::from_days(date(1900, 1, 1).to_days() - 1), None);
        assert_eq!(CivilDate::from_days(date(2199, 12, 31).to_days() + 1), None);
        assert_eq!(CivilDate::from_days(i64::MAX), None);
        assert_eq!(CivilDate::from_days(i64::MIN), None);
    }

    #[test]
    fn adds_days_across_months_years_and_leap_days() {
        assert_eq!(date(2026, 1, 31).checked_add_days(1), Some(date(2026, 2, 1)));
        assert_eq!(date(2025, 12, 31).checked_add_days(1), Some(date(2026, 1, 1)));
        assert_eq!(date(2024, 2, 28).checked_add_days(1), Some(date(2024, 2, 29)));
        assert_eq!(date(2026, 2, 28).checked_add_days(1), Some(date(2026, 3, 1)));
        assert_eq!(date(2026, 3, 1).checked_add_days(-1), Some(date(2026, 2, 28)));
        assert_eq!(date(2026, 5, 20).checked_add_days(0), Some(date(2026, 5, 20)));
    }

    #[test]
    fn adding_past_the_range_is_none_and_a_day_still_ends() {
        assert_eq!(date(2199, 12, 31).checked_add_days(1), None);
        assert_eq!(date(1900, 1, 1).checked_add_days(-1), None);
        assert_eq!(date(2026, 1, 1).checked_add_days(i64::MAX), None);
        assert_eq!(date(2199, 12, 31).shanghai_day_end() - date(2199, 12, 31).shanghai_midnight(), 86_400);
        assert_eq!(date(2026, 1, 31).shanghai_day_end(), date(2026, 2, 1).shanghai_midnight());
    }

    #[test]
    fn days_since_is_negative_when_the_other_date_is_later() {
        assert_eq!(date(2025, 1, 1).days_since(date(2024, 1, 1)), 366);
        assert_eq!(date(2026, 1, 1).days_since(date(2025, 1, 1)), 365);
        assert_eq!(date(2026, 1, 1).days_since(date(2026, 1, 16)), -15);
        assert_eq!(date(2026, 1, 1).days_since(date(2026, 1, 1)), 0);
    }

    #[test]
    fn orders_chronologically() {
        assert!(date(2025, 12, 31) < date(2026, 1, 1));
        assert!(date(2026, 1, 31) < date(2026, 2, 1));
        assert!(date(2026, 2, 1) < date(2026, 2, 2));
    }

    #[test]
    fn shanghai_dates_turn_over_at_16_00_utc() {
        // 2026-01-31 15:59:59 UTC is 23:59:59 in Dalian; one second later it is 1 February there.
        assert_eq!(CivilDate::shanghai_today_from_epoch(1_769_875_199), date(2026, 1, 31));
        assert_eq!(CivilDate::shanghai_today_from_epoch(1_769_875_200), date(2026, 2, 1));
    }

    #[test]
    fn a_shanghai_day_begins_at_16_00_utc_the_day_before() {
        let midnight = date(2026, 2, 1).shanghai_midnight();
        assert_eq!(midnight, 1_769_875_200);
        assert_eq!(CivilDate::shanghai_today_from_epoch(midnight), date(2026, 2, 1));
        assert_eq!(CivilDate::shanghai_today_from_epoch(midnight - 1), date(2026, 1, 31));
    }

    #[test]
    fn shanghai_dates_before_1970_round_down_to_the_right_day() {
        // The epoch itself is 08:00 in Shanghai; eight hours and one second earlier it is still 31 December there.
        assert_eq!(CivilDate::shanghai_today_from_epoch(0), date(1970, 1, 1));
        assert_eq!(CivilDate::shanghai_today_from_epoch(-SHANGHAI_OFFSET_SECS), date(1970, 1, 1));
        assert_eq!(CivilDate::shanghai_today_from_epoch(-SHANGHAI_OFFSET_SECS - 1), date(1969, 12, 31));
    }

    #[test]
    fn deserialises_from_yyyy_mm_dd_text() {
        let text: StrDeserializer<'_, ValueError> = "2024-02-29".into_deserializer();
        assert_eq!(CivilDate::deserialize(text), Ok(date(2024, 2, 29)));
    }

    #[test]
    fn refuses_to_deserialise_an_unreal_date() {
        let text: StrDeserializer<'_, ValueError> = "2026-02-29".into_deserializer();
        assert!(CivilDate::deserialize(text).is_err());
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn serialises_as_a_json_string_and_back() {
        let json = serde_json::to_string(&date(2026, 3, 5)).unwrap();
        assert_eq!(json, "\"2026-03-05\"");
        assert_eq!(serde_json::from_str::<CivilDate>(&json).unwrap(), date(2026, 3, 5));
    }
}
