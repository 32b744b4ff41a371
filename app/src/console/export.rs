//! `POST /console/export/download`: 数据导出 from the browser. A plain form handled here (not a server function), so
//! the file downloads the same with or without JavaScript; it runs the very export `server export` runs, claiming
//! the events not yet exported (a POST, since it moves the watermark) and auditing the staff member.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::auth::{handler_staff, Refusal};
use super::model::Role;
use crate::export::{export, parse_shanghai_time, Kind};
use crate::identity::model::Flash;
use crate::platform::now;
use crate::platform::state::AppState;

/// The page with the form, which a failed download returns to.
pub const PATH: &str = "/console/export";
/// Where the form posts.
pub const DOWNLOAD_PATH: &str = "/console/export/download";

/// The files a role takes: the police their decisions, the bank payments, unbindings and cards.
pub fn kinds_for(role: Role) -> Vec<Kind> {
    Kind::ALL.into_iter().filter(|kind| may_export(role, *kind)).collect()
}

fn may_export(role: Role, kind: Kind) -> bool {
    match role {
        Role::Police => kind.for_police(),
        Role::Bank => !kind.for_police(),
        Role::Auditor => false,
    }
}

/// The file's name on screen.
pub fn label(kind: Kind) -> &'static str {
    match kind {
        Kind::Decisions => "处罚决定 decisions.csv",
        Kind::Payments => "罚款缴纳 payments.csv",
        Kind::Unbindings => "解除绑定车辆 unbindings.csv",
        Kind::Cards => "交通服务卡发卡 cards.csv",
    }
}

/// The form: the kind, and optionally 起始时间 to write again what happened since (a `datetime-local` value or
/// `YYYY-MM-DD[ HH:MM[:SS]]`, Asia/Shanghai).
#[derive(Debug, Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    since: String,
}

/// Exports and answers the CSV as an attachment; a refusal or failure goes back to the page with its message.
pub async fn download(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<ExportForm>) -> Response {
    let staff = match handler_staff(&state, &headers, &[Role::Police, Role::Bank]).await {
        Ok(staff) => staff,
        Err(refusal) => return refusal.or_sign_in(),
    };
    let Some(kind) = Kind::parse(&form.kind) else {
        return back_with(&state, &staff, "请选择要导出的数据").await;
    };
    if !may_export(staff.role, kind) {
        return Refusal::Forbidden.page();
    }
    let since = form.since.trim().replace('T', " ");
    let since = match since.as_str() {
        "" => None,
        text => match parse_shanghai_time(text) {
            Some(at) => Some(at),
            None => return back_with(&state, &staff, "起始时间应为 YYYY-MM-DD HH:MM 格式的北京时间").await,
        },
    };
    let mut file = Vec::new();
    let deliver = |bytes: &[u8]| {
        file = bytes.to_vec();
        Ok(())
    };
    match export(&state.db, kind, since, staff.actor(), deliver).await {
        Ok(done) => {
            let stamp = crate::export::shanghai_second(now()).replace(['-', ':'], "").replace(' ', "-");
            let filename = format!("{kind}-{stamp}-{}.csv", done.run);
            (
                [
                    (CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
                    // Personal data for a system of record: no cache may keep a copy.
                    (CACHE_CONTROL, "no-store".to_string()),
                ],
                file,
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, %kind, "console export failed");
            back_with(&state, &staff, "导出失败，未记录本次导出，请稍后重试").await
        }
    }
}

async fn back_with(state: &AppState, staff: &super::auth::Staff, message: &str) -> Response {
    let flash = Flash { error: Some(message.to_string()), ..Flash::default() };
    if let Err(e) = super::auth::store_flash(state, staff, PATH, &flash).await {
        tracing::error!(error = %e, "storing the export message failed");
    }
    (StatusCode::SEE_OTHER, [(LOCATION, PATH)]).into_response()
}
