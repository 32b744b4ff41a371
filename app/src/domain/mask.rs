//! Masking shared by the `masked()` methods, so personal data can be shown without being disclosed.

/// Replaces every character except the first `head` and last `tail` with `*`, keeping the length.
///
/// Counts characters, not bytes, so it is safe on Chinese text; if the input is too short to
/// hide anything it is returned unchanged, because callers only pass already-validated values.
pub(crate) fn keep_ends(s: &str, head: usize, tail: usize) -> String {
    let hidden = s.chars().count().saturating_sub(head + tail);
    s.chars().enumerate().map(|(i, c)| if (head..head + hidden).contains(&i) { '*' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::keep_ends;

    #[test]
    fn hides_the_middle_and_keeps_the_length() {
        assert_eq!(keep_ends("13812345678", 3, 4), "138****5678");
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(keep_ends("欧阳锋", 1, 1), "欧*锋");
    }

    #[test]
    fn tail_of_zero_hides_everything_after_the_head() {
        assert_eq!(keep_ends("张三", 1, 0), "张*");
    }

    #[test]
    fn too_short_input_is_left_unchanged() {
        assert_eq!(keep_ends("1234", 3, 4), "1234");
        assert_eq!(keep_ends("", 1, 1), "");
    }
}
