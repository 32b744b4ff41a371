//! 申办交通服务卡's pure rules: reading the form, the application's states and the steps between them, the
//! application and card numbers, and what the applicant is told by SMS.

use serde::{Deserialize, Serialize};

use crate::domain::{luhn_check_digit, CivilDate, DomainError, IdNumber, Mobile, PersonName, Plate, SmsCode};

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApplicationState {
    /// 已提交: waiting for the bank.
    Submitted,
    /// 审核中: the bank is checking it.
    Reviewing,
    /// 已制卡: the card exists and waits at the branch, not yet usable.
    Made,
    /// 已领卡: handed over after the bank checked the applicant's ID card; the card is active. Final.
    Collected,
    /// 已驳回: refused with a reason; final.
    Rejected,
}

impl ApplicationState {
    /// Every state, in the order the console's filter lists them.
    pub const ALL: [ApplicationState; 5] = [
        ApplicationState::Submitted,
        ApplicationState::Reviewing,
        ApplicationState::Made,
        ApplicationState::Collected,
        ApplicationState::Rejected,
    ];

    /// The code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            ApplicationState::Submitted => "submitted",
            ApplicationState::Reviewing => "reviewing",
            ApplicationState::Made => "made",
            ApplicationState::Collected => "collected",
            ApplicationState::Rejected => "rejected",
        }
    }

    /// Reads a stored code.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The state's name on screen.
    pub fn label(self) -> &'static str {
        match self {
            ApplicationState::Submitted => "已提交",
            ApplicationState::Reviewing => "审核中",
            ApplicationState::Made => "已制卡",
            ApplicationState::Collected => "已领卡",
            ApplicationState::Rejected => "已驳回",
        }
    }

    /// Whether the application still blocks a new one for the same person (the migration's partial unique index
    /// lists the same states).
    pub fn in_progress(self) -> bool {
        matches!(self, ApplicationState::Submitted | ApplicationState::Reviewing | ApplicationState::Made)
    }

    /// The progress line the applicant sees: each stage's label and whether it is reached.
    pub fn progress(self) -> Vec<(&'static str, bool)> {
        use ApplicationState::*;
        if self == Rejected {
            return vec![(Submitted.label(), true), (Rejected.label(), true)];
        }
        let reached = [Submitted, Reviewing, Made, Collected].iter().position(|s| *s == self).unwrap_or(0);
        [Submitted, Reviewing, Made, Collected].iter().enumerate().map(|(i, s)| (s.label(), i <= reached)).collect()
    }
}

/// A bank operator's step on an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Step {
    /// 开始审核: submitted → reviewing.
    StartReview,
    /// 批准制卡: reviewing → made, issuing the card, which waits for pickup.
    Approve,
    /// 驳回: submitted or reviewing → rejected, with a reason.
    Reject,
    /// 确认领卡: made → collected, once the bank has checked the applicant's ID card in person; the card becomes
    /// active and the declared vehicles the applicant owns go onto it.
    Collect,
}

impl Step {
    /// Every step, in the order the console offers them.
    pub const ALL: [Step; 4] = [Step::StartReview, Step::Approve, Step::Reject, Step::Collect];

    /// The form's `op` value.
    pub fn code(self) -> &'static str {
        match self {
            Step::StartReview => "review",
            Step::Approve => "approve",
            Step::Reject => "reject",
            Step::Collect => "collect",
        }
    }

    /// Reads an `op` value.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The button's label.
    pub fn label(self) -> &'static str {
        match self {
            Step::StartReview => "开始审核",
            Step::Approve => "批准制卡",
            Step::Reject => "驳回",
            Step::Collect => "确认领卡",
        }
    }

    /// The states the step may start from.
    pub fn from_states(self) -> &'static [ApplicationState] {
        use ApplicationState::*;
        match self {
            Step::StartReview => &[Submitted],
            Step::Approve => &[Reviewing],
            Step::Reject => &[Submitted, Reviewing],
            Step::Collect => &[Made],
        }
    }

    /// The state the step leads to.
    pub fn target(self) -> ApplicationState {
        match self {
            Step::StartReview => ApplicationState::Reviewing,
            Step::Approve => ApplicationState::Made,
            Step::Reject => ApplicationState::Rejected,
            Step::Collect => ApplicationState::Collected,
        }
    }

    /// The steps an application in `state` allows, which are the buttons the console shows.
    pub fn allowed_from(state: ApplicationState) -> Vec<Step> {
        Self::ALL.into_iter().filter(|step| step.from_states().contains(&state)).collect()
    }

    /// The state after the step, or the refusal the operator sees.
    pub fn apply(self, state: ApplicationState) -> Result<ApplicationState, String> {
        if self.from_states().contains(&state) {
            Ok(self.target())
        } else {
            Err(format!("该申请当前状态为“{}”，不能{}", state.label(), self.label()))
        }
    }
}

/// The form's fields as typed.
#[derive(Debug, Clone, Default)]
pub struct ApplicationInput<'a> {
    pub name: &'a str,
    pub id_number: &'a str,
    pub phone: &'a str,
    pub code: &'a str,
    pub plates: [&'a str; 3],
    pub branch: &'a str,
}

/// An application form that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationForm {
    pub name: PersonName,
    pub id_number: IdNumber,
    pub phone: Mobile,
    pub code: SmsCode,
    /// 0 to 3 distinct plates, in the order typed.
    pub plates: Vec<Plate>,
    pub branch: String,
}

/// The form fields' names, as the page and the flash use them.
pub const PLATE_FIELDS: [&str; 3] = ["plate1", "plate2", "plate3"];

/// The message under 手机号 for a number that does not parse.
pub fn phone_message(error: &DomainError) -> String {
    match error {
        DomainError::Required => "请输入手机号".into(),
        _ => "手机号应为11位手机号码".into(),
    }
}

/// Reads the form against the branches that exist, with one message per bad field so all show at once; `today`
/// (Asia/Shanghai) bounds the birth date in the ID number.
pub fn parse_application(
    input: &ApplicationInput<'_>,
    branches: &[String],
    today: CivilDate,
) -> Result<ApplicationForm, Vec<(String, String)>> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut fail = |field: &str, message: String| errors.push((field.to_string(), message));
    let name = PersonName::parse(input.name)
        .map_err(|e| {
            fail(
                "name",
                match e {
                    DomainError::Required => "请输入姓名".into(),
                    _ => "姓名应为2至20个汉字，与身份证一致".into(),
                },
            )
        })
        .ok();
    let id_number = IdNumber::parse_as_of(input.id_number, today)
        .map_err(|e| {
            fail(
                "id_number",
                match e {
                    DomainError::Required => "请输入身份证号".into(),
                    other => other.to_string(),
                },
            )
        })
        .ok();
    let phone = Mobile::parse(input.phone).map_err(|e| fail("phone", phone_message(&e))).ok();
    let code = SmsCode::parse(input.code)
        .map_err(|e| {
            fail(
                "code",
                match e {
                    DomainError::Required => "请输入短信验证码".into(),
                    other => other.to_string(),
                },
            )
        })
        .ok();
    let mut plates: Vec<Plate> = Vec::new();
    for (field, typed) in PLATE_FIELDS.iter().zip(input.plates) {
        if typed.trim().is_empty() {
            continue;
        }
        match Plate::parse(typed) {
            Ok(plate) if plates.contains(&plate) => fail(field, "车牌号重复，每辆车只需填写一次".into()),
            Ok(plate) => plates.push(plate),
            Err(e) => fail(field, e.to_string()),
        }
    }
    let branch = input.branch.trim();
    if branch.is_empty() {
        fail("branch", "请选择领卡网点".into());
    } else if !branches.iter().any(|b| b == branch) {
        fail("branch", "请从列表中选择领卡网点".into());
    }
    match (name, id_number, phone, code) {
        (Some(name), Some(id_number), Some(phone), Some(code)) if errors.is_empty() => {
            Ok(ApplicationForm { name, id_number, phone, code, plates, branch: branch.to_string() })
        }
        _ => Err(errors),
    }
}

/// The reason a rejection gives, trimmed: 2 to 200 characters.
pub fn reject_reason(input: &str) -> Result<String, &'static str> {
    let reason = input.trim();
    match reason.chars().count() {
        0 => Err("请填写驳回原因"),
        1 | 201.. => Err("驳回原因应为2至200个字"),
        _ => Ok(reason.to_string()),
    }
}

/// An application number: `SQ`, the Asia/Shanghai date as yyyymmdd, and six random digits.
pub fn application_no(shanghai_yyyymmdd: &str, random: u32) -> String {
    format!("SQ{shanghai_yyyymmdd}{:06}", random % 1_000_000)
}

/// Whether `input` has the shape of an application number, so a lookup never queries with junk.
pub fn is_application_no(input: &str) -> bool {
    input.len() == 16 && input.starts_with("SQ") && input[2..].bytes().all(|b| b.is_ascii_digit())
}

/// Whether a configured card number prefix is usable (the rule lives with the card number itself).
pub use crate::domain::card_no::is_card_prefix;

/// The 16-digit card number for `sequence` in the range `prefix` opens: the prefix, the sequence zero-padded to 15
/// digits in all, and the Luhn check digit. `None` once the range has no room for the sequence.
pub fn card_number(prefix: &str, sequence: u64) -> Option<String> {
    let width = 15usize.checked_sub(prefix.len())?;
    if !is_card_prefix(prefix) || sequence.to_string().len() > width {
        return None;
    }
    let payload = format!("{prefix}{sequence:0width$}");
    Some(format!("{payload}{}", luhn_check_digit(&payload)))
}

/// What the applicant is told by SMS when the application reaches `state`. Only the 已领卡 message, sent after
/// the ID card was checked, names the card's last digits: before that the phone is all that was proven.
pub fn notice(state: ApplicationState, application_no: &str, branch: &str, card_tail: &str, reason: &str) -> String {
    let text = match state {
        ApplicationState::Submitted => {
            format!("您的工银交通服务卡申请已提交，申请编号{application_no}，领卡网点：{branch}。可在“申请进度查询”查看办理进度。")
        }
        ApplicationState::Reviewing => format!("您的工银交通服务卡申请{application_no}已进入审核。"),
        ApplicationState::Made => format!(
            "您的工银交通服务卡申请{application_no}已制卡，请携带本人身份证到{branch}领取，网点核验身份证后卡片方可使用。"
        ),
        ApplicationState::Collected => {
            format!("您已领取工银交通服务卡（卡号尾号{card_tail}），可在“大连智慧交通”使用该卡完成实名认证。")
        }
        ApplicationState::Rejected => format!("您的工银交通服务卡申请{application_no}未通过审核，原因：{reason}"),
    };
    format!("【大连智慧交通】{text}")
}

/// The SMS template of `state`'s notice and its parameters, in the order `notice` reads them: a vendor sends the
/// approved template filled with these, not the text.
pub fn notice_template(
    state: ApplicationState,
    application_no: &str,
    branch: &str,
    card_tail: &str,
    reason: &str,
) -> (String, Vec<String>) {
    let params: Vec<&str> = match state {
        ApplicationState::Submitted | ApplicationState::Made => vec![application_no, branch],
        ApplicationState::Reviewing => vec![application_no],
        ApplicationState::Collected => vec![card_tail],
        ApplicationState::Rejected => vec![application_no, reason],
    };
    (format!("card_{}", state.code()), params.into_iter().map(String::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CardNo;
    use ApplicationState::*;

    const ID: &str = "210202198503122018";

    fn input() -> ApplicationInput<'static> {
        ApplicationInput {
            name: "张三",
            id_number: ID,
            phone: "13904990001",
            code: "123456",
            plates: ["辽B12345", "", ""],
            branch: "DL-ZS",
        }
    }

    fn branches() -> Vec<String> {
        vec!["DL-ZS".into(), "DL-XG".into()]
    }

    fn today() -> CivilDate {
        CivilDate::new(2026, 12, 2).unwrap()
    }

    #[test]
    fn an_applicant_born_after_today_is_refused() {
        // Well formed, check character right, born 2026-12-03.
        let errors = errors_of(ApplicationInput { id_number: "110105202612030015", ..input() });
        assert_eq!(errors, [("id_number".to_string(), "身份证号中的出生日期无效".to_string())]);
    }

    fn errors_of(input: ApplicationInput<'_>) -> Vec<(String, String)> {
        parse_application(&input, &branches(), today()).unwrap_err()
    }

    #[test]
    fn a_complete_form_parses_with_its_plates_normalised() {
        let form = parse_application(
            &ApplicationInput { plates: ["辽b 12345", "", "辽BD12345"], ..input() },
            &branches(),
            today(),
        )
        .unwrap();
        assert_eq!(form.name.as_str(), "张三");
        assert_eq!(form.plates.iter().map(Plate::as_str).collect::<Vec<_>>(), ["辽B12345", "辽BD12345"]);
        assert_eq!(form.branch, "DL-ZS");
    }

    #[test]
    fn plates_are_optional() {
        let form =
            parse_application(&ApplicationInput { plates: ["", " ", ""], ..input() }, &branches(), today()).unwrap();
        assert!(form.plates.is_empty());
    }

    #[test]
    fn every_empty_field_gets_its_own_message() {
        let errors = errors_of(ApplicationInput { plates: ["", "", ""], ..ApplicationInput::default() });
        assert_eq!(
            errors,
            [
                ("name", "请输入姓名"),
                ("id_number", "请输入身份证号"),
                ("phone", "请输入手机号"),
                ("code", "请输入短信验证码"),
                ("branch", "请选择领卡网点"),
            ]
            .map(|(f, m)| (f.to_string(), m.to_string()))
        );
    }

    #[test]
    fn every_malformed_field_says_what_is_wrong() {
        let errors = errors_of(ApplicationInput {
            name: "Zhang",
            id_number: "210202198503122019",
            phone: "1234",
            code: "12a",
            plates: ["辽B12345", "辽B1234", "辽b12345"],
            branch: "NOWHERE",
        });
        let message = |field: &str| errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str());
        assert_eq!(message("name"), Some("姓名应为2至20个汉字，与身份证一致"));
        assert_eq!(message("id_number"), Some("身份证号校验位不正确"));
        assert_eq!(message("phone"), Some("手机号应为11位手机号码"));
        assert_eq!(message("code"), Some("验证码应为6位数字"));
        assert_eq!(message("plate1"), None);
        assert_eq!(message("plate2"), Some("车牌号格式不正确（如：辽B12345）"));
        assert_eq!(message("plate3"), Some("车牌号重复，每辆车只需填写一次"));
        assert_eq!(message("branch"), Some("请从列表中选择领卡网点"));
    }

    #[test]
    fn a_bad_plate_alone_rejects_the_form() {
        assert_eq!(errors_of(ApplicationInput { plates: ["", "", "沪"], ..input() }).len(), 1);
    }

    #[test]
    fn the_steps_follow_the_state_machine() {
        assert_eq!(Step::StartReview.apply(Submitted), Ok(Reviewing));
        assert_eq!(Step::Approve.apply(Reviewing), Ok(Made));
        assert_eq!(Step::Collect.apply(Made), Ok(Collected));
        assert_eq!(Step::Reject.apply(Submitted), Ok(Rejected));
        assert_eq!(Step::Reject.apply(Reviewing), Ok(Rejected));
    }

    #[test]
    fn no_step_skips_a_stage_or_leaves_a_final_state() {
        for (step, state) in [
            (Step::Approve, Submitted),
            (Step::Collect, Reviewing),
            (Step::StartReview, Reviewing),
            (Step::Reject, Made),
            (Step::Approve, Made),
        ] {
            assert!(step.apply(state).is_err(), "{step:?} from {state:?}");
        }
        for step in Step::ALL {
            assert!(step.apply(Collected).is_err() && step.apply(Rejected).is_err());
        }
        assert_eq!(Step::Approve.apply(Made), Err("该申请当前状态为“已制卡”，不能批准制卡".to_string()));
    }

    #[test]
    fn the_console_offers_only_the_steps_a_state_allows() {
        assert_eq!(Step::allowed_from(Submitted), [Step::StartReview, Step::Reject]);
        assert_eq!(Step::allowed_from(Reviewing), [Step::Approve, Step::Reject]);
        assert_eq!(Step::allowed_from(Made), [Step::Collect]);
        assert!(Step::allowed_from(Collected).is_empty() && Step::allowed_from(Rejected).is_empty());
    }

    #[test]
    fn states_and_steps_round_trip_through_their_codes() {
        for state in ApplicationState::ALL {
            assert_eq!(ApplicationState::parse(state.code()), Some(state));
        }
        for step in Step::ALL {
            assert_eq!(Step::parse(step.code()), Some(step));
        }
        assert_eq!(Step::parse("delete"), None);
    }

    #[test]
    fn only_unfinished_applications_are_in_progress() {
        let in_progress: Vec<_> = ApplicationState::ALL.into_iter().filter(|s| s.in_progress()).collect();
        assert_eq!(in_progress, [Submitted, Reviewing, Made]);
    }

    #[test]
    fn the_progress_line_marks_the_stages_reached() {
        assert_eq!(Reviewing.progress(), [("已提交", true), ("审核中", true), ("已制卡", false), ("已领卡", false)]);
        assert!(Collected.progress().iter().all(|(_, reached)| *reached));
        assert_eq!(Rejected.progress(), [("已提交", true), ("已驳回", true)]);
    }

    #[test]
    fn a_reject_reason_has_2_to_200_characters() {
        assert_eq!(reject_reason("  "), Err("请填写驳回原因"));
        assert_eq!(reject_reason("缺"), Err("驳回原因应为2至200个字"));
        assert_eq!(reject_reason(&"字".repeat(201)), Err("驳回原因应为2至200个字"));
        assert_eq!(reject_reason(" 照片不清晰 "), Ok("照片不清晰".to_string()));
        assert!(reject_reason(&"字".repeat(200)).is_ok());
    }

    #[test]
    fn application_numbers_carry_the_date_and_six_digits() {
        assert_eq!(application_no("20261124", 42), "SQ20261124000042");
        assert!(is_application_no(&application_no("20261124", 999_999)));
        assert!(!is_application_no("SQ2026112400004"));
        assert!(!is_application_no("sq20261124000042"));
        assert!(!is_application_no("SQ2026112400004X"));
    }

    #[test]
    fn card_numbers_are_16_luhn_valid_digits_in_the_range() {
        let number = card_number("62220299", 1).unwrap();
        assert_eq!(number.len(), 16);
        assert!(number.starts_with("622202990000001"));
        assert!(CardNo::parse(&number).is_ok(), "{number} passes the Luhn check");
        let wide = card_number("622202991234", 999).unwrap();
        assert!(wide.starts_with("622202991234999") && CardNo::parse(&wide).is_ok());
        assert_eq!(card_number("622202991234", 1000), None, "the range is used up");
        assert_eq!(card_number("12345", 1), None);
        assert_eq!(card_number("1234567890123", 1), None);
    }

    #[test]
    fn card_prefixes_are_6_to_12_digits() {
        assert!(is_card_prefix("622202") && is_card_prefix("622202991234"));
        assert!(!is_card_prefix("62220") && !is_card_prefix("6222029912345") && !is_card_prefix("62220a99"));
    }

    #[test]
    fn each_notice_template_carries_the_parts_its_text_shows() {
        let (no, branch, tail, reason) = ("SQ20261124000042", "工商银行大连中山支行", "1234", "照片不清晰");
        let mut templates = Vec::new();
        for state in ApplicationState::ALL {
            let text = notice(state, no, branch, tail, reason);
            let (template, params) = notice_template(state, no, branch, tail, reason);
            assert!(!params.is_empty(), "{template}");
            for param in &params {
                assert!(text.contains(param.as_str()), "{template}: {param} is in {text}");
            }
            templates.push(template);
        }
        templates.dedup();
        assert_eq!(templates.len(), ApplicationState::ALL.len(), "one template per state: {templates:?}");
        assert_eq!(notice_template(Rejected, no, branch, tail, reason).1, vec![no, reason]);
    }

    #[test]
    fn each_notice_names_what_the_applicant_needs() {
        let made = notice(Made, "SQ20261124000042", "工商银行大连中山支行", "1234", "");
        assert!(made.contains("SQ20261124000042") && made.contains("中山支行") && made.contains("身份证"), "{made}");
        let digits = made.replace("SQ20261124000042", "").chars().filter(char::is_ascii_digit).count();
        assert_eq!(digits, 0, "no digit of the card before pickup: {made}");
        let collected = notice(Collected, "SQ20261124000042", "工商银行大连中山支行", "1234", "");
        assert!(collected.contains("尾号1234"), "{collected}");
        let rejected = notice(Rejected, "SQ20261124000042", "", "", "照片不清晰");
        assert!(rejected.contains("原因：照片不清晰"), "{rejected}");
        assert!(notice(Submitted, "SQ20261124000042", "工商银行大连中山支行", "", "").starts_with("【大连智慧交通】"));
    }
}
