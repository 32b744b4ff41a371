//! Driving licence classes (准驾车型) and licence states.

use std::fmt;

use super::{required, DomainError};

/// A licence class code as printed on a mainland driving licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LicenceClass {
    /// Large passenger bus.
    A1,
    /// Tractor-trailer.
    A2,
    /// City bus.
    A3,
    /// Medium passenger bus.
    B1,
    /// Large goods vehicle.
    B2,
    /// Small car, manual or automatic.
    C1,
    /// Small car, automatic only.
    C2,
    /// Low-speed truck.
    C3,
    /// Three-wheeled car.
    C4,
    /// Small automatic car adapted for disabled drivers.
    C5,
    /// Light trailer combination.
    C6,
    /// Three-wheeled motorcycle.
    D,
    /// Two-wheeled motorcycle.
    E,
    /// Light motorcycle.
    F,
    /// Wheeled self-propelled machinery.
    M,
    /// Trolleybus.
    N,
    /// Tram.
    P,
}

impl LicenceClass {
    /// Every class, in the order printed in the regulations, for building a select list.
    pub const ALL: [LicenceClass; 17] = [
        LicenceClass::A1,
        LicenceClass::A2,
        LicenceClass::A3,
        LicenceClass::B1,
        LicenceClass::B2,
        LicenceClass::C1,
        LicenceClass::C2,
        LicenceClass::C3,
        LicenceClass::C4,
        LicenceClass::C5,
        LicenceClass::C6,
        LicenceClass::D,
        LicenceClass::E,
        LicenceClass::F,
        LicenceClass::M,
        LicenceClass::N,
        LicenceClass::P,
    ];

    /// Parses a class code such as `C1`, ignoring letter case.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let code = required(input)?;
        Self::ALL
            .into_iter()
            .find(|class| class.code().eq_ignore_ascii_case(code))
            .ok_or(DomainError::InvalidLicenceClass)
    }

    /// The class code, e.g. `C1`.
    pub fn code(&self) -> &'static str {
        match self {
            LicenceClass::A1 => "A1",
            LicenceClass::A2 => "A2",
            LicenceClass::A3 => "A3",
            LicenceClass::B1 => "B1",
            LicenceClass::B2 => "B2",
            LicenceClass::C1 => "C1",
            LicenceClass::C2 => "C2",
            LicenceClass::C3 => "C3",
            LicenceClass::C4 => "C4",
            LicenceClass::C5 => "C5",
            LicenceClass::C6 => "C6",
            LicenceClass::D => "D",
            LicenceClass::E => "E",
            LicenceClass::F => "F",
            LicenceClass::M => "M",
            LicenceClass::N => "N",
            LicenceClass::P => "P",
        }
    }

    /// Whether holders must attend review study (审验教育) after every scoring cycle, as heavy-vehicle drivers do.
    pub fn requires_review_study(&self) -> bool {
        matches!(self, LicenceClass::A1 | LicenceClass::A2 | LicenceClass::A3 | LicenceClass::B1 | LicenceClass::B2)
    }
}

impl fmt::Display for LicenceClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Whether a driving licence may currently be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenceStatus {
    /// Valid and usable.
    Normal,
    /// Temporarily withheld (暂扣).
    Suspended,
    /// Revoked (吊销).
    Revoked,
    /// Past its validity period (过期).
    Expired,
}

impl LicenceStatus {
    /// Every status, for building a select list.
    pub const ALL: [LicenceStatus; 4] =
        [LicenceStatus::Normal, LicenceStatus::Suspended, LicenceStatus::Revoked, LicenceStatus::Expired];

    /// Parses one of `normal`, `suspended`, `revoked` or `expired`, ignoring letter case.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let code = required(input)?;
        Self::ALL
            .into_iter()
            .find(|status| status.code().eq_ignore_ascii_case(code))
            .ok_or(DomainError::InvalidLicenceStatus)
    }

    /// The lowercase English code stored and exchanged with the server.
    pub fn code(&self) -> &'static str {
        match self {
            LicenceStatus::Normal => "normal",
            LicenceStatus::Suspended => "suspended",
            LicenceStatus::Revoked => "revoked",
            LicenceStatus::Expired => "expired",
        }
    }

    /// The Chinese name shown to users.
    pub fn label(&self) -> &'static str {
        match self {
            LicenceStatus::Normal => "正常",
            LicenceStatus::Suspended => "暂扣",
            LicenceStatus::Revoked => "吊销",
            LicenceStatus::Expired => "过期",
        }
    }

    /// Whether the licence may be used to drive.
    pub fn is_normal(&self) -> bool {
        *self == LicenceStatus::Normal
    }
}

impl fmt::Display for LicenceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_parses_every_code_and_displays_it_back() {
        for class in LicenceClass::ALL {
            assert_eq!(LicenceClass::parse(class.code()), Ok(class));
            assert_eq!(class.to_string(), class.code());
        }
    }

    #[test]
    fn class_covers_the_seventeen_codes() {
        let codes: Vec<&str> = LicenceClass::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(
            codes,
            ["A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5", "C6", "D", "E", "F", "M", "N", "P"]
        );
    }

    #[test]
    fn class_ignores_case_and_surrounding_whitespace() {
        assert_eq!(LicenceClass::parse("c1"), Ok(LicenceClass::C1));
        assert_eq!(LicenceClass::parse(" a2 "), Ok(LicenceClass::A2));
        assert_eq!(LicenceClass::parse("m"), Ok(LicenceClass::M));
    }

    #[test]
    fn class_rejects_unknown_codes() {
        for input in ["C7", "A4", "B", "G", "C1E", "C 1", "Ｃ１"] {
            assert_eq!(LicenceClass::parse(input), Err(DomainError::InvalidLicenceClass), "{input}");
        }
    }

    #[test]
    fn class_rejects_empty_input_as_required() {
        assert_eq!(LicenceClass::parse(""), Err(DomainError::Required));
        assert_eq!(LicenceClass::parse("  "), Err(DomainError::Required));
    }

    #[test]
    fn review_study_is_required_exactly_for_a1_a2_a3_b1_b2() {
        let requiring: Vec<LicenceClass> =
            LicenceClass::ALL.into_iter().filter(LicenceClass::requires_review_study).collect();
        assert_eq!(
            requiring,
            [LicenceClass::A1, LicenceClass::A2, LicenceClass::A3, LicenceClass::B1, LicenceClass::B2]
        );
    }

    #[test]
    fn status_parses_each_code() {
        assert_eq!(LicenceStatus::parse("normal"), Ok(LicenceStatus::Normal));
        assert_eq!(LicenceStatus::parse("suspended"), Ok(LicenceStatus::Suspended));
        assert_eq!(LicenceStatus::parse("revoked"), Ok(LicenceStatus::Revoked));
        assert_eq!(LicenceStatus::parse("expired"), Ok(LicenceStatus::Expired));
    }

    #[test]
    fn status_ignores_case_and_surrounding_whitespace() {
        assert_eq!(LicenceStatus::parse(" Normal "), Ok(LicenceStatus::Normal));
        assert_eq!(LicenceStatus::parse("REVOKED"), Ok(LicenceStatus::Revoked));
    }

    #[test]
    fn status_round_trips_through_its_code() {
        for status in LicenceStatus::ALL {
            assert_eq!(LicenceStatus::parse(status.code()), Ok(status));
        }
    }

    #[test]
    fn status_displays_its_chinese_label() {
        assert_eq!(LicenceStatus::Normal.to_string(), "正常");
        assert_eq!(LicenceStatus::Suspended.to_string(), "暂扣");
        assert_eq!(LicenceStatus::Revoked.label(), "吊销");
        assert_eq!(LicenceStatus::Expired.label(), "过期");
    }

    #[test]
    fn only_normal_status_is_normal() {
        assert!(LicenceStatus::Normal.is_normal());
        assert!(!LicenceStatus::Suspended.is_normal());
        assert!(!LicenceStatus::Revoked.is_normal());
        assert!(!LicenceStatus::Expired.is_normal());
    }

    #[test]
    fn status_rejects_unknown_words_and_chinese_labels() {
        for input in ["active", "正常", "norm", "normal1"] {
            assert_eq!(LicenceStatus::parse(input), Err(DomainError::InvalidLicenceStatus), "{input}");
        }
        assert_eq!(LicenceStatus::parse(""), Err(DomainError::Required));
    }
}
