//! The 审验学习 screens: status check, 在线答题, course list, the video player, the 审验证明 and its public
//! verification page.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::api::{
    study_certificate, study_course, study_courses, study_heartbeat, study_home, study_quiz, study_start,
    verify_certificate, IssueCertificate, SubmitQuiz,
};
use super::model::{
    BeatStatus, CertificateData, CertificateView, CoursePlayerData, CoursesData, QuizData, QuizOutcome, QuizQuestion,
    RequirementView, StudyHomeData,
};
use super::rules::{duration_label, MIN_BEAT_GAP_MS};
use crate::identity::model::Channel;
use crate::ui::{loaded, FlashMessage, InfoRow, Screen};

/// `/study`: the status check, then the three steps.
#[component]
pub fn StudyPage() -> impl IntoView {
    let home = Resource::new(|| (), |_| study_home());
    loaded(home, |data: StudyHomeData| {
        let eligible = data.status == "eligible";
        view! {
            <Screen channel=data.channel title="审验学习">
                <div class=if eligible { "study-status study-status_ok" } else { "study-status" } role="status">
                    <p>{data.message.clone()}</p>
                </div>
                {(data.licence_class.is_some()).then(|| view! {
                    <div class="weui-cells">
                        <InfoRow label="准驾车型" value=data.licence_class.clone().unwrap_or_default()/>
                        <InfoRow label="记分周期" value=data.cycle.clone().unwrap_or_default()/>
                        <InfoRow label="本周期记分" value=data.points.clone().unwrap_or_default()/>
                    </div>
                })}
                {(data.status == "not-authenticated").then(|| view! {
                    <a class="weui-btn weui-btn_primary" href="/realname">"去实名认证"</a>
                })}
                {data.steps.map(|steps| view! {
                    <RequirementNote requirement=steps.requirement.clone()/>
                    <div class="weui-cells__title">"学习步骤"</div>
                    <div class="weui-cells">
                        <a class="weui-cell weui-cell_access" href="/study/quiz">
                            <div class="weui-cell__bd"><p>"1. 在线答题"</p></div>
                            <div class="weui-cell__ft">{match steps.quiz_score {
                                Some(score) => format!("已完成 · {score}分"),
                                None => "未完成".to_string(),
                            }}</div>
                        </a>
                        <a class="weui-cell weui-cell_access" href="/study/courses">
                            <div class="weui-cell__bd"><p>"2. 视频课程"</p></div>
                            <div class="weui-cell__ft">{format!("已学完{}/{}课", steps.courses_done, steps.courses_total)}</div>
                        </a>
                        {match steps.certificate_no {
                            Some(no) => view! {
                                <a class="weui-cell weui-cell_access" href="/study/certificate">
                                    <div class="weui-cell__bd"><p>"3. 审验证明"</p></div>
                                    <div class="weui-cell__ft">{no}</div>
                                </a>
                            }.into_any(),
                            None => view! {
                                <div class="weui-cell">
                                    <div class="weui-cell__bd"><p>"3. 审验证明"</p></div>
                                    <div class="weui-cell__ft">"学完全部课程后申领"</div>
                                </div>
                            }.into_any(),
                        }}
                    </div>
                    {match steps.quiz_score {
                        None => view! { <a class="weui-btn weui-btn_primary" href="/study/quiz">"开始答题"</a> }.into_any(),
                        Some(_) => view! { <a class="weui-btn weui-btn_primary" href="/study/courses">"课程学习"</a> }.into_any(),
                    }}
                })}
                <a class="weui-btn weui-btn_default" href="/">"返回首页"</a>
            </Screen>
        }
    })
}

#[component]
fn RequirementNote(requirement: RequirementView) -> impl IntoView {
    view! {
        <p class="screen__lead">"学时要求："{requirement.label}</p>
        {requirement.demo_note.map(|note| view! { <p class="flash flash_notice demo-note" role="note">{note}</p> })}
        {requirement.unavailable.map(|reason| view! { <p class="flash flash_error" role="alert">{reason}</p> })}
    }
}

/// `/study/quiz`: every drawn question, then the score with the correct answers.
#[component]
pub fn QuizPage() -> impl IntoView {
    let submit = ServerAction::<SubmitQuiz>::new();
    let quiz = Resource::new(move || submit.version().get(), |_| study_quiz());
    loaded(quiz, move |data: QuizData| match data.score {
        Some(score) => view! {
            <Screen channel=data.channel title="答题结果">
                <div class="quiz-score" role="status">
                    <p class="quiz-score__value">{format!("得分：{score}分")}</p>
                    <p>{format!(
                        "答对{}题，共{}题",
                        data.outcomes.iter().filter(|o| o.is_right()).count(),
                        data.outcomes.len()
                    )}</p>
                </div>
                <ol class="quiz">
                    {data.outcomes.into_iter().map(|outcome| view! { <OutcomeItem outcome/> }).collect_view()}
                </ol>
                <a class="weui-btn weui-btn_primary" href="/study/courses">"进入视频课程学习"</a>
                <a class="weui-btn weui-btn_default" href="/study">"返回审验学习"</a>
            </Screen>
        }
        .into_any(),
        None => {
            let flash = data.flash.clone();
            view! {
                <Screen channel=data.channel title="在线答题">
                    <FlashMessage flash=data.flash.clone()/>
                    <p class="screen__lead">"请完成全部题目后提交，提交后显示得分和正确答案。答题完成后方可开始视频课程学习。"</p>
                    <ActionForm action=submit>
                        <ol class="quiz">
                            {data.questions.into_iter().map(|question| {
                                let chosen = flash.value(&question.code);
                                view! { <QuestionItem question chosen/> }
                            }).collect_view()}
                        </ol>
                        <button type="submit" class="weui-btn weui-btn_primary">"提交答卷"</button>
                    </ActionForm>
                </Screen>
            }
            .into_any()
        }
    })
}

fn kind_label(kind: &str) -> &'static str {
    if kind == "judge" {
        "判断题"
    } else {
        "单选题"
    }
}

#[component]
fn QuestionItem(question: QuizQuestion, chosen: String) -> impl IntoView {
    let name = format!("answers[{}]", question.code);
    view! {
        <li class="quiz__item">
            <fieldset class="quiz__question">
                <legend><span class="quiz__kind">{kind_label(&question.kind)}</span>{question.stem.clone()}</legend>
                {question.choices.into_iter().map(|(value, label)| {
                    let checked = value == chosen;
                    view! {
                        <label class="quiz__choice">
                            <input type="radio" name=name.clone() value=value required=true checked=checked/>
                            <span>{label}</span>
                        </label>
                    }
                }).collect_view()}
            </fieldset>
        </li>
    }
}

#[component]
fn OutcomeItem(outcome: QuizOutcome) -> impl IntoView {
    let label_of = |value: &str| {
        outcome.question.choices.iter().find(|(v, _)| v == value).map(|(_, l)| l.clone()).unwrap_or_default()
    };
    let right = outcome.is_right();
    view! {
        <li class=if right { "quiz__item quiz__item_right" } else { "quiz__item quiz__item_wrong" }>
            <p class="quiz__stem"><span class="quiz__kind">{kind_label(&outcome.question.kind)}</span>{outcome.question.stem.clone()}</p>
            <p>{if right { "回答正确" } else { "回答错误" }}" · 您的答案："{label_of(&outcome.given)}</p>
            <p class="quiz__answer">"正确答案："{label_of(&outcome.correct)}</p>
            <p class="quiz__explanation">"解析："{outcome.explanation.clone()}</p>
        </li>
    }
}

/// `/study/courses`: the catalogue, progress, and the way to the 审验证明.
#[component]
pub fn CoursesPage() -> impl IntoView {
    let issue = ServerAction::<IssueCertificate>::new();
    let page = Resource::new(move || issue.version().get(), |_| study_courses());
    loaded(page, move |data: CoursesData| {
        view! {
            <Screen channel=data.channel title="视频课程">
                <FlashMessage flash=data.flash.clone()/>
                <RequirementNote requirement=data.requirement.clone()/>
                <p class="cell-sub study-total">"已累计学习："{data.credited_total.clone()}</p>
                <div class="weui-cells">
                    {data.courses.into_iter().map(|course| {
                        let href = format!("/study/course?code={}", course.code);
                        view! {
                            <a class="weui-cell weui-cell_access course" href=href>
                                <div class="weui-cell__bd">
                                    <p>{course.title}</p>
                                    <p class="cell-sub">{course.summary}</p>
                                    <p class="cell-sub">"需学习"{course.required}" · 已学习"{course.credited}</p>
                                    <progress max="100" value=course.percent>{format!("{}%", course.percent)}</progress>
                                </div>
                                <div class="weui-cell__ft">{if course.complete { "已完成" } else { "去学习" }}</div>
                            </a>
                        }
                    }).collect_view()}
                </div>
                {match (data.certificate_no, data.all_complete) {
                    (Some(no), _) => view! {
                        <p class="flash flash_notice" role="status">"已取得审验证明 "{no}</p>
                        <a class="weui-btn weui-btn_primary" href="/study/certificate">"查看审验证明"</a>
                    }.into_any(),
                    (None, false) => view! {
                        <p class="screen__lead">"学完全部课程后可申领审验证明。"</p>
                    }.into_any(),
                    (None, true) if !data.outstanding.is_empty() => view! {
                        <div class="outstanding" role="alert">
                            <p>"课程已全部学完。以下违法未处理或罚款未缴纳，处理并缴清后方可取得审验证明："</p>
                            <ul>
                                {data.outstanding.into_iter().map(|item| view! {
                                    <li>{item.description}" "<a href=item.href>{item.action}</a></li>
                                }).collect_view()}
                            </ul>
                        </div>
                    }.into_any(),
                    (None, true) => view! {
                        <p class="flash flash_notice" role="status">"课程已全部学完，可以申领审验证明。"</p>
                        <ActionForm action=issue>
                            <button type="submit" class="weui-btn weui-btn_primary">"申领审验证明"</button>
                        </ActionForm>
                    }.into_any(),
                }}
                <a class="weui-btn weui-btn_default" href="/study">"返回审验学习"</a>
            </Screen>
        }
    })
}

/// `/study/course?code=…`: the video lesson; the player reports heartbeats and the server keeps the time.
#[component]
pub fn CoursePage() -> impl IntoView {
    let query = use_query_map();
    let page = Resource::new(move || query.read().get("code").unwrap_or_default(), study_course);
    loaded(page, |data: CoursePlayerData| {
        view! {
            <Screen channel=data.channel title="视频学习">
                <Player data/>
                <a class="weui-btn weui-btn_default" href="/study/courses">"返回课程列表"</a>
            </Screen>
        }
    })
}

fn media_type(source: &str) -> &'static str {
    if source.ends_with(".webm") {
        "video/webm"
    } else {
        "video/mp4"
    }
}

/// How often the playing video reports to the server.
const BEAT_EVERY_MS: u64 = 5_000;
// The server counts one beat per `MIN_BEAT_GAP_MS`: a regular beat must come later than that, with room for jitter.
const _: () = assert!(BEAT_EVERY_MS as i64 >= MIN_BEAT_GAP_MS + 2_000);

/// The one island: it reports playback to the server, which decides what is credited.
#[island]
fn Player(data: CoursePlayerData) -> impl IntoView {
    let video = NodeRef::<leptos::html::Video>::new();
    let credited = RwSignal::new(data.credited_ms);
    let complete = RwSignal::new(data.complete);
    let notice = RwSignal::new(None::<String>);
    let taken_over = RwSignal::new(false);
    let lease = StoredValue::new(None::<String>);
    let furthest = StoredValue::new(0i64);
    let resume = StoredValue::new(None::<f64>);
    let in_flight = StoredValue::new(false);
    // A beat the server did not take while the video stood still (its end, a pause) goes again at the next tick.
    let again = StoredValue::new(false);
    let code = StoredValue::new(data.code.clone());
    let required = data.required_ms;

    let position_ms = move || video.get_untracked().map_or(0, |v| (v.current_time() * 1000.0) as i64);
    let seek_to = move |ms: i64| {
        if let Some(v) = video.get_untracked() {
            v.set_current_time(ms as f64 / 1000.0);
        }
    };
    let start = move || {
        leptos::task::spawn_local(async move {
            match study_start(code.get_value()).await {
                Ok(sitting) => {
                    lease.set_value(Some(sitting.lease));
                    furthest.set_value(sitting.furthest_ms);
                    credited.set(sitting.credited_ms);
                    complete.set(sitting.complete);
                    taken_over.set(false);
                    notice.set(None);
                    match video.get_untracked() {
                        Some(v) if v.ready_state() >= 1 => v.set_current_time(sitting.resume_ms as f64 / 1000.0),
                        _ => resume.set_value(Some(sitting.resume_ms as f64 / 1000.0)),
                    }
                }
                Err(e) => notice.set(Some(e.to_string())),
            }
        });
    };
    let beat = move || {
        let Some(current) = lease.get_value() else { return };
        if in_flight.get_value() {
            again.set_value(true);
            return;
        }
        again.set_value(false);
        in_flight.set_value(true);
        let at = position_ms();
        leptos::task::spawn_local(async move {
            let reply = study_heartbeat(code.get_value(), current, at).await;
            in_flight.set_value(false);
            match reply {
                Ok(reply) => {
                    credited.set(reply.credited_ms);
                    complete.set(reply.complete);
                    furthest.set_value(reply.furthest_ms.max(furthest.get_value()));
                    match reply.status {
                        BeatStatus::Credited => {}
                        BeatStatus::TakenOver => {
                            lease.set_value(None);
                            taken_over.set(true);
                            if let Some(v) = video.get_untracked() {
                                let _ = v.pause();
                            }
                        }
                        BeatStatus::TooSoon => {
                            if video.get_untracked().is_some_and(|v| v.paused()) {
                                again.set_value(true);
                            }
                        }
                        BeatStatus::SkipRefused => {
                            notice.set(Some("不能跳过未学习的内容，已回到上次学习的位置".into()));
                            seek_to(reply.furthest_ms);
                        }
                    }
                }
                Err(e) => notice.set(Some(e.to_string())),
            }
        });
    };

    // Starting the sitting and the heartbeat run only in the browser, once the page is interactive.
    Effect::new(move |_| {
        start();
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if again.get_value() || video.get_untracked().is_some_and(|v| !v.paused() && !v.ended()) {
                    beat();
                }
            },
            std::time::Duration::from_millis(BEAT_EVERY_MS),
        ) {
            on_cleanup(move || handle.clear());
        }
    });

    let on_metadata = move |_| {
        if let Some(at) = resume.get_value() {
            resume.set_value(None);
            if let Some(v) = video.get_untracked() {
                v.set_current_time(at);
            }
        }
    };
    // The browser's own controls may seek; past the furthest point watched goes back at once.
    let on_seeking = move |_| {
        let limit = furthest.get_value() + 1_500;
        if position_ms() > limit {
            notice.set(Some("不能跳过未学习的内容，已回到上次学习的位置".into()));
            seek_to(furthest.get_value());
        }
    };
    let on_timeupdate = move |_| {
        if video.get_untracked().is_some_and(|v| !v.seeking()) {
            let at = position_ms();
            if at <= furthest.get_value() + 1_500 {
                furthest.set_value(furthest.get_value().max(at));
            }
        }
    };

    let percent = move || if complete.get() { 100 } else { (credited.get() * 100 / required.max(1)).clamp(0, 99) };
    view! {
        <div class="player">
            <h2 class="player__title">{data.title.clone()}</h2>
            <p class="cell-sub">{data.summary.clone()}</p>
            <video
                node_ref=video
                class="player__video"
                controls=true
                playsinline=true
                muted=true
                preload="metadata"
                controlslist="nodownload noplaybackrate"
                disablepictureinpicture=true
                on:loadedmetadata=on_metadata
                on:seeking=on_seeking
                on:timeupdate=on_timeupdate
                on:pause=move |_| beat()
                on:ended=move |_| beat()
            >
                {data.sources.iter().map(|src| view! { <source src=src.clone() type=media_type(src)/> }).collect_view()}
                "您的浏览器不支持视频播放"
            </video>
            <noscript>
                <p class="flash flash_error">"视频学习需要启用JavaScript：学习时长由播放器向服务器上报后才能计入。"</p>
            </noscript>
            <p class="player__progress" role="status">
                "本课已学习"{move || duration_label(credited.get() / 1000)}" / 需学习"{duration_label(required / 1000)}
            </p>
            <progress max="100" value=percent>{move || format!("{}%", percent())}</progress>
            {move || notice.get().map(|text| view! { <p class="flash flash_error" role="alert">{text}</p> })}
            {move || taken_over.get().then(|| view! {
                <div class="flash flash_error" role="alert">
                    <p>"您已在其他设备或页面上开始学习，本页面已暂停计时。同一时间只能在一处学习。"</p>
                    <button type="button" class="weui-btn weui-btn_primary" on:click=move |_| start()>"在本设备继续学习"</button>
                </div>
            })}
            {move || complete.get().then(|| {
                let next = data.next.clone();
                view! {
                    <p class="flash flash_notice" role="status">"本课已完成"</p>
                    {match next {
                        Some(code) => view! {
                            <a class="weui-btn weui-btn_primary" href=format!("/study/course?code={code}")>"下一课"</a>
                        }.into_any(),
                        None => view! {
                            <a class="weui-btn weui-btn_primary" href="/study/courses">"全部课程已学完，去申领审验证明"</a>
                        }.into_any(),
                    }}
                }
            })}
        </div>
    }
}

/// `/study/certificate`: the holder's 审验证明, ready to print on A4.
#[component]
pub fn CertificatePage() -> impl IntoView {
    let page = Resource::new(|| (), |_| study_certificate());
    loaded(page, |data: CertificateData| {
        view! {
            <Screen channel=data.channel title="审验证明">
                <CertificateSheet certificate=data.certificate valid=true/>
                <figure class="certificate__qr">
                    <img
                        src=format!("data:image/svg+xml;charset=utf-8,{}", svg_data(&data.qr_svg))
                        alt="审验证明验证二维码"
                        width="160"
                        height="160"
                    />
                    <figcaption>"扫码核验："<a href=data.verify_url.clone()>{data.verify_url.clone()}</a></figcaption>
                </figure>
                <a class="weui-btn weui-btn_default no-print" href="/study">"返回审验学习"</a>
            </Screen>
        }
    })
}

/// Percent-encodes an SVG document for a `data:` URL.
fn svg_data(svg: &str) -> String {
    svg.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b' ' | b'-' | b'_' | b'.' | b'=' | b':' | b'/' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
fn CertificateSheet(certificate: CertificateView, valid: bool) -> impl IntoView {
    view! {
        <section class="certificate" aria-label="审验证明">
            <h2 class="certificate__title">"机动车驾驶人审验学习证明"</h2>
            {valid.then(|| view! { <p class="certificate__valid" role="status">"证明有效"</p> })}
            <div class="weui-cells">
                <InfoRow label="证明编号" value=certificate.cert_no/>
                <InfoRow label="姓名" value=certificate.name/>
                <InfoRow label="身份证号" value=certificate.id_number/>
                <InfoRow label="准驾车型" value=certificate.licence_class/>
                <InfoRow label="记分周期" value=certificate.cycle/>
                <InfoRow label="学习时长" value=certificate.study_time/>
                <InfoRow label="签发时间" value=certificate.issued_at/>
            </div>
            <p class="certificate__issuer">"大连市公安局交通警察支队 · 大连智慧交通"</p>
        </section>
    }
}

/// `/verify/{code}`: the public check a QR code leads to; only masked data.
#[component]
pub fn VerifyPage() -> impl IntoView {
    let params = use_params_map();
    let page = Resource::new(move || params.read().get("code").unwrap_or_default(), verify_certificate);
    loaded(page, |found: Option<CertificateView>| {
        view! {
            <Screen channel=Channel::Wechat title="审验证明核验">
                {match found {
                    Some(certificate) => view! { <CertificateSheet certificate valid=true/> }.into_any(),
                    None => view! {
                        <div class="weui-msg" role="alert">
                            <div class="weui-msg__icon-area"><i class="weui-icon-warn weui-icon_msg"></i></div>
                            <div class="weui-msg__text-area">
                                <h2 class="weui-msg__title">"未找到该审验证明，证明无效"</h2>
                                <p class="weui-msg__desc">"请核对二维码或链接是否完整。"</p>
                            </div>
                        </div>
                    }.into_any(),
                }}
            </Screen>
        }
    })
}
