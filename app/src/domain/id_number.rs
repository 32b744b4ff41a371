//! Mainland resident identity card number (GB 11643-1999).

use std::fmt;

use super::mask::keep_ends;
use super::{required, CivilDate, DomainError};

/// Weights applied to the first 17 digits when computing the check character.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of the weighted sum modulo 11.
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// An 18-character resident ID number with a valid birth date and check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct IdNumber(String);

impl IdNumber {
    /// Parses a number someone types or a file brings: as [`IdNumber::parse`], and its birth date must not lie
    /// after `today` (the Asia/Shanghai date), which is as impossible as 30 February.
    pub fn parse_as_of(input: &str, today: CivilDate) -> Result<Self, DomainError> {
        let id = Self::parse(input)?;
        let (year, month, day) = id.birth_date();
        match CivilDate::new(i32::from(year), u32::from(month), u32::from(day)) {
            Some(born) if born <= today => Ok(id),
            _ => Err(DomainError::IdNumberBirthDate),
        }
    }

    /// Parses an ID number, accepting a lowercase `x` check character and storing it uppercase. It knows no date,
    /// so it reads numbers already accepted; new input goes through [`IdNumber::parse_as_of`].
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let id = required(input)?.to_ascii_uppercase();
        let bytes = id.as_bytes();
        let well_formed = bytes.len() == 18
            && bytes[..17].iter().all(u8::is_ascii_digit)
            && (bytes[17].is_ascii_digit() || bytes[17] == b'X');
        if !well_formed {
            return Err(DomainError::InvalidIdNumber);
        }
        // A mistyped date digit also breaks the checksum; naming the date is the more useful hint.
        let (year, month, day) = birth_date_of(&id);
        if !is_real_date(year, month, day) {
            return Err(DomainError::IdNumberBirthDate);
        }
        if check_char(&bytes[..17]) != bytes[17] {
            return Err(DomainError::IdNumberChecksum);
        }
        Ok(Self(id))
    }

    /// The full ID number, check character uppercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Birth date encoded in the number, as `(year, month, day)`.
    pub fn birth_date(&self) -> (u16, u8, u8) {
        birth_date_of(&self.0)
    }

    /// The number with its middle ten characters hidden, e.g. `2102**********1234`.
    pub fn masked(&self) -> String {
        keep_ends(&self.0, 4, 4)
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads YYYYMMDD from characters 7–14; callers have already checked they are ASCII digits.
fn birth_date_of(id: &str) -> (u16, u8, u8) {
    let number =
        |range: std::ops::Range<usize>| id.as_bytes()[range].iter().fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
    let year = number(6..10);
    // Two digits are at most 99, so narrowing to u8 cannot truncate.
    let month = number(10..12) as u8;
    let day = number(12..14) as u8;
    (year, month, day)
}

/// Whether the date exists in the Gregorian calendar and lies in the years ID numbers use.
fn is_real_date(year: u16, month: u8, day: u8) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2099).contains(&year) && (1..=days_in_month).contains(&day)
}

/// The check character for 17 ASCII digits.
fn check_char(digits: &[u8]) -> u8 {
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK_CHARS[(sum % 11) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_birth_date_after_today_is_refused() {
        let today = CivilDate::new(2026, 12, 2).unwrap();
        // 2026-12-03 and 2030-01-01, with their right check characters.
        for future in ["110105202612030015", "11010520300101001X"] {
            assert!(IdNumber::parse(future).is_ok(), "{future} is well formed");
            assert_eq!(IdNumber::parse_as_of(future, today), Err(DomainError::IdNumberBirthDate), "{future}");
        }
        let born_today = "11010520261202001X";
        assert!(IdNumber::parse(born_today).is_ok());
        assert_eq!(IdNumber::parse_as_of(born_today, today).unwrap().birth_date(), (2026, 12, 2));
        assert_eq!(IdNumber::parse_as_of("11010519491231002x", today).unwrap().as_str(), "11010519491231002X");
        assert_eq!(IdNumber::parse_as_of("110105194912310021", today), Err(DomainError::IdNumberChecksum));
    }

    #[test]
    fn accepts_the_well_known_example_with_x_check_character() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), (1949, 12, 31));
    }

    #[test]
    fn accepts_lowercase_x_and_stores_it_uppercase() {
        let id = IdNumber::parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn accepts_a_dalian_number_with_a_digit_check_character() {
        let id = IdNumber::parse("210202199001011232").unwrap();
        assert_eq!(id.birth_date(), (1990, 1, 1));
    }

    #[test]
    fn trims_surrounding_whitespace() {
        let id = IdNumber::parse("  210202199001011232 ").unwrap();
        assert_eq!(id.as_str(), "210202199001011232");
    }

    #[test]
    fn displays_the_full_number() {
        let id = IdNumber::parse("210202199001011232").unwrap();
        assert_eq!(id.to_string(), "210202199001011232");
    }

    #[test]
    fn masks_all_but_the_first_and_last_four_characters() {
        let id = IdNumber::parse("210202199001011232").unwrap();
        assert_eq!(id.masked(), "2102**********1232");
    }

    #[test]
    fn rejects_empty_input_as_required() {
        assert_eq!(IdNumber::parse(""), Err(DomainError::Required));
        assert_eq!(IdNumber::parse("   "), Err(DomainError::Required));
    }

    #[test]
    fn rejects_wrong_length() {
        assert_eq!(IdNumber::parse("21020219900101123"), Err(DomainError::InvalidIdNumber));
        assert_eq!(IdNumber::parse("2102021990010112320"), Err(DomainError::InvalidIdNumber));
    }

    #[test]
    fn rejects_old_15_digit_numbers() {
        assert_eq!(IdNumber::parse("210202900101123"), Err(DomainError::InvalidIdNumber));
    }

    #[test]
    fn rejects_x_anywhere_but_the_last_position() {
        assert_eq!(IdNumber::parse("2102021990010112X2"), Err(DomainError::InvalidIdNumber));
    }

    #[test]
    fn rejects_other_letters_and_non_ascii_digits() {
        assert_eq!(IdNumber::parse("21020219900101123A"), Err(DomainError::InvalidIdNumber));
        assert_eq!(IdNumber::parse("２１０２０２１９９００１０１１２３２"), Err(DomainError::InvalidIdNumber));
    }

    #[test]
    fn rejects_internal_spaces() {
        assert_eq!(IdNumber::parse("210202 19900101 1232"), Err(DomainError::InvalidIdNumber));
    }

    #[test]
    fn rejects_a_wrong_check_character() {
        assert_eq!(IdNumber::parse("210202199001011233"), Err(DomainError::IdNumberChecksum));
        assert_eq!(IdNumber::parse("110105194912310029"), Err(DomainError::IdNumberChecksum));
    }

    // Every number below carries a correct check character, so only the date can be at fault.

    #[test]
    fn accepts_leap_day_in_a_leap_century() {
        let id = IdNumber::parse("210202200002290013").unwrap();
        assert_eq!(id.birth_date(), (2000, 2, 29));
    }

    #[test]
    fn rejects_leap_day_in_a_non_leap_century() {
        assert_eq!(IdNumber::parse("210202190002290017"), Err(DomainError::IdNumberBirthDate));
    }

    #[test]
    fn rejects_leap_day_in_an_ordinary_year() {
        assert_eq!(IdNumber::parse("210202202302290014"), Err(DomainError::IdNumberBirthDate));
    }

    #[test]
    fn accepts_the_first_and_last_supported_years() {
        assert_eq!(IdNumber::parse("21020219000101001X").unwrap().birth_date(), (1900, 1, 1));
        assert_eq!(IdNumber::parse("210202209901310015").unwrap().birth_date(), (2099, 1, 31));
    }

    #[test]
    fn rejects_years_outside_1900_to_2099() {
        assert_eq!(IdNumber::parse("210202189912310015"), Err(DomainError::IdNumberBirthDate));
        assert_eq!(IdNumber::parse("210202210001010015"), Err(DomainError::IdNumberBirthDate));
    }

    #[test]
    fn rejects_impossible_months_and_days() {
        for id in [
            "210202199013010018", // month 13
            "210202199000010019", // month 0
            "210202199001000015", // day 0
            "210202199004310019", // 31 April
            "21020219900230001X", // 30 February
        ] {
            assert_eq!(IdNumber::parse(id), Err(DomainError::IdNumberBirthDate), "{id}");
        }
    }
}
