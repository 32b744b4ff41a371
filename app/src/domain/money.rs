//! Money held as an integer count of fen, so fines never suffer floating-point rounding.

use std::fmt;
use std::ops::Add;

use super::{required, DomainError};

/// Largest amount a user may enter: 10,000,000 yuan, far above any traffic fine.
const MAX_FEN: i64 = 10_000_000 * 100;

/// An amount of money in fen (1 yuan = 100 fen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Fen(i64);

impl Fen {
    /// Wraps a fen count that is already trusted, such as one read from the database.
    pub const fn new(fen: i64) -> Self {
        Self(fen)
    }

    /// The amount in fen.
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// Parses a non-negative yuan amount with at most two decimals, e.g. `12.5` → 1250 fen.
    pub fn parse_yuan(input: &str) -> Result<Self, DomainError> {
        let text = required(input)?;
        let (whole, fraction) = match text.split_once('.') {
            None => (text, ""),
            Some((_, "")) => return Err(DomainError::InvalidAmount),
            Some(parts) => parts,
        };
        let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !is_digits(whole) || !is_digits(fraction) || fraction.len() > 2 {
            return Err(DomainError::InvalidAmount);
        }
        // Appending the fraction padded to two digits turns yuan text into fen text: "12.5" → "1250".
        decimal(&format!("{whole}{fraction:0<2}"))
            .filter(|&fen| fen <= MAX_FEN)
            .map(Self)
            .ok_or(DomainError::AmountTooLarge)
    }

    /// Adds two amounts, returning `None` instead of overflowing.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }
}

/// Value of an all-digit string, or `None` if it does not fit in an `i64`.
fn decimal(digits: &str) -> Option<i64> {
    digits.bytes().try_fold(0i64, |acc, b| acc.checked_mul(10)?.checked_add(i64::from(b - b'0')))
}

impl Add for Fen {
    type Output = Fen;

    fn add(self, other: Fen) -> Fen {
        Fen(self.0 + other.0)
    }
}

impl fmt::Display for Fen {
    /// Formats as yuan with two decimals, e.g. `200.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yuan(input: &str) -> Result<i64, DomainError> {
        Fen::parse_yuan(input).map(Fen::fen)
    }

    #[test]
    fn parses_whole_yuan() {
        assert_eq!(yuan("200"), Ok(20_000));
        assert_eq!(yuan("0"), Ok(0));
    }

    #[test]
    fn parses_one_or_two_decimals_exactly() {
        assert_eq!(yuan("12.5"), Ok(1_250));
        assert_eq!(yuan("12.50"), Ok(1_250));
        assert_eq!(yuan("0.01"), Ok(1));
        assert_eq!(yuan("0.10"), Ok(10));
        assert_eq!(yuan("0.1"), Ok(10));
        assert_eq!(yuan("199.99"), Ok(19_999));
    }

    #[test]
    fn trims_surrounding_whitespace_and_allows_leading_zeros() {
        assert_eq!(yuan("  50 "), Ok(5_000));
        assert_eq!(yuan("007.5"), Ok(750));
    }

    #[test]
    fn accepts_exactly_ten_million_yuan() {
        assert_eq!(yuan("10000000"), Ok(1_000_000_000));
        assert_eq!(yuan("10000000.00"), Ok(1_000_000_000));
    }

    #[test]
    fn rejects_more_than_ten_million_yuan() {
        assert_eq!(yuan("10000000.01"), Err(DomainError::AmountTooLarge));
        assert_eq!(yuan("99999999999999999999999"), Err(DomainError::AmountTooLarge));
    }

    #[test]
    fn rejects_empty_input_as_required() {
        assert_eq!(yuan(""), Err(DomainError::Required));
        assert_eq!(yuan("  "), Err(DomainError::Required));
    }

    #[test]
    fn rejects_more_than_two_decimals() {
        assert_eq!(yuan("12.345"), Err(DomainError::InvalidAmount));
        assert_eq!(yuan("0.001"), Err(DomainError::InvalidAmount));
    }

    #[test]
    fn rejects_signs_exponents_and_separators() {
        for input in ["-1", "+1", "1e3", "1,000", "1 000", "¥200", "200元", "１２"] {
            assert_eq!(yuan(input), Err(DomainError::InvalidAmount), "{input}");
        }
    }

    #[test]
    fn rejects_a_dangling_or_leading_point() {
        for input in ["12.", ".5", ".", "1.2.3", "1..2"] {
            assert_eq!(yuan(input), Err(DomainError::InvalidAmount), "{input}");
        }
    }

    #[test]
    fn displays_yuan_with_two_decimals() {
        assert_eq!(Fen::new(20_000).to_string(), "200.00");
        assert_eq!(Fen::new(1_250).to_string(), "12.50");
        assert_eq!(Fen::new(1).to_string(), "0.01");
        assert_eq!(Fen::new(0).to_string(), "0.00");
    }

    #[test]
    fn displays_negative_amounts_such_as_refunds() {
        assert_eq!(Fen::new(-150).to_string(), "-1.50");
        assert_eq!(Fen::new(-5).to_string(), "-0.05");
        assert_eq!(Fen::new(i64::MIN).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn adds_amounts() {
        assert_eq!(Fen::new(20_000) + Fen::new(1_250), Fen::new(21_250));
    }

    #[test]
    fn checked_add_reports_overflow() {
        assert_eq!(Fen::new(1).checked_add(Fen::new(2)), Some(Fen::new(3)));
        assert_eq!(Fen::new(i64::MAX).checked_add(Fen::new(1)), None);
    }

    #[test]
    fn orders_by_amount() {
        assert!(Fen::new(1) < Fen::new(2));
        assert_eq!(Fen::new(5).max(Fen::new(3)), Fen::new(5));
    }
}
