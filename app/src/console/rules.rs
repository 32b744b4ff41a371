//! The console's decisions as plain functions: which staff names and passwords an account may have, whether a
//! role may open a screen, and how the audit search's dates and words become the query's bounds and patterns.

use super::model::Role;
use crate::domain::CivilDate;

/// Whether `username` may name a staff account: 3 to 32 letters, digits, '.', '-' or '_'.
pub fn valid_username(username: &str) -> bool {
    (3..=32).contains(&username.len())
        && username.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Whether `password` is long enough for a staff account: at least 12 characters.
pub fn valid_password(password: &str) -> bool {
    password.chars().count() >= 12
}

/// Whether a staff member of `role` may use a screen open to `allowed`.
pub fn may(role: Role, allowed: &[Role]) -> bool {
    allowed.contains(&role)
}

/// The audit search's time range, `[from, to)` in epoch seconds; an empty date leaves that side open.
/// `None` when a date is not `YYYY-MM-DD`.
pub fn audit_range(from: &str, to: &str) -> Option<(i64, i64)> {
    let bound = |text: &str, end: bool| -> Result<Option<i64>, ()> {
        if text.is_empty() {
            return Ok(None);
        }
        let date = CivilDate::parse(text).ok_or(())?;
        Ok(Some(if end { date.shanghai_day_end() } else { date.shanghai_midnight() }))
    };
    let (Ok(from), Ok(to)) = (bound(from, false), bound(to, true)) else { return None };
    Some((from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX)))
}

/// The `LIKE … ESCAPE '\'` pattern matching text that contains `text` (trimmed), its wildcards taken literally.
pub fn contains_pattern(text: &str) -> String {
    format!("%{}%", text.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_3_to_32_plain_characters() {
        assert!(valid_username("wang.li"));
        assert!(valid_username("a_b-c"));
        assert!(!valid_username("ab"));
        assert!(!valid_username(&"a".repeat(33)));
        assert!(valid_username(&"a".repeat(32)));
        assert!(!valid_username("wang li"));
        assert!(!valid_username("王丽丽"));
    }

    #[test]
    fn passwords_need_12_characters() {
        assert!(!valid_password("elevenchars"));
        assert!(valid_password("twelve chars"));
        assert!(valid_password("十二个字符十二个字符十二"));
    }

    #[test]
    fn a_role_may_use_only_the_screens_open_to_it() {
        assert!(may(Role::Auditor, &[Role::Auditor]));
        assert!(!may(Role::Bank, &[Role::Auditor, Role::Police]));
        assert!(Role::ALL.iter().all(|&role| may(role, &Role::ALL)));
    }

    #[test]
    fn audit_dates_bound_whole_shanghai_days() {
        let day = CivilDate::parse("2026-03-01").unwrap();
        assert_eq!(audit_range("", ""), Some((i64::MIN, i64::MAX)));
        assert_eq!(audit_range("2026-03-01", ""), Some((day.shanghai_midnight(), i64::MAX)));
        assert_eq!(audit_range("", "2026-03-01"), Some((i64::MIN, day.shanghai_day_end())));
        assert_eq!(audit_range("2026-3-1x", ""), None);
        assert_eq!(audit_range("", "tomorrow"), None);
    }

    #[test]
    fn search_words_match_literally() {
        assert_eq!(contains_pattern(" card "), "%card%");
        assert_eq!(contains_pattern(""), "%%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
