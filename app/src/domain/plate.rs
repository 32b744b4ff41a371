//! Motor vehicle plate numbers and the plate types the violation lookup accepts.

use std::fmt;

use super::{required, DomainError};

/// Province abbreviations that open a civilian plate.
const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// A plate number such as `辽B12345` (ordinary) or `辽BD12345` (new energy).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Plate(String);

impl Plate {
    /// Parses a plate, uppercasing letters and dropping spaces and the `·` people copy from the plate.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let chars: Vec<char> = required(input)?
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '·')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let valid = match chars.as_slice() {
            [province, authority, serial @ ..] => {
                PROVINCES.contains(*province) && is_plate_letter(*authority) && is_valid_serial(serial)
            }
            _ => false,
        };
        if valid {
            Ok(Self(chars.into_iter().collect()))
        } else {
            Err(DomainError::InvalidPlate)
        }
    }

    /// The normalised plate number, e.g. `辽B12345`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a green new-energy plate, which has a six-character serial.
    pub fn is_new_energy(&self) -> bool {
        self.0.chars().count() == 8
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Plate letters exclude I and O because they are too easily read as 1 and 0.
fn is_plate_letter(c: char) -> bool {
    c.is_ascii_uppercase() && c != 'I' && c != 'O'
}

/// Five characters for ordinary plates; six for new-energy plates, marked by D or F at either end.
fn is_valid_serial(serial: &[char]) -> bool {
    let allowed = serial.iter().all(|&c| c.is_ascii_digit() || is_plate_letter(c));
    let energy_mark = |c: &char| matches!(c, 'D' | 'F');
    allowed
        && match serial.len() {
            5 => true,
            6 => serial.first().is_some_and(energy_mark) || serial.last().is_some_and(energy_mark),
            _ => false,
        }
}

/// Plate type as coded by the traffic management system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PlateType {
    /// Yellow plate of a large vehicle, code `01`.
    #[serde(rename = "01")]
    LargeVehicle,
    /// Blue plate of a small vehicle, code `02`.
    #[serde(rename = "02")]
    SmallVehicle,
    /// New-energy plate of a large vehicle, code `51`.
    #[serde(rename = "51")]
    LargeNewEnergy,
    /// New-energy plate of a small vehicle, code `52`.
    #[serde(rename = "52")]
    SmallNewEnergy,
}

impl PlateType {
    /// Every supported type, in code order, for building a select list.
    pub const ALL: [PlateType; 4] =
        [PlateType::LargeVehicle, PlateType::SmallVehicle, PlateType::LargeNewEnergy, PlateType::SmallNewEnergy];

    /// Parses a two-digit plate type code such as `02`.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let code = required(input)?;
        Self::ALL.into_iter().find(|t| t.code() == code).ok_or(DomainError::InvalidPlateType)
    }

    /// The two-digit code sent to the traffic system.
    pub fn code(&self) -> &'static str {
        match self {
            PlateType::LargeVehicle => "01",
            PlateType::SmallVehicle => "02",
            PlateType::LargeNewEnergy => "51",
            PlateType::SmallNewEnergy => "52",
        }
    }

    /// The Chinese name shown to users.
    pub fn label(&self) -> &'static str {
        match self {
            PlateType::LargeVehicle => "大型汽车",
            PlateType::SmallVehicle => "小型汽车",
            PlateType::LargeNewEnergy => "大型新能源汽车",
            PlateType::SmallNewEnergy => "小型新能源汽车",
        }
    }
}

impl fmt::Display for PlateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plate(input: &str) -> Result<String, DomainError> {
        Plate::parse(input).map(|p| p.as_str().to_owned())
    }

    #[test]
    fn accepts_an_ordinary_dalian_plate() {
        let p = Plate::parse("辽B12345").unwrap();
        assert_eq!(p.as_str(), "辽B12345");
        assert_eq!(p.to_string(), "辽B12345");
        assert!(!p.is_new_energy());
    }

    #[test]
    fn accepts_letters_in_the_serial() {
        assert_eq!(plate("京AB12C3"), Ok("京AB12C3".to_owned()));
        assert_eq!(plate("粤ZZZZZZ"), Ok("粤ZZZZZZ".to_owned()));
    }

    #[test]
    fn accepts_every_province_abbreviation() {
        for province in PROVINCES.chars() {
            let input = format!("{province}A12345");
            assert_eq!(plate(&input), Ok(input.clone()));
        }
        assert_eq!(PROVINCES.chars().count(), 31);
    }

    #[test]
    fn normalises_case_spaces_and_middle_dot() {
        assert_eq!(plate("辽b 12345"), Ok("辽B12345".to_owned()));
        assert_eq!(plate("辽B·12345"), Ok("辽B12345".to_owned()));
        assert_eq!(plate("  辽 b · 1 2 3 4 5  "), Ok("辽B12345".to_owned()));
        assert_eq!(plate("辽bd12345"), Ok("辽BD12345".to_owned()));
    }

    #[test]
    fn accepts_new_energy_plates_marked_at_either_end() {
        for input in ["辽BD12345", "辽BF12345", "辽B12345D", "辽B12345F"] {
            let p = Plate::parse(input).unwrap();
            assert!(p.is_new_energy(), "{input}");
        }
    }

    #[test]
    fn rejects_six_character_serial_without_energy_mark() {
        assert_eq!(plate("辽B123456"), Err(DomainError::InvalidPlate));
        assert_eq!(plate("辽B1D2345"), Err(DomainError::InvalidPlate));
    }

    #[test]
    fn rejects_empty_input_as_required() {
        assert_eq!(plate(""), Err(DomainError::Required));
        assert_eq!(plate(" \t "), Err(DomainError::Required));
    }

    #[test]
    fn rejects_unknown_province() {
        assert_eq!(plate("港B12345"), Err(DomainError::InvalidPlate));
        assert_eq!(plate("AB12345"), Err(DomainError::InvalidPlate));
    }

    #[test]
    fn rejects_i_and_o_anywhere() {
        assert_eq!(plate("辽I12345"), Err(DomainError::InvalidPlate));
        assert_eq!(plate("辽O12345"), Err(DomainError::InvalidPlate));
        assert_eq!(plate("辽B1234O"), Err(DomainError::InvalidPlate));
        assert_eq!(plate("辽BI2345"), Err(DomainError::InvalidPlate));
    }

    #[test]
    fn rejects_digit_in_the_authority_position() {
        assert_eq!(plate("辽112345"), Err(DomainError::InvalidPlate));
    }

    #[test]
    fn rejects_wrong_serial_length() {
        assert_eq!(plate("辽B1234"), Err(DomainError::InvalidPlate));
        assert_eq!(plate("辽BD123456"), Err(DomainError::InvalidPlate));
        assert_eq!(plate("辽B"), Err(DomainError::InvalidPlate));
        assert_eq!(plate("辽"), Err(DomainError::InvalidPlate));
    }

    #[test]
    fn rejects_special_suffixes_and_punctuation() {
        assert_eq!(plate("辽B1234学"), Err(DomainError::InvalidPlate));
        assert_eq!(plate("辽B-12345"), Err(DomainError::InvalidPlate));
        assert_eq!(plate("辽Ｂ12345"), Err(DomainError::InvalidPlate));
    }

    #[test]
    fn plate_type_parses_each_code() {
        assert_eq!(PlateType::parse("01"), Ok(PlateType::LargeVehicle));
        assert_eq!(PlateType::parse("02"), Ok(PlateType::SmallVehicle));
        assert_eq!(PlateType::parse("51"), Ok(PlateType::LargeNewEnergy));
        assert_eq!(PlateType::parse(" 52 "), Ok(PlateType::SmallNewEnergy));
    }

    #[test]
    fn plate_type_round_trips_through_its_code() {
        for t in PlateType::ALL {
            assert_eq!(PlateType::parse(t.code()), Ok(t));
        }
    }

    #[test]
    fn plate_type_displays_its_chinese_label() {
        assert_eq!(PlateType::SmallVehicle.label(), "小型汽车");
        assert_eq!(PlateType::LargeNewEnergy.to_string(), "大型新能源汽车");
        assert_eq!(PlateType::SmallNewEnergy.to_string(), "小型新能源汽车");
        assert_eq!(PlateType::LargeVehicle.to_string(), "大型汽车");
    }

    #[test]
    fn plate_type_rejects_unknown_codes() {
        assert_eq!(PlateType::parse("2"), Err(DomainError::InvalidPlateType));
        assert_eq!(PlateType::parse("03"), Err(DomainError::InvalidPlateType));
        assert_eq!(PlateType::parse("小型汽车"), Err(DomainError::InvalidPlateType));
        assert_eq!(PlateType::parse(""), Err(DomainError::Required));
    }
}
