//! `questions.csv` and `courses.csv`: 审验学习's question bank and video course catalogue.

use sqlx::{Any, Transaction};

use super::sql::{Dest, Planned, Table, Ty, Value};
use super::{Fields, ImportReport, Parsed};

pub(super) const QUESTION_COLUMNS: &[&str] =
    &["code", "kind", "stem", "option_a", "option_b", "option_c", "option_d", "answer", "explanation"];

pub(super) const COURSE_COLUMNS: &[&str] = &["code", "position", "title", "summary", "video", "required_minutes"];

/// A question of the bank.
pub(super) struct Question {
    code: String,
    kind: &'static str,
    stem: String,
    options: Vec<String>,
    answer: String,
    explanation: String,
}

/// A code such as `Q001` or `C01`: letters, digits, `-` and `_`, at most 20.
fn parse_code(text: &str) -> Result<String, &'static str> {
    let valid = !text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then(|| text.to_owned()).ok_or("应为1至20位字母、数字、-或_")
}

/// Text that must be present and at most `max` characters long.
fn parse_text(max: usize) -> impl Fn(&str) -> Result<String, String> {
    move |text| match text.chars().count() {
        0 => Err("不能为空".into()),
        n if n > max => Err(format!("不能超过{max}个字")),
        _ => Ok(text.to_owned()),
    }
}

pub(super) fn parse_question(fields: &mut Fields) -> Option<Question> {
    let code = fields.parse("code", parse_code);
    let kind = fields.parse("kind", |text| match text {
        "single" => Ok("single"),
        "judge" => Ok("judge"),
        _ => Err("应为 single（单选题）或 judge（判断题）"),
    });
    let stem = fields.parse("stem", parse_text(300));
    let explanation = fields.parse("explanation", parse_text(500));
    let kind = kind?;
    let letters = ["option_a", "option_b", "option_c", "option_d"];
    let mut options = Vec::new();
    for column in letters {
        let text = fields.text(column).to_owned();
        match (kind, text.is_empty()) {
            ("single", true) => fields.reject(column, "单选题的四个选项都不能为空"),
            ("judge", false) => fields.reject(column, "判断题不填选项，应为空"),
            ("single", false) if text.chars().count() > 200 => fields.reject(column, "不能超过200个字"),
            _ => options.push(text),
        }
    }
    let answer = fields.parse("answer", |text| match (kind, text) {
        ("single", "A" | "B" | "C" | "D") | ("judge", "T" | "F") => Ok(text.to_owned()),
        ("single", _) => Err("单选题的答案应为 A、B、C 或 D"),
        _ => Err("判断题的答案应为 T（正确）或 F（错误）"),
    });
    let options: Vec<String> = options.into_iter().filter(|o| !o.is_empty()).collect();
    if kind == "single" && options.len() != 4 {
        return None;
    }
    Some(Question { code: code?, kind, stem: stem?, options, answer: answer?, explanation: explanation? })
}

pub(super) fn question_key(question: &Question) -> String {
    question.code.clone()
}

const QUESTIONS: Table = Table {
    name: "study_questions",
    key: &["code"],
    columns: &[
        ("code", Ty::Text),
        ("kind", Ty::Text),
        ("stem", Ty::Text),
        ("options", Ty::Text),
        ("answer", Ty::Text),
        ("explanation", Ty::Text),
    ],
    on_conflict: None,
};

pub(super) async fn write_questions(
    tx: &mut Transaction<'static, Any>,
    dest: &mut Dest,
    rows: &[Parsed<Question>],
) -> Result<ImportReport, sqlx::Error> {
    let keys: Vec<&str> = rows.iter().map(|p| p.row.code.as_str()).collect();
    let stored = QUESTIONS.stored(tx, dest.backend, &keys).await?;
    let planned = rows
        .iter()
        .map(|Parsed { row: q, .. }| Planned {
            values: vec![
                Value::text(&q.code),
                Value::text(q.kind),
                Value::text(&q.stem),
                Value::text(q.options.join("\n")),
                Value::text(&q.answer),
                Value::text(&q.explanation),
            ],
            kept: false,
        })
        .collect();
    QUESTIONS.apply(tx, dest, &stored, planned).await
}

/// A video lesson of the catalogue.
pub(super) struct Course {
    code: String,
    position: i64,
    title: String,
    summary: String,
    video: String,
    required_seconds: i64,
}

/// `|`-separated video URLs: site paths or https addresses of .mp4 or .webm files.
fn parse_video(text: &str) -> Result<String, &'static str> {
    let valid = !text.is_empty()
        && text.split('|').all(|source| {
            (source.starts_with('/') || source.starts_with("https://"))
                && (source.ends_with(".mp4") || source.ends_with(".webm"))
                && !source.contains(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        });
    valid.then(|| text.to_owned()).ok_or("应为以 / 或 https:// 开头的 .mp4 或 .webm 视频地址，多个地址用 | 分隔")
}

/// Minutes with up to two decimals, more than 0 and at most 600, as whole seconds.
fn parse_minutes(text: &str) -> Result<i64, &'static str> {
    const REASON: &str = "应为大于0、不超过600的分钟数，最多两位小数";
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 3 || fraction.len() > 2 || !digits(whole) || !digits(fraction) {
        return Err(REASON);
    }
    let hundredths = whole.parse::<i64>().map_err(|_| REASON)? * 100
        + format!("{fraction:0<2}").parse::<i64>().map_err(|_| REASON)?;
    let seconds = (hundredths * 60 + 50) / 100;
    if seconds == 0 || hundredths > 60_000 {
        return Err(REASON);
    }
    Ok(seconds)
}

pub(super) fn parse_course(fields: &mut Fields) -> Option<Course> {
    let code = fields.parse("code", parse_code);
    let position = fields.parse("position", |text| {
        text.parse::<i64>()
            .ok()
            .filter(|n| text.bytes().all(|b| b.is_ascii_digit()) && (1..=999).contains(n))
            .ok_or("应为1至999的整数")
    });
    let title = fields.parse("title", parse_text(60));
    let summary = fields.parse("summary", parse_text(200));
    let video = fields.parse("video", parse_video);
    let required_seconds = fields.parse("required_minutes", parse_minutes);
    Some(Course {
        code: code?,
        position: position?,
        title: title?,
        summary: summary?,
        video: video?,
        required_seconds: required_seconds?,
    })
}

pub(super) fn course_key(course: &Course) -> String {
    course.code.clone()
}

const COURSES: Table = Table {
    name: "study_courses",
    key: &["code"],
    columns: &[
        ("code", Ty::Text),
        ("position", Ty::Int),
        ("title", Ty::Text),
        ("summary", Ty::Text),
        ("video", Ty::Text),
        ("required_seconds", Ty::Int),
    ],
    on_conflict: None,
};

pub(super) async fn write_courses(
    tx: &mut Transaction<'static, Any>,
    dest: &mut Dest,
    rows: &[Parsed<Course>],
) -> Result<ImportReport, sqlx::Error> {
    let keys: Vec<&str> = rows.iter().map(|p| p.row.code.as_str()).collect();
    let stored = COURSES.stored(tx, dest.backend, &keys).await?;
    let planned = rows
        .iter()
        .map(|Parsed { row: c, .. }| Planned {
            values: vec![
                Value::text(&c.code),
                Value::Int(Some(c.position)),
                Value::text(&c.title),
                Value::text(&c.summary),
                Value::text(&c.video),
                Value::Int(Some(c.required_seconds)),
            ],
            kept: false,
        })
        .collect();
    COURSES.apply(tx, dest, &stored, planned).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn minutes_become_whole_seconds() {
        assert_eq!(super::parse_minutes("0.15"), Ok(9));
        assert_eq!(super::parse_minutes("45"), Ok(2700));
        assert_eq!(super::parse_minutes("1.5"), Ok(90));
        for bad in ["0", "0.00", "-1", "1.234", "abc", "", "601", ".5"] {
            assert!(super::parse_minutes(bad).is_err(), "{bad}");
        }
    }
}
