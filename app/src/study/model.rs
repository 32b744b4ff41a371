//! 审验学习 views shared by the server and the browser; personal data is already masked.

use serde::{Deserialize, Serialize};

use crate::identity::model::{Channel, Flash};

/// `/study`: the status check and, for an eligible driver, the three steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudyHomeData {
    pub channel: Channel,
    /// `not-authenticated`, `eligible`, `no-licence`, `class`, `status`, `no-points` or `too-many-points`.
    pub status: String,
    pub message: String,
    /// e.g. `B2`, when the licence is known.
    pub licence_class: Option<String>,
    /// `2026-05-20 至 2027-05-19`, when the licence is known.
    pub cycle: Option<String>,
    /// `10分（其中6分为在本应用处理、交警系统尚未确认的记分）`, when the licence is known.
    pub points: Option<String>,
    /// The steps, only for an eligible driver (or one already holding this cycle's certificate).
    pub steps: Option<StudySteps>,
}

/// Where an eligible driver stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudySteps {
    pub quiz_score: Option<i64>,
    pub courses_done: usize,
    pub courses_total: usize,
    pub requirement: RequirementView,
    pub certificate_no: Option<String>,
}

/// The study requirement as the screen states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementView {
    /// e.g. `180分钟`.
    pub label: String,
    /// Said on screen when the catalogue is a short demo one.
    pub demo_note: Option<String>,
    /// Set when study cannot happen because the catalogue does not cover the requirement.
    pub unavailable: Option<String>,
}

/// One quiz question as asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizQuestion {
    pub code: String,
    /// `single` or `judge`.
    pub kind: String,
    pub stem: String,
    /// (value, label): `("A", "A. …")`, or `("T", "正确")`/`("F", "错误")`.
    pub choices: Vec<(String, String)>,
}

/// One answered question in the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizOutcome {
    pub question: QuizQuestion,
    pub given: String,
    pub correct: String,
    pub explanation: String,
}

impl QuizOutcome {
    /// Whether the given answer was right.
    pub fn is_right(&self) -> bool {
        self.given == self.correct
    }
}

/// `/study/quiz`: the questions to answer, or the result once answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizData {
    pub channel: Channel,
    pub questions: Vec<QuizQuestion>,
    pub score: Option<i64>,
    pub outcomes: Vec<QuizOutcome>,
    pub flash: Flash,
}

/// One course in the catalogue with the person's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseRow {
    pub code: String,
    pub title: String,
    pub summary: String,
    pub required: String,
    pub credited: String,
    /// 0–100.
    pub percent: i64,
    pub complete: bool,
}

/// Something that keeps the certificate back ([162] Art.73), with where to settle it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outstanding {
    pub description: String,
    /// `/violations` for an untreated record, `/fines` for an unpaid fine.
    pub href: String,
    pub action: String,
}

/// `/study/courses`: the catalogue, progress and the way to the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoursesData {
    pub channel: Channel,
    pub requirement: RequirementView,
    pub courses: Vec<CourseRow>,
    pub credited_total: String,
    pub all_complete: bool,
    pub outstanding: Vec<Outstanding>,
    pub certificate_no: Option<String>,
    pub flash: Flash,
}

/// `/study/course?code=…`: one video lesson.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoursePlayerData {
    pub channel: Channel,
    pub code: String,
    pub title: String,
    pub summary: String,
    pub sources: Vec<String>,
    pub required_ms: i64,
    pub credited_ms: i64,
    pub complete: bool,
    /// The next course not yet complete, if any.
    pub next: Option<String>,
}

/// What the player learns when it starts a sitting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudySitting {
    /// The token that identifies this player; another player's start replaces it.
    pub lease: String,
    /// Where the person stopped last time.
    pub resume_ms: i64,
    pub furthest_ms: i64,
    pub credited_ms: i64,
    pub required_ms: i64,
    pub complete: bool,
}

/// What the server made of a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BeatStatus {
    Credited,
    /// Another device or page started studying; this player must stop.
    TakenOver,
    /// The player jumped past the furthest point watched; it must go back to `furthest_ms`.
    SkipRefused,
    /// It came too soon after the last beat that counted; the player sends it again later.
    TooSoon,
}

/// The answer to a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeatReply {
    pub status: BeatStatus,
    pub credited_ms: i64,
    pub furthest_ms: i64,
    pub required_ms: i64,
    pub complete: bool,
}

/// A 审验证明 as its holder and the verification page show it: masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    pub cert_no: String,
    pub name: String,
    pub id_number: String,
    pub licence_class: String,
    pub cycle: String,
    pub study_time: String,
    pub issued_at: String,
}

/// `/study/certificate`: the holder's certificate with its QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateData {
    pub channel: Channel,
    pub certificate: CertificateView,
    pub verify_url: String,
    /// The QR code for `verify_url`, as an SVG document made on the server.
    pub qr_svg: String,
}
