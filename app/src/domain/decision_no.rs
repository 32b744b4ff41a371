//! Numbers of penalty decision documents (处罚决定书), used to look up and pay a fine.

use std::fmt;

use super::mask::keep_ends;
use super::{required, DomainError};

/// A 15- or 16-digit penalty decision number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DecisionNo(String);

impl DecisionNo {
    /// Parses a decision number.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let number = required(input)?;
        if (15..=16).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(number.to_owned()))
        } else {
            Err(DomainError::InvalidDecisionNo)
        }
    }

    /// The number as digits only.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but the first six and last four digits hidden, keeping its length.
    pub fn masked(&self) -> String {
        keep_ends(&self.0, 6, 4)
    }
}

impl fmt::Display for DecisionNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_15_and_16_digits() {
        assert_eq!(DecisionNo::parse("210202123456789").unwrap().as_str(), "210202123456789");
        assert_eq!(DecisionNo::parse("2102021234567890").unwrap().to_string(), "2102021234567890");
    }

    #[test]
    fn trims_surrounding_whitespace() {
        assert_eq!(DecisionNo::parse(" 210202123456789\t").unwrap().as_str(), "210202123456789");
    }

    #[test]
    fn masks_the_middle_and_keeps_the_length() {
        assert_eq!(DecisionNo::parse("210202123456789").unwrap().masked(), "210202*****6789");
        assert_eq!(DecisionNo::parse("2102021234567890").unwrap().masked(), "210202******7890");
    }

    #[test]
    fn rejects_empty_input_as_required() {
        assert_eq!(DecisionNo::parse(""), Err(DomainError::Required));
        assert_eq!(DecisionNo::parse(" "), Err(DomainError::Required));
    }

    #[test]
    fn rejects_14_and_17_digits() {
        assert_eq!(DecisionNo::parse("21020212345678"), Err(DomainError::InvalidDecisionNo));
        assert_eq!(DecisionNo::parse("21020212345678901"), Err(DomainError::InvalidDecisionNo));
    }

    #[test]
    fn rejects_non_digits_and_internal_spaces() {
        assert_eq!(DecisionNo::parse("21020212345678X"), Err(DomainError::InvalidDecisionNo));
        assert_eq!(DecisionNo::parse("210202 123456789"), Err(DomainError::InvalidDecisionNo));
        assert_eq!(DecisionNo::parse("２１０２０２１２３４５６７８９"), Err(DomainError::InvalidDecisionNo));
    }
}
