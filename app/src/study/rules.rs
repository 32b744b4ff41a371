//! The rules of 审验学习 (SPEC §4) as plain functions: who may study online, the scoring cycle, how much of a
//! heartbeat is credited, how the quiz is scored and what the study requirement is.

use crate::domain::{CivilDate, LicenceClass, LicenceStatus};

/// The lowest and highest current-cycle points for online study ([162] Art.72).
pub const ONLINE_POINTS: std::ops::RangeInclusive<i64> = 1..=8;

/// Whether, and why not, a driver may study online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eligibility {
    Eligible {
        points: i64,
    },
    /// The police data has no licence for the person.
    NoLicence,
    /// Only A1, A2, A3, B1 and B2 holders take review study.
    ClassNotCovered(LicenceClass),
    LicenceNotNormal(LicenceStatus),
    /// No points this cycle: nothing to study.
    NoPoints,
    /// More than 8 points: the study is at a police brigade.
    TooManyPoints(i64),
}

/// Applies SPEC §4 to a licence: class first, then status, then points.
pub fn assess(class: LicenceClass, status: LicenceStatus, points: i64) -> Eligibility {
    if !class.requires_review_study() {
        Eligibility::ClassNotCovered(class)
    } else if !status.is_normal() {
        Eligibility::LicenceNotNormal(status)
    } else if points <= 0 {
        Eligibility::NoPoints
    } else if points > *ONLINE_POINTS.end() {
        Eligibility::TooManyPoints(points)
    } else {
        Eligibility::Eligible { points }
    }
}

impl Eligibility {
    /// A stable code for tests and styling.
    pub fn code(&self) -> &'static str {
        match self {
            Eligibility::Eligible { .. } => "eligible",
            Eligibility::NoLicence => "no-licence",
            Eligibility::ClassNotCovered(_) => "class",
            Eligibility::LicenceNotNormal(_) => "status",
            Eligibility::NoPoints => "no-points",
            Eligibility::TooManyPoints(_) => "too-many-points",
        }
    }

    /// What the status check tells the driver, in plain Chinese.
    pub fn message(&self) -> String {
        match self {
            Eligibility::Eligible { points } => {
                format!("您本记分周期已记{points}分，符合在线审验学习条件，请依次完成在线答题和视频课程学习。")
            }
            Eligibility::NoLicence => "未查询到您的驾驶证信息，不能在线审验学习，请到交警大队咨询。".into(),
            Eligibility::ClassNotCovered(class) => {
                format!("您的准驾车型为{class}，审验学习仅适用于A1、A2、A3、B1、B2准驾车型的驾驶人，您无需参加。")
            }
            Eligibility::LicenceNotNormal(status) => {
                format!("您的驾驶证状态为“{}”，不是正常状态，不能在线审验学习，请到交警大队办理。", status.label())
            }
            Eligibility::NoPoints => {
                "您本记分周期没有记分，无需参加审验学习（《机动车驾驶证申领和使用规定》第七十二条）。".into()
            }
            Eligibility::TooManyPoints(points) => format!(
                "您本记分周期已记{points}分，超过8分，不能在线学习，请到交通警察大队参加不少于3小时的审验学习。"
            ),
        }
    }
}

/// A scoring cycle: twelve months from an anniversary of the licence's first issue ([163] Art.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoringCycle {
    pub start: CivilDate,
    /// The cycle's last day.
    pub end: CivilDate,
}

/// The cycle `today` falls in. A licence first issued on 29 February has its anniversary on 28 February in other
/// years.
pub fn scoring_cycle(first_issued: CivilDate, today: CivilDate) -> ScoringCycle {
    let anniversary = |year: i32| {
        CivilDate::new(year, first_issued.month(), first_issued.day())
            .or_else(|| CivilDate::new(year, first_issued.month(), first_issued.day() - 1))
            .expect("the day before 29 February exists in every year")
    };
    let this_year = anniversary(today.year());
    let start = if this_year <= today { this_year } else { anniversary(today.year() - 1) };
    let end =
        anniversary(start.year() + 1).checked_add_days(-1).expect("an anniversary after 1900 has a day before it");
    ScoringCycle { start, end }
}

/// The shortest time between two heartbeats of an enrolment that both count; one sooner changes nothing. The player
/// beats every 5 s (`study::pages`), so a regular beat still counts when the network delays the one before by 2 s.
/// One lease per enrolment means the gap, kept on the course being studied, holds for the whole enrolment.
pub const MIN_BEAT_GAP_MS: i64 = 3_000;
/// The longest gap between two heartbeats that still counts as continuous study.
pub const MAX_BEAT_GAP_MS: i64 = 15_000;
/// How much further than the clock the player may have moved between two counted beats (network jitter,
/// buffering), in percent of the time that passed: a share rather than a fixed allowance, so that many beats gain
/// no more than a few.
pub const SKIP_TOLERANCE_PERCENT: i64 = 20;
/// How much of a course's required time may be missing when it is marked complete: what beats lose to jitter,
/// at most this much and at most 5% of the requirement.
pub const COMPLETION_SLACK_MS: i64 = 2_000;

/// The server's record of one course for one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Study time credited so far; never beyond the furthest point watched.
    pub credited_ms: i64,
    /// The furthest point of the video watched.
    pub furthest_ms: i64,
    /// Where the player was at the last heartbeat; returning resumes here.
    pub position_ms: i64,
    /// When the last counted heartbeat (or the start of this sitting) reached the server.
    pub beat_at_ms: i64,
}

/// A heartbeat the server does not count; nothing changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uncounted {
    /// It came within [`MIN_BEAT_GAP_MS`] of the last beat that counted.
    TooSoon,
    /// The player jumped past what was watched and must go back to `furthest_ms`.
    SkipAhead { furthest_ms: i64 },
}

impl Progress {
    /// Applies a heartbeat saying the player is at `position_ms` at server time `now_ms`.
    ///
    /// Only one beat per [`MIN_BEAT_GAP_MS`] counts. The furthest point may move on by the wall-clock time that
    /// passed (capped at [`MAX_BEAT_GAP_MS`]) and [`SKIP_TOLERANCE_PERCENT`] of it; further is a skip. Credit
    /// grows by the time that passed but never beyond the furthest point, so playing fast, flooding beats or
    /// replaying a part gains nothing, while what one beat loses to jitter the next one makes up.
    pub fn beat(self, position_ms: i64, now_ms: i64) -> Result<Progress, Uncounted> {
        let since = now_ms - self.beat_at_ms;
        if since < MIN_BEAT_GAP_MS {
            return Err(Uncounted::TooSoon);
        }
        let elapsed = since.min(MAX_BEAT_GAP_MS);
        let position_ms = position_ms.max(0);
        if position_ms > self.furthest_ms + elapsed + elapsed * SKIP_TOLERANCE_PERCENT / 100 {
            return Err(Uncounted::SkipAhead { furthest_ms: self.furthest_ms });
        }
        let furthest_ms = self.furthest_ms.max(position_ms);
        Ok(Progress {
            credited_ms: (self.credited_ms + elapsed).min(furthest_ms).max(self.credited_ms),
            furthest_ms,
            position_ms,
            beat_at_ms: now_ms,
        })
    }

    /// Whether the furthest point watched reaches the end of the course's `required_ms` and the credited time
    /// covers it, but for the jitter slack. The catalogue knows a course by its required time, not the length of
    /// its video.
    pub fn is_complete(&self, required_ms: i64) -> bool {
        let reached = required_ms - COMPLETION_SLACK_MS.min(required_ms / 20);
        self.furthest_ms >= reached && self.credited_ms >= reached
    }
}

/// The study requirement a catalogue is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// The catalogue covers the configured requirement.
    Full { seconds: i64 },
    /// A development catalogue shorter than the configured requirement: its own total is the requirement, and the
    /// screen says so.
    Demo { seconds: i64, configured_seconds: i64 },
    /// Production with a catalogue that does not cover the requirement: nobody can study yet.
    Incomplete { catalogue_seconds: i64, configured_seconds: i64 },
}

/// Holds the catalogue's total against the configured requirement ([162] Art.73: at least three hours).
pub fn requirement(catalogue_seconds: i64, configured_seconds: i64, production: bool) -> Requirement {
    if catalogue_seconds >= configured_seconds {
        Requirement::Full { seconds: configured_seconds }
    } else if production || catalogue_seconds == 0 {
        Requirement::Incomplete { catalogue_seconds, configured_seconds }
    } else {
        Requirement::Demo { seconds: catalogue_seconds, configured_seconds }
    }
}

/// A quiz answer for one question: a letter for single choice, T or F for true/false.
pub fn is_valid_answer(kind: &str, answer: &str) -> bool {
    match kind {
        "single" => matches!(answer, "A" | "B" | "C" | "D"),
        "judge" => matches!(answer, "T" | "F"),
        _ => false,
    }
}

/// The score out of 100 for `correct` right answers of `total`, rounded down.
pub fn score(correct: usize, total: usize) -> i64 {
    if total == 0 {
        return 0;
    }
    (correct * 100 / total) as i64
}

/// Minutes and seconds as the screen shows a duration, e.g. `3分钟`, `9秒`, `2分钟15秒`.
pub fn duration_label(seconds: i64) -> String {
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s}秒"),
        (m, 0) => format!("{m}分钟"),
        (m, s) => format!("{m}分钟{s}秒"),
    }
}

/// The cycle's points as the study page shows them: the figure held, and how much of it is the app's own
/// decisions the police file has not yet acknowledged (kept on top of the police figure until it does).
pub fn points_line(points: i64, pending: i64) -> String {
    if pending > 0 {
        format!("{points}分（其中{pending}分为在本应用处理、交警系统尚未确认的记分）")
    } else {
        format!("{points}分")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> CivilDate {
        CivilDate::parse(text).unwrap()
    }

    #[test]
    fn only_a_and_b_classes_in_normal_status_with_1_to_8_points_study_online() {
        use LicenceStatus::*;
        assert_eq!(assess(LicenceClass::B2, Normal, 1), Eligibility::Eligible { points: 1 });
        assert_eq!(assess(LicenceClass::A1, Normal, 8), Eligibility::Eligible { points: 8 });
        assert_eq!(assess(LicenceClass::B2, Normal, 9), Eligibility::TooManyPoints(9));
        assert_eq!(assess(LicenceClass::B2, Normal, 0), Eligibility::NoPoints);
        assert_eq!(assess(LicenceClass::C1, Normal, 3), Eligibility::ClassNotCovered(LicenceClass::C1));
        assert_eq!(assess(LicenceClass::B1, Suspended, 3), Eligibility::LicenceNotNormal(Suspended));
        // The class decides before the status: a C1 holder never needs the study, whatever the licence's state.
        assert_eq!(assess(LicenceClass::C1, Revoked, 3), Eligibility::ClassNotCovered(LicenceClass::C1));
    }

    #[test]
    fn each_case_has_its_own_plain_message() {
        assert!(Eligibility::NoPoints.message().contains("无需参加审验学习"));
        assert!(Eligibility::TooManyPoints(10).message().contains("交通警察大队"));
        assert!(Eligibility::ClassNotCovered(LicenceClass::C1).message().contains("C1"));
        assert!(Eligibility::LicenceNotNormal(LicenceStatus::Suspended).message().contains("暂扣"));
    }

    #[test]
    fn the_cycle_runs_from_the_last_anniversary_of_first_issue() {
        let first = date("2010-05-20");
        let cycle = scoring_cycle(first, date("2026-11-24"));
        assert_eq!((cycle.start, cycle.end), (date("2026-05-20"), date("2027-05-19")));
        let cycle = scoring_cycle(first, date("2026-05-19"));
        assert_eq!((cycle.start, cycle.end), (date("2025-05-20"), date("2026-05-19")));
        let cycle = scoring_cycle(first, date("2026-05-20"));
        assert_eq!(cycle.start, date("2026-05-20"));
    }

    #[test]
    fn a_29_february_licence_turns_over_on_28_february_in_common_years() {
        let cycle = scoring_cycle(date("2012-02-29"), date("2026-03-01"));
        assert_eq!((cycle.start, cycle.end), (date("2026-02-28"), date("2027-02-27")));
        let cycle = scoring_cycle(date("2012-02-29"), date("2028-02-29"));
        assert_eq!((cycle.start, cycle.end), (date("2028-02-29"), date("2029-02-27")));
    }

    fn started(at_ms: i64) -> Progress {
        Progress { beat_at_ms: at_ms, ..Progress::default() }
    }

    #[test]
    fn real_time_playback_is_credited_in_full() {
        let p = started(0).beat(5_000, 5_000).unwrap().beat(10_000, 10_020).unwrap();
        assert_eq!(p.credited_ms, 10_000);
        assert_eq!(p.furthest_ms, 10_000);
        assert_eq!(p.position_ms, 10_000);
    }

    #[test]
    fn credit_never_grows_faster_than_the_wall_clock() {
        // A little fast: the position moves 6 s while 5 s pass, within the skip tolerance.
        let p = started(0).beat(6_000, 5_000).unwrap();
        assert_eq!(p.credited_ms, 5_000);
        // Beats sent in a burst do not count at all.
        assert_eq!(p.beat(6_500, 5_010), Err(Uncounted::TooSoon));
        assert_eq!(p.beat(7_000, 7_999), Err(Uncounted::TooSoon));
        assert_eq!(p.beat(8_000, 8_000).unwrap().credited_ms, 8_000);
    }

    #[test]
    fn a_long_pause_credits_no_more_than_one_beat_gap() {
        let p = started(0).beat(5_000, 5_000).unwrap();
        assert_eq!(p.beat(40_000, 600_000), Err(Uncounted::SkipAhead { furthest_ms: 5_000 }));
        let resumed = p.beat(15_000, 600_000).unwrap();
        assert_eq!(resumed.credited_ms, 15_000);
    }

    #[test]
    fn jumping_past_the_furthest_point_is_refused_and_changes_nothing() {
        let p = started(0).beat(5_000, 5_000).unwrap();
        assert_eq!(p.beat(60_000, 10_000), Err(Uncounted::SkipAhead { furthest_ms: 5_000 }));
        // Within the watched part the player may move freely, but going back earns nothing, and neither does
        // watching that part again: only the second past the furthest point counts.
        let back = p.beat(1_000, 10_000).unwrap();
        assert_eq!((back.credited_ms, back.furthest_ms, back.position_ms), (5_000, 5_000, 1_000));
        let again = back.beat(6_000, 15_000).unwrap();
        assert_eq!(again.credited_ms, 6_000);
    }

    #[test]
    fn completion_allows_only_the_jitter_slack() {
        let p = Progress { credited_ms: 58_000, furthest_ms: 60_000, ..Progress::default() };
        assert!(p.is_complete(60_000));
        assert!(!p.is_complete(60_001));
        // A short demo clip may miss 5% at most.
        let p = Progress { credited_ms: 8_550, furthest_ms: 9_000, ..Progress::default() };
        assert!(p.is_complete(9_000));
        assert!(!p.is_complete(9_100));
        // Time credited does not complete a course whose end was never reached.
        let p = Progress { credited_ms: 60_000, furthest_ms: 30_000, ..Progress::default() };
        assert!(!p.is_complete(60_000));
    }

    /// A sitting started at 0 and the beats `(position, server time)` of its player; a beat the server does not
    /// count changes nothing.
    fn play(beats: impl IntoIterator<Item = (i64, i64)>) -> Progress {
        beats.into_iter().fold(started(0), |p, (position, now)| p.beat(position, now).unwrap_or(p))
    }

    #[test]
    fn a_flood_of_heartbeats_neither_runs_ahead_nor_counts_more_than_one_beat_per_gap() {
        // A beat every 100 ms for 20 s, each claiming a second more.
        let flood = play((1..=200).map(|i| (i * 1_000, i * 100)));
        assert!(flood.furthest_ms <= 20_000 * 6 / 5, "{flood:?}");
        assert!(!flood.is_complete(20_000), "{flood:?}");
        // The same flood claiming the real position: only a beat every 3 s counts, the last one 18 s in.
        let flood = play((1..=200).map(|i| (i * 100, i * 100)));
        assert_eq!((flood.credited_ms, flood.beat_at_ms), (18_000, 18_000));
    }

    #[test]
    fn replaying_the_first_minute_never_completes_a_course() {
        // A 3-minute course: the first minute in real time, then back to the start for the same minute twice more.
        let minute = |from: i64| (1..=12).map(move |i| (i * 5_000, from + i * 5_000));
        let beats = minute(0).chain([(0, 65_000)]).chain(minute(65_000)).chain([(0, 130_000)]).chain(minute(130_000));
        let p = play(beats);
        assert_eq!((p.credited_ms, p.furthest_ms), (60_000, 60_000));
        assert!(!p.is_complete(180_000));
    }

    #[test]
    fn an_honest_viewer_completes_a_ten_second_demo_clip() {
        // The player beats every 5 s from the start of the sitting; the clip starts 1.2 s later, and its end, 1.2 s
        // after the beat at 10 s, is reported again at the next tick.
        let p = play([(3_800, 5_000), (8_800, 10_000), (10_000, 11_200), (10_000, 15_000)]);
        assert_eq!((p.credited_ms, p.furthest_ms), (10_000, 10_000));
        assert!(p.is_complete(9_000));
    }

    #[test]
    fn network_jitter_costs_no_credit_in_the_end() {
        // A beat every 5 s of playback arriving alternately 300 ms late and 300 ms early.
        let p = play((1..=12).map(|i| (i * 5_000, i * 5_000 + if i % 2 == 1 { 300 } else { -300 })));
        assert_eq!(p.furthest_ms, 60_000);
        assert!(p.is_complete(60_000), "{p:?}");
    }

    #[test]
    fn a_short_catalogue_is_a_demo_in_development_and_refused_in_production() {
        assert_eq!(requirement(10_800, 10_800, true), Requirement::Full { seconds: 10_800 });
        assert_eq!(requirement(27, 10_800, false), Requirement::Demo { seconds: 27, configured_seconds: 10_800 });
        assert_eq!(
            requirement(27, 10_800, true),
            Requirement::Incomplete { catalogue_seconds: 27, configured_seconds: 10_800 }
        );
        assert!(matches!(requirement(0, 10_800, false), Requirement::Incomplete { .. }));
    }

    #[test]
    fn answers_and_scores() {
        assert!(is_valid_answer("single", "C") && !is_valid_answer("single", "T"));
        assert!(is_valid_answer("judge", "F") && !is_valid_answer("judge", "A"));
        assert_eq!(score(7, 10), 70);
        assert_eq!(score(2, 3), 66);
        assert_eq!(duration_label(9), "9秒");
        assert_eq!(duration_label(10_800), "180分钟");
        assert_eq!(duration_label(135), "2分钟15秒");
    }

    #[test]
    fn the_points_line_names_the_apps_share_until_the_police_acknowledge_it() {
        assert_eq!(points_line(10, 6), "10分（其中6分为在本应用处理、交警系统尚未确认的记分）");
        assert_eq!(points_line(10, 0), "10分");
        assert_eq!(points_line(0, 0), "0分");
    }
}
