//! Server functions for 审验学习: who is asking, their licence and enrolment, then the rule or repository.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::identity::caller::{Caller, Linked};

use super::model::{
    BeatReply, CertificateData, CertificateView, CoursePlayerData, CoursesData, QuizData, StudyHomeData, StudySitting,
};
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod server {
    use super::super::model::{CourseRow, QuizOutcome, QuizQuestion, RequirementView, StudySteps};
    use super::super::repo::{self, Course, Enrolment, Licence, Question};
    use super::super::rules::{self, Eligibility, Progress, Requirement};
    use crate::error::AppError;
    use crate::identity::repo::Link;
    use crate::identity::session::Session;
    use crate::platform::config::Mode;
    use crate::platform::state::AppState;
    use std::collections::HashMap;

    /// The signed-in, authenticated caller whose licence allows online study.
    pub struct Learner {
        pub state: AppState,
        pub session: Session,
        pub account_id: i64,
        pub link: Link,
        pub licence: Licence,
    }

    /// The caller, refused with the status check's own message unless eligible.
    pub async fn learner() -> Result<Learner, AppError> {
        let crate::identity::caller::Linked { state, session, account_id, link } =
            crate::identity::caller::linked_caller().await?;
        let licence = repo::licence(&state.db, &link.id_number)
            .await?
            .ok_or_else(|| AppError::rejected(Eligibility::NoLicence.message()))?;
        if !matches!(licence.eligibility, Eligibility::Eligible { .. }) {
            return Err(AppError::rejected(licence.eligibility.message()));
        }
        Ok(Learner { state, session, account_id, link, licence })
    }

    impl Learner {
        /// The enrolment for this cycle, creating it (and drawing the quiz) on first use.
        pub async fn enrolment(&self) -> Result<Enrolment, AppError> {
            Ok(repo::enrol(&self.state.db, &self.link.id_number, &self.licence.cycle).await?)
        }

        /// The enrolment, refused until the quiz is answered: courses open only after it.
        pub async fn enrolment_after_quiz(&self) -> Result<Enrolment, AppError> {
            let enrolment = self.enrolment().await?;
            if enrolment.answers.is_none() {
                return Err(AppError::rejected("请先完成在线答题，答完全部题目后才能开始视频课程学习"));
            }
            Ok(enrolment)
        }
    }

    /// The catalogue held to the configured requirement.
    pub fn requirement(state: &AppState, catalogue: &[Course]) -> (Requirement, RequirementView) {
        let total: i64 = catalogue.iter().map(|c| c.required_seconds).sum();
        let configured = state.config.study_required_minutes * 60;
        let requirement = rules::requirement(total, configured, state.config.mode == Mode::Production);
        let view = match requirement {
            Requirement::Full { seconds } => {
                RequirementView { label: rules::duration_label(seconds), demo_note: None, unavailable: None }
            }
            Requirement::Demo { seconds, configured_seconds } => RequirementView {
                label: rules::duration_label(seconds),
                demo_note: Some(format!(
                    "演示课程：本目录为演示用短片，学时要求缩短为{}；正式学习要求不少于{}。",
                    rules::duration_label(seconds),
                    rules::duration_label(configured_seconds)
                )),
                unavailable: None,
            },
            Requirement::Incomplete { configured_seconds, .. } => RequirementView {
                label: rules::duration_label(configured_seconds),
                demo_note: None,
                unavailable: Some("课程目录尚未配置完整，暂不能在线学习，请稍后再试".into()),
            },
        };
        (requirement, view)
    }

    /// Whether `progress` completes `course`.
    pub fn complete(course: &Course, progress: Option<&Progress>) -> bool {
        progress.is_some_and(|p| p.is_complete(course.required_seconds * 1000))
    }

    /// The steps for the status page.
    pub async fn steps(state: &AppState, link: &Link, licence: &Licence) -> Result<StudySteps, AppError> {
        let db = &state.db;
        let enrolment = repo::enrolment(db, &link.id_number, &licence.cycle).await?;
        let catalogue = repo::catalogue(db).await?;
        let (_, requirement) = requirement(state, &catalogue);
        let (progress, certificate) = match &enrolment {
            Some(e) => (repo::progress(db, e.id).await?, repo::certificate_of(db, e.id).await?),
            None => (HashMap::new(), None),
        };
        Ok(StudySteps {
            quiz_score: enrolment.as_ref().and_then(|e| e.score),
            courses_done: catalogue.iter().filter(|c| complete(c, progress.get(&c.code))).count(),
            courses_total: catalogue.len(),
            requirement,
            certificate_no: certificate.map(|c| c.cert_no),
        })
    }

    pub fn ask(question: &Question) -> QuizQuestion {
        let choices = if question.kind == "judge" {
            vec![("T".into(), "正确".into()), ("F".into(), "错误".into())]
        } else {
            ["A", "B", "C", "D"]
                .iter()
                .zip(&question.options)
                .map(|(letter, text)| (letter.to_string(), format!("{letter}. {text}")))
                .collect()
        };
        QuizQuestion { code: question.code.clone(), kind: question.kind.clone(), stem: question.stem.clone(), choices }
    }

    pub fn outcomes(questions: &[Question], answers: &[String]) -> Vec<QuizOutcome> {
        questions
            .iter()
            .zip(answers)
            .map(|(q, given)| QuizOutcome {
                question: ask(q),
                given: given.clone(),
                correct: q.answer.clone(),
                explanation: q.explanation.clone(),
            })
            .collect()
    }

    pub fn course_row(course: &Course, progress: Option<&Progress>) -> CourseRow {
        let required_ms = course.required_seconds * 1000;
        let credited_ms = progress.map_or(0, |p| p.credited_ms);
        let done = complete(course, progress);
        CourseRow {
            code: course.code.clone(),
            title: course.title.clone(),
            summary: course.summary.clone(),
            required: rules::duration_label(course.required_seconds),
            credited: rules::duration_label(credited_ms.min(required_ms) / 1000),
            percent: if done { 100 } else { (credited_ms * 100 / required_ms.max(1)).clamp(0, 99) },
            complete: done,
        }
    }
}

/// `/study`: the status check, and the steps for an eligible driver.
#[server(prefix = "/api", endpoint = "study_home")]
pub async fn study_home() -> Result<StudyHomeData, AppError> {
    use super::repo;
    use super::rules::Eligibility;
    use crate::identity::model::Channel;
    let Caller { state, session } = crate::identity::caller::caller().await?;
    let channel = session.as_ref().map_or(Channel::Wechat, |s| s.channel);
    let link = session.as_ref().and_then(|s| s.link.clone());
    let Some(link) = link else {
        return Ok(StudyHomeData {
            channel,
            status: "not-authenticated".into(),
            message: "审验学习需要先完成实名认证，以便核对您的驾驶证信息和记分情况。".into(),
            licence_class: None,
            cycle: None,
            points: None,
            steps: None,
        });
    };
    let Some(licence) = repo::licence(&state.db, &link.id_number).await? else {
        let none = Eligibility::NoLicence;
        return Ok(StudyHomeData {
            channel,
            status: none.code().into(),
            message: none.message(),
            licence_class: None,
            cycle: None,
            points: None,
            steps: None,
        });
    };
    let cycle = format!("{} 至 {}", licence.cycle.start, licence.cycle.end);
    let eligible = matches!(licence.eligibility, Eligibility::Eligible { .. });
    let (status, message, class) =
        (licence.eligibility.code().to_string(), licence.eligibility.message(), licence.class.code().to_string());
    let steps = if eligible { Some(server::steps(&state, &link, &licence).await?) } else { None };
    let points = super::rules::points_line(licence.points, licence.pending_points);
    Ok(StudyHomeData {
        channel,
        status,
        message,
        licence_class: Some(class),
        cycle: Some(cycle),
        points: Some(points),
        steps,
    })
}

/// `/study/quiz`: this cycle's drawn questions, or the result once answered.
#[server(prefix = "/api", endpoint = "study_quiz")]
pub async fn study_quiz() -> Result<QuizData, AppError> {
    use super::repo;
    let learner = server::learner().await?;
    let enrolment = learner.enrolment().await?;
    let questions = repo::questions(&learner.state.db, &enrolment.questions).await?;
    if questions.is_empty() {
        return Err(AppError::rejected("题库尚未导入，暂不能在线答题，请稍后再试"));
    }
    let flash = crate::identity::caller::take_flash(&learner.state, &learner.session, "/study/quiz").await?;
    let outcomes = enrolment.answers.as_deref().map(|a| server::outcomes(&questions, a)).unwrap_or_default();
    Ok(QuizData {
        channel: learner.session.channel,
        questions: questions.iter().map(server::ask).collect(),
        score: enrolment.score,
        outcomes,
        flash,
    })
}

/// 提交答卷: every question must be answered; the score and the correct answers follow.
#[server(prefix = "/api", endpoint = "submit_quiz")]
pub async fn submit_quiz(answers: Option<std::collections::HashMap<String, String>>) -> Result<(), AppError> {
    use super::{repo, rules};
    use crate::identity::model::Flash;
    let learner = server::learner().await?;
    let enrolment = learner.enrolment().await?;
    let questions = repo::questions(&learner.state.db, &enrolment.questions).await?;
    let given = answers.unwrap_or_default();
    let chosen: Vec<Option<&String>> =
        questions.iter().map(|q| given.get(&q.code).filter(|a| rules::is_valid_answer(&q.kind, a))).collect();
    let unanswered = chosen.iter().filter(|a| a.is_none()).count();
    if unanswered > 0 || questions.is_empty() {
        // The answers already chosen come back checked, so nothing is lost.
        let values = chosen
            .iter()
            .zip(&questions)
            .filter_map(|(answer, q)| answer.map(|a| (q.code.clone(), a.clone())))
            .collect();
        let message = format!("还有{unanswered}道题未作答，请全部作答后再提交");
        let error = Flash { error: Some(message), values, ..Flash::default() };
        return crate::identity::caller::flash_and_redirect(&learner.state, &learner.session, &error, "/study/quiz")
            .await;
    }
    let answers: Vec<String> = chosen.into_iter().flatten().cloned().collect();
    let correct = questions.iter().zip(&answers).filter(|(q, a)| &q.answer == *a).count();
    let score = rules::score(correct, questions.len());
    repo::submit_quiz(&learner.state.db, &learner.session, learner.account_id, &enrolment, &answers, score).await?;
    leptos_axum::redirect("/study/quiz");
    Ok(())
}

/// `/study/courses`: the catalogue with progress, what keeps the certificate back, and the certificate.
#[server(prefix = "/api", endpoint = "study_courses")]
pub async fn study_courses() -> Result<CoursesData, AppError> {
    use super::{repo, rules};
    let learner = server::learner().await?;
    let enrolment = learner.enrolment_after_quiz().await?;
    let db = &learner.state.db;
    let catalogue = repo::catalogue(db).await?;
    let (_, requirement) = server::requirement(&learner.state, &catalogue);
    let progress = repo::progress(db, enrolment.id).await?;
    let courses: Vec<_> = catalogue.iter().map(|c| server::course_row(c, progress.get(&c.code))).collect();
    let all_complete = !courses.is_empty() && courses.iter().all(|c| c.complete) && requirement.unavailable.is_none();
    let credited: i64 = progress.values().map(|p| p.credited_ms).sum();
    let outstanding = if all_complete { repo::outstanding(db, &learner.link).await? } else { Vec::new() };
    let certificate_no = repo::certificate_of(db, enrolment.id).await?.map(|c| c.cert_no);
    let flash = crate::identity::caller::take_flash(&learner.state, &learner.session, "/study/courses").await?;
    Ok(CoursesData {
        channel: learner.session.channel,
        requirement,
        courses,
        credited_total: rules::duration_label(credited / 1000),
        all_complete,
        outstanding,
        certificate_no,
        flash,
    })
}

/// `/study/course?code=…`: one lesson for the player.
#[server(prefix = "/api", endpoint = "study_course")]
pub async fn study_course(code: String) -> Result<CoursePlayerData, AppError> {
    use super::repo;
    let learner = server::learner().await?;
    let enrolment = learner.enrolment_after_quiz().await?;
    let catalogue = repo::catalogue(&learner.state.db).await?;
    let (_, requirement) = server::requirement(&learner.state, &catalogue);
    if let Some(reason) = requirement.unavailable {
        return Err(AppError::Rejected(reason));
    }
    let course = catalogue.iter().find(|c| c.code == code).ok_or_else(|| AppError::not_found("未找到该课程"))?;
    let progress = repo::progress(&learner.state.db, enrolment.id).await?;
    let next = catalogue
        .iter()
        .find(|c| c.code != course.code && !server::complete(c, progress.get(&c.code)))
        .map(|c| c.code.clone());
    let current = progress.get(&course.code);
    Ok(CoursePlayerData {
        channel: learner.session.channel,
        code: course.code.clone(),
        title: course.title.clone(),
        summary: course.summary.clone(),
        sources: course.sources.clone(),
        required_ms: course.required_seconds * 1000,
        credited_ms: current.map_or(0, |p| p.credited_ms),
        complete: server::complete(course, current),
        next,
    })
}

/// The player starts a sitting: it takes over from any other device and learns where to resume.
#[server(prefix = "/api", endpoint = "study_start")]
pub async fn study_start(code: String) -> Result<StudySitting, AppError> {
    use super::repo;
    let learner = server::learner().await?;
    let enrolment = learner.enrolment_after_quiz().await?;
    let catalogue = repo::catalogue(&learner.state.db).await?;
    let course = catalogue.iter().find(|c| c.code == code).ok_or_else(|| AppError::not_found("未找到该课程"))?;
    let (lease, progress) = repo::start(&learner.state.db, enrolment.id, &course.code).await?;
    let required_ms = course.required_seconds * 1000;
    Ok(StudySitting {
        lease,
        resume_ms: progress.position_ms,
        furthest_ms: progress.furthest_ms,
        credited_ms: progress.credited_ms,
        required_ms,
        complete: progress.is_complete(required_ms),
    })
}

/// A playback heartbeat: credited only to the player holding the lease, one per few seconds, never faster than the
/// clock.
#[server(prefix = "/api", endpoint = "study_heartbeat")]
pub async fn study_heartbeat(code: String, lease: String, position_ms: i64) -> Result<BeatReply, AppError> {
    use super::model::BeatStatus;
    use super::repo::{self, BeatOutcome};
    use super::rules::Uncounted;
    let learner = server::learner().await?;
    let enrolment = learner.enrolment_after_quiz().await?;
    let catalogue = repo::catalogue(&learner.state.db).await?;
    let course = catalogue.iter().find(|c| c.code == code).ok_or_else(|| AppError::not_found("未找到该课程"))?;
    let required_ms = course.required_seconds * 1000;
    let outcome = repo::beat(&learner.state.db, enrolment.id, &course.code, &lease, position_ms, required_ms)
        .await?
        .ok_or_else(|| AppError::rejected("请重新打开课程开始学习"))?;
    let (status, progress) = match outcome {
        BeatOutcome::Credited(p) => (BeatStatus::Credited, p),
        BeatOutcome::TakenOver(p) => (BeatStatus::TakenOver, p),
        BeatOutcome::Uncounted(Uncounted::TooSoon, p) => (BeatStatus::TooSoon, p),
        BeatOutcome::Uncounted(Uncounted::SkipAhead { .. }, p) => (BeatStatus::SkipRefused, p),
    };
    Ok(BeatReply {
        status,
        credited_ms: progress.credited_ms,
        furthest_ms: progress.furthest_ms,
        required_ms,
        complete: progress.is_complete(required_ms),
    })
}

/// 申领审验证明: issued once every course is complete and nothing is left untreated or unpaid.
#[server(prefix = "/api", endpoint = "issue_certificate")]
pub async fn issue_certificate() -> Result<(), AppError> {
    use super::repo;
    use crate::identity::model::Flash;
    let learner = server::learner().await?;
    let enrolment = learner.enrolment_after_quiz().await?;
    let db = &learner.state.db;
    let catalogue = repo::catalogue(db).await?;
    let (_, requirement) = server::requirement(&learner.state, &catalogue);
    let progress = repo::progress(db, enrolment.id).await?;
    let refuse = |message: String| {
        let state = learner.state.clone();
        let session = learner.session.clone();
        async move {
            let flash = Flash { error: Some(message), ..Flash::default() };
            crate::identity::caller::flash_and_redirect(&state, &session, &flash, "/study/courses").await
        }
    };
    if requirement.unavailable.is_some()
        || catalogue.is_empty()
        || !catalogue.iter().all(|c| server::complete(c, progress.get(&c.code)))
    {
        return refuse(format!("请先学完全部课程（学时要求{}）再申领审验证明", requirement.label)).await;
    }
    let outstanding = repo::outstanding(db, &learner.link).await?;
    if !outstanding.is_empty() {
        return refuse(format!("您还有{}项违法未处理或罚款未缴纳，请处理并缴清后再申领审验证明", outstanding.len()))
            .await;
    }
    let study_seconds = progress.values().map(|p| p.credited_ms).sum::<i64>() / 1000;
    repo::issue(db, &learner.session, learner.account_id, &learner.link, enrolment.id, &learner.licence, study_seconds)
        .await?;
    leptos_axum::redirect("/study/certificate");
    Ok(())
}

/// `/study/certificate`: the holder's 审验证明 with its QR code.
#[server(prefix = "/api", endpoint = "study_certificate")]
pub async fn study_certificate() -> Result<CertificateData, AppError> {
    use super::repo;
    let Linked { state, session, link, .. } = crate::identity::caller::linked_caller().await?;
    let licence = repo::licence(&state.db, &link.id_number).await?.ok_or(AppError::rejected("尚未取得审验证明"))?;
    let enrolment = repo::enrolment(&state.db, &link.id_number, &licence.cycle).await?;
    let certificate = match enrolment {
        Some(e) => repo::certificate_of(&state.db, e.id).await?,
        None => None,
    }
    .ok_or_else(|| AppError::rejected("您本记分周期尚未取得审验证明"))?;
    let verify_url = format!("{}/verify/{}", state.config.base_url, certificate.verify_code);
    let qr_svg = super::certificate::qr_svg(&verify_url);
    Ok(CertificateData { channel: session.channel, certificate: certificate.view(), verify_url, qr_svg })
}

/// `/verify/{code}`: anyone holding the link learns whether the certificate is valid, with masked data only.
#[server(prefix = "/api", endpoint = "verify_certificate")]
pub async fn verify_certificate(code: String) -> Result<Option<CertificateView>, AppError> {
    let Caller { state, .. } = crate::identity::caller::caller().await?;
    if code.len() != 32 || !code.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    Ok(super::repo::certificate_by_code(&state.db, &code).await?.map(|c| c.view()))
}
