//! Personal names as written on a resident ID card.

use std::fmt;

use super::mask::keep_ends;
use super::{required, DomainError};

/// Separator in transliterated names such as `买买提·艾力`.
const MIDDLE_DOT: char = '·';

/// A name of 2 to 20 Chinese characters, optionally with single `·` separators.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PersonName(String);

impl PersonName {
    /// Parses a name; Latin letters and spaces are rejected because ID cards never carry them.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let name = required(input)?;
        let chars: Vec<char> = name.chars().collect();
        let valid = (2..=20).contains(&chars.len())
            && chars.iter().all(|&c| is_cjk(c) || c == MIDDLE_DOT)
            && chars.first() != Some(&MIDDLE_DOT)
            && chars.last() != Some(&MIDDLE_DOT)
            // A doubled dot is a typing slip, never part of a real name.
            && !chars.windows(2).any(|pair| pair == [MIDDLE_DOT, MIDDLE_DOT]);
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(DomainError::InvalidName)
        }
    }

    /// The full name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name with all but its first (and, from three characters, last) character hidden.
    pub fn masked(&self) -> String {
        let tail = if self.0.chars().count() == 2 { 0 } else { 1 };
        keep_ends(&self.0, 1, tail)
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// CJK Unified Ideographs and Extension A, which cover names in everyday use.
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(input: &str) -> Result<String, DomainError> {
        PersonName::parse(input).map(|n| n.as_str().to_owned())
    }

    #[test]
    fn accepts_common_names() {
        assert_eq!(name("张三"), Ok("张三".to_owned()));
        assert_eq!(name("欧阳锋"), Ok("欧阳锋".to_owned()));
        assert_eq!(PersonName::parse("李四").unwrap().to_string(), "李四");
    }

    #[test]
    fn trims_surrounding_whitespace() {
        assert_eq!(name("  张三\u{3000}"), Ok("张三".to_owned()));
    }

    #[test]
    fn accepts_middle_dot_between_parts() {
        assert_eq!(name("买买提·艾力"), Ok("买买提·艾力".to_owned()));
        assert_eq!(name("阿·卜"), Ok("阿·卜".to_owned()));
    }

    #[test]
    fn accepts_extension_a_and_range_edges() {
        assert!(PersonName::parse("\u{3400}\u{4DBF}").is_ok());
        assert!(PersonName::parse("\u{4E00}\u{9FFF}").is_ok());
    }

    #[test]
    fn accepts_between_2_and_20_characters() {
        assert!(PersonName::parse(&"王".repeat(2)).is_ok());
        assert!(PersonName::parse(&"王".repeat(20)).is_ok());
    }

    #[test]
    fn rejects_1_or_21_characters() {
        assert_eq!(name("张"), Err(DomainError::InvalidName));
        assert_eq!(name(&"王".repeat(21)), Err(DomainError::InvalidName));
    }

    #[test]
    fn rejects_empty_input_as_required() {
        assert_eq!(name(""), Err(DomainError::Required));
        assert_eq!(name("   "), Err(DomainError::Required));
    }

    #[test]
    fn rejects_middle_dot_at_either_end_or_doubled() {
        assert_eq!(name("·张三"), Err(DomainError::InvalidName));
        assert_eq!(name("张三·"), Err(DomainError::InvalidName));
        assert_eq!(name("买买提··艾力"), Err(DomainError::InvalidName));
        assert_eq!(name("··"), Err(DomainError::InvalidName));
    }

    #[test]
    fn rejects_latin_letters_digits_spaces_and_other_symbols() {
        for input in ["Zhang San", "张3", "张 三", "张三a", "张•三", "張三!", "张三\u{20000}"] {
            assert_eq!(name(input), Err(DomainError::InvalidName), "{input}");
        }
    }

    #[test]
    fn masks_two_character_names_after_the_first() {
        assert_eq!(PersonName::parse("张三").unwrap().masked(), "张*");
    }

    #[test]
    fn masks_longer_names_between_first_and_last() {
        assert_eq!(PersonName::parse("张小三").unwrap().masked(), "张*三");
        assert_eq!(PersonName::parse("欧阳小锋").unwrap().masked(), "欧**锋");
        assert_eq!(PersonName::parse("买买提·艾力").unwrap().masked(), "买****力");
    }
}
