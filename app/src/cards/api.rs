//! Server functions for 申办交通服务卡: the applicant's form and status page, and the bank's console steps. Who is
//! asking → parse → rule or repository → a flash and a redirect, so every form works without JavaScript.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::console::auth::StaffCaller;
#[cfg(feature = "ssr")]
use crate::identity::caller::{Caller, Visitor};

use super::model::{ApplicationDetailData, ApplicationFields, ApplicationListData, ApplyPageData, StatusPageData};
use crate::error::AppError;

/// The status page's path; a successful submission or lookup lands here.
pub const STATUS_PATH: &str = "/card-apply/status";
/// The console's detail page.
pub const DETAIL_PATH: &str = "/console/applications/detail";

#[cfg(feature = "ssr")]
mod ssr {
    use crate::identity::model::Channel;
    use crate::identity::session::Session;
    use crate::platform::pass::PassKind;

    /// A signed pass that opens one application's status page for an hour, proof of a matching lookup (or of
    /// having just submitted it) that survives a reload without an account.
    pub const STATUS_PASS: PassKind = PassKind::new("card-status", 60 * 60);

    /// The channel of the session, or the one the webview implies for a guest without one.
    pub fn channel(session: Option<&Session>) -> Channel {
        session.map(|s| s.channel).unwrap_or_else(crate::identity::caller::guest_channel)
    }
}

/// `/card-apply`: the branches and the message the last submission left.
#[server(prefix = "/api", endpoint = "card_apply_page")]
pub async fn card_apply_page() -> Result<ApplyPageData, AppError> {
    use crate::identity::model::Flash;
    let Caller { state, session } = crate::identity::caller::caller().await?;
    let flash = match &session {
        Some(session) => crate::identity::caller::take_flash(&state, session, "/card-apply").await?,
        None => Flash::default(),
    };
    let branches = super::repo::branches(&state.db).await?;
    Ok(ApplyPageData { channel: ssr::channel(session.as_ref()), branches, flash })
}

/// The application form (see `ApplicationFields`). Open to guests, whose session starts here so a rejected form
/// keeps what was typed.
#[server(prefix = "/api", endpoint = "card_apply")]
pub async fn card_apply(#[server(flatten)] fields: ApplicationFields) -> Result<(), AppError> {
    use super::repo::{self, Applicant, APPLY_PURPOSE};
    use super::rules::{self, ApplicationInput};
    use crate::domain::{IdNumber, Mobile};
    use crate::error::Refused;
    use crate::identity::caller::flash_and_redirect;
    use crate::identity::model::Flash;

    let Visitor { state, session } = crate::identity::caller::caller_or_guest().await?;
    let ApplicationFields { op, name, id_number, phone, code, plate1, plate2, plate3, branch } = &fields;
    let typed = [
        ("name", name),
        ("id_number", id_number),
        ("phone", phone),
        ("plate1", plate1),
        ("plate2", plate2),
        ("plate3", plate3),
        ("branch", branch),
    ];
    let mut flash = Flash {
        values: typed.into_iter().map(|(k, v)| (k.to_string(), v.trim().to_string())).collect(),
        ..Flash::default()
    };
    if op == "send_code" {
        match Mobile::parse(phone) {
            Err(e) => flash.field_errors.push(("phone".into(), rules::phone_message(&e))),
            Ok(mobile) => {
                let holder = match IdNumber::parse(id_number) {
                    Ok(id) => repo::holder_phone(state.db.pool(), &id).await?,
                    Err(_) => None,
                };
                // The holder's number is not shown, not even masked: the person asking may not be the holder.
                let (to, shown_as) = match &holder {
                    Some(holder) => (holder, "该身份证号办卡时预留的手机号".to_string()),
                    None => (&mobile, mobile.masked()),
                };
                match crate::identity::codes::send(&state, &session, to, &shown_as, APPLY_PURPOSE).await? {
                    Ok(notice) => flash.notice = Some(notice),
                    Err(refusal) => flash.error = Some(refusal),
                }
            }
        }
        return flash_and_redirect(&state, &session, &flash, "/card-apply").await;
    }
    let branches: Vec<String> = repo::branches(&state.db).await?.into_iter().map(|b| b.code).collect();
    let input = ApplicationInput { name, id_number, phone, code, plates: [plate1, plate2, plate3], branch };
    let today = crate::domain::CivilDate::shanghai_today_from_epoch(crate::platform::now());
    let form = match rules::parse_application(&input, &branches, today) {
        Ok(form) => form,
        Err(field_errors) => {
            flash.field_errors = field_errors;
            return flash_and_redirect(&state, &session, &flash, "/card-apply").await;
        }
    };
    let channel = session.channel.code();
    let applicant = match session.account_id {
        Some(id) => Applicant::Account { id, channel },
        None => Applicant::Guest { channel },
    };
    let submitted =
        repo::submit(&state.db, &state.signer, state.sms.as_ref(), &form, applicant, &session.token_hash).await;
    match submitted.refused()? {
        Ok(application_no) => {
            let pass = ssr::STATUS_PASS.issue(&state.signer, &application_no, crate::platform::now());
            let done = Flash {
                notice: Some(format!("申请已提交，申请编号：{application_no}。办理进度将以短信通知您。")),
                ..Flash::default()
            };
            flash_and_redirect(&state, &session, &done, &format!("{STATUS_PATH}?pass={pass}")).await
        }
        Err(refusal) => {
            flash.error = Some(refusal.to_string());
            flash_and_redirect(&state, &session, &flash, "/card-apply").await
        }
    }
}

/// `/card-apply/status`: the application a pass opens, the signed-in user's own applications, and the lookup
/// form's last message.
#[server(prefix = "/api", endpoint = "card_status_page")]
pub async fn card_status_page(#[server(default)] pass: String) -> Result<StatusPageData, AppError> {
    use super::repo;
    use crate::identity::model::Flash;
    let Caller { state, session } = crate::identity::caller::caller().await?;
    let flash = match &session {
        Some(session) => crate::identity::caller::take_flash(&state, session, STATUS_PATH).await?,
        None => Flash::default(),
    };
    let found = match ssr::STATUS_PASS.check(&state.signer, &pass, crate::platform::now()) {
        Some(application_no) => repo::find(&state.db, &application_no).await?.map(|a| a.view()),
        None => None,
    };
    let own = match session.as_ref().and_then(|s| s.account_id) {
        Some(account_id) => repo::of_account(&state.db, account_id).await?.iter().map(|a| a.view()).collect(),
        None => Vec::new(),
    };
    Ok(StatusPageData { channel: ssr::channel(session.as_ref()), flash, found, own })
}

/// 查询: 申请编号 plus 身份证号. A match opens the status with a pass; every mismatch gets the same answer, and
/// lookups are rate limited per client.
#[server(prefix = "/api", endpoint = "card_status_lookup")]
pub async fn card_status_lookup(
    #[server(default)] application_no: String,
    #[server(default)] id_number: String,
) -> Result<(), AppError> {
    use super::rules::is_application_no;
    use crate::domain::IdNumber;
    use crate::identity::caller::flash_and_redirect;
    use crate::identity::model::Flash;
    let Visitor { state, session } = crate::identity::caller::caller_or_guest().await?;
    let application_no = application_no.trim().to_ascii_uppercase();
    let mut flash = Flash {
        values: vec![("application_no".into(), application_no.clone()), ("id_number".into(), id_number.trim().into())],
        ..Flash::default()
    };
    let id = IdNumber::parse(&id_number);
    if !is_application_no(&application_no) {
        flash.field_errors.push(("application_no".into(), "申请编号应为SQ开头的16位编号".into()));
    }
    if let Err(e) = &id {
        flash.field_errors.push(("id_number".into(), e.to_string()));
    }
    let allowed = crate::platform::rate_limit::allow(
        &state.db,
        &format!("card-status:{}", crate::platform::http::client_key()),
        600,
        20,
    )
    .await?;
    let found = match id {
        _ if !allowed => {
            flash.error = Some("查询过于频繁，请10分钟后再试".into());
            None
        }
        Ok(id) if flash.field_errors.is_empty() => super::repo::lookup(&state.db, &application_no, &id).await?,
        _ => None,
    };
    match found {
        Some(application) => {
            let pass = ssr::STATUS_PASS.issue(&state.signer, &application.application_no, crate::platform::now());
            leptos_axum::redirect(&format!("{STATUS_PATH}?pass={pass}"));
            Ok(())
        }
        None => {
            if flash.error.is_none() && flash.field_errors.is_empty() {
                flash.error = Some("未查询到匹配的申请，请核对申请编号和身份证号".into());
            }
            flash_and_redirect(&state, &session, &flash, STATUS_PATH).await
        }
    }
}

/// `/console/applications?state=…`: the list for the bank and the auditor, newest first.
#[server(prefix = "/api", endpoint = "console_applications")]
pub async fn console_applications(#[server(default)] state: String) -> Result<ApplicationListData, AppError> {
    use super::rules::ApplicationState;
    use crate::console::model::Role;
    let StaffCaller { state: app, staff } = crate::console::auth::staff_caller(&[Role::Bank, Role::Auditor]).await?;
    let filter = ApplicationState::parse(&state);
    let applications = super::repo::list(&app.db, filter).await?.iter().map(|a| a.console()).collect();
    Ok(ApplicationListData { staff: staff.view(), filter, applications })
}

/// `/console/applications/detail?no=…`: one application, with the bank's steps for its state.
#[server(prefix = "/api", endpoint = "console_application")]
pub async fn console_application(no: String) -> Result<ApplicationDetailData, AppError> {
    use super::rules::Step;
    use crate::console::model::Role;
    let StaffCaller { state: app, staff } = crate::console::auth::staff_caller(&[Role::Bank, Role::Auditor]).await?;
    let application =
        super::repo::find(&app.db, no.trim()).await?.ok_or_else(|| AppError::not_found("未找到该申请"))?;
    let flash = crate::console::auth::take_flash(&app, &staff, DETAIL_PATH).await?;
    let steps = if staff.role == Role::Bank { Step::allowed_from(application.state) } else { Vec::new() };
    Ok(ApplicationDetailData { staff: staff.view(), flash, application: application.console(), steps })
}

/// The bank's steps: `op` is `review` (开始审核), `approve` (批准制卡), `reject` (驳回, with `reason`) or `collect`
/// (确认领卡). Only the Bank role may take them.
#[server(prefix = "/api", endpoint = "card_application_step")]
pub async fn card_application_step(no: String, op: String, #[server(default)] reason: String) -> Result<(), AppError> {
    use super::repo;
    use super::rules::{self, Step};
    use crate::console::auth::flash_and_redirect;
    use crate::console::model::Role;
    use crate::error::Refused;
    use crate::identity::model::Flash;
    let StaffCaller { state: app, staff } = crate::console::auth::staff_caller(&[Role::Bank]).await?;
    let step = Step::parse(&op).ok_or(AppError::BadRequest)?;
    let no = no.trim();
    let back = format!("{DETAIL_PATH}?no={no}");
    let reason = if step == Step::Reject {
        match rules::reject_reason(&reason) {
            Ok(reason) => Some(reason),
            Err(message) => {
                let flash = Flash {
                    field_errors: vec![("reason".into(), message.into())],
                    values: vec![("reason".into(), reason.trim().into())],
                    ..Flash::default()
                };
                return flash_and_redirect(&app, &staff, &flash, &back).await;
            }
        }
    } else {
        None
    };
    let prefix = &app.config.card_number_prefix;
    let outcome = repo::take_step(&app.db, app.sms.as_ref(), prefix, staff.actor(), no, step, reason.as_deref()).await;
    let flash = match outcome.refused()? {
        Ok(done) => {
            let mut notice = format!("已{}，申请状态：{}", step.label(), done.state.label());
            let card_no = done.card_no.unwrap_or_default();
            if step == Step::Approve {
                notice.push_str(&format!("。卡号：{card_no}，待申请人持本人身份证到网点确认领卡后启用并关联车辆"));
            }
            if step == Step::Collect {
                notice.push_str(&format!("。卡号{card_no}已启用"));
                if !done.linked.is_empty() {
                    notice.push_str(&format!("；已关联车辆：{}", done.linked.join("、")));
                }
                if !done.not_linked.is_empty() {
                    notice.push_str(&format!("；未关联（非申请人名下）：{}", done.not_linked.join("、")));
                }
            }
            Flash { notice: Some(notice), ..Flash::default() }
        }
        Err(refusal) => Flash { error: Some(refusal.to_string()), ..Flash::default() },
    };
    flash_and_redirect(&app, &staff, &flash, &back).await
}
