//! Server functions for sign-in state and 实名认证: who is asking, parse, call the repository, map the error.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::identity::caller::{Caller, SignedIn};

use crate::error::AppError;
use crate::identity::model::{RealNameFields, RealNamePage, Viewer};

/// Who is looking, for menus and branding.
#[server(prefix = "/api", endpoint = "current_viewer")]
pub async fn current_viewer() -> Result<Viewer, AppError> {
    let Caller { session, .. } = crate::identity::caller::caller().await?;
    Ok(ssr::viewer(session.as_ref()))
}

/// The 实名认证 page: the caller's link (masked) and the message left by the last submission.
#[server(prefix = "/api", endpoint = "realname_page")]
pub async fn realname_page() -> Result<RealNamePage, AppError> {
    use crate::identity::model::Flash;
    let Caller { state, session } = crate::identity::caller::caller().await?;
    let viewer = ssr::viewer(session.as_ref());
    let flash = match &session {
        Some(session) => crate::identity::caller::take_flash(&state, session, "/realname").await?,
        None => Flash::default(),
    };
    Ok(RealNamePage { viewer, flash })
}

/// The 实名认证 form (see `RealNameFields`). The outcome is left as a flash and the browser is sent back to the
/// page, which works the same with and without JavaScript.
#[server(prefix = "/api", endpoint = "realname")]
pub async fn realname_submit(#[server(flatten)] fields: RealNameFields) -> Result<(), AppError> {
    use crate::domain::Mobile;
    use crate::error::Refused;
    use crate::identity::model::Flash;
    use crate::identity::repo::{self, REALNAME_PURPOSE};

    let SignedIn { state, session, account_id } = crate::identity::caller::signed_in_caller().await?;
    let RealNameFields { op, name, id_number, card_no, phone, .. } = &fields;
    let mut flash = Flash {
        values: [("name", name), ("id_number", id_number), ("card_no", card_no), ("phone", phone)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect(),
        ..Flash::default()
    };
    if op == "send_code" {
        match Mobile::parse(phone) {
            Err(e) => flash.field_errors.push(("phone".into(), e.to_string())),
            Ok(mobile) => {
                match crate::identity::codes::send(&state, &session, &mobile, &mobile.masked(), REALNAME_PURPOSE)
                    .await?
                {
                    Ok(notice) => flash.notice = Some(notice),
                    Err(refusal) => flash.error = Some(refusal),
                }
            }
        }
    } else {
        match ssr::parse_request(&fields) {
            Err(field_errors) => flash.field_errors = field_errors,
            Ok(request) => {
                match repo::authenticate(&state.db, &state.signer, &session, account_id, &request).await.refused()? {
                    Ok(()) => flash = Flash { notice: Some("实名认证成功".into()), ..Flash::default() },
                    Err(refusal) => flash.error = Some(refusal.to_string()),
                }
            }
        }
    }
    crate::identity::caller::flash_and_redirect(&state, &session, &flash, "/realname").await
}

/// 解除绑定: removes the caller's real-name link so a new card can be linked.
#[server(prefix = "/api", endpoint = "realname_unlink")]
pub async fn realname_unlink() -> Result<(), AppError> {
    use crate::identity::model::Flash;
    let SignedIn { state, session, account_id } = crate::identity::caller::signed_in_caller().await?;
    let notice = if crate::identity::repo::unlink(&state.db, &session, account_id).await? {
        "已解除绑定，可使用新的交通服务卡重新实名认证"
    } else {
        "当前没有实名认证信息"
    };
    let flash = Flash { notice: Some(notice.into()), ..Flash::default() };
    crate::identity::caller::flash_and_redirect(&state, &session, &flash, "/realname").await
}

/// 退出登录: ends the session on the server and removes the cookie.
#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::identity::{caller, session};
    let caller::Caller { state, session } = caller::caller().await?;
    if let Some(session) = session {
        session::delete(&state.db, &session).await?;
    }
    crate::platform::http::set_response_cookie(&session::clear_cookie(state.config.secure_cookies()));
    leptos_axum::redirect("/");
    Ok(())
}

#[cfg(feature = "ssr")]
mod ssr {
    use crate::domain::{CardNo, DomainError, IdNumber, Mobile, PersonName, SmsCode};
    use crate::identity::model::{RealNameFields, Viewer};
    use crate::identity::repo::RealNameRequest;
    use crate::identity::session::Session;

    /// Who is looking: the channel, whether signed in, and the masked real-name link.
    pub fn viewer(session: Option<&Session>) -> Viewer {
        let Some(session) = session else {
            let channel = crate::identity::caller::guest_channel();
            return Viewer { channel, signed_in: false, real_name: None, real_name_lapsed: false };
        };
        let real_name = session.link.as_ref().map(|link| link.masked());
        Viewer {
            channel: session.channel,
            signed_in: session.account_id.is_some(),
            real_name,
            real_name_lapsed: session.link_lapsed,
        }
    }

    /// Parses every field, collecting one message per bad field so the user sees them all at once.
    pub fn parse_request(fields: &RealNameFields) -> Result<RealNameRequest, Vec<(String, String)>> {
        let RealNameFields { name, id_number, card_no, phone, code, .. } = fields;
        let mut errors = Vec::new();
        fn field<T>(errors: &mut Vec<(String, String)>, key: &str, parsed: Result<T, DomainError>) -> Option<T> {
            parsed.map_err(|e| errors.push((key.to_string(), e.to_string()))).ok()
        }
        let name = field(&mut errors, "name", PersonName::parse(name));
        let today = crate::domain::CivilDate::shanghai_today_from_epoch(crate::platform::now());
        let id_number = field(&mut errors, "id_number", IdNumber::parse_as_of(id_number, today));
        let card_no = field(&mut errors, "card_no", CardNo::parse(card_no));
        let phone = field(&mut errors, "phone", Mobile::parse(phone));
        let code = field(&mut errors, "code", SmsCode::parse(code));
        match (name, id_number, card_no, phone, code) {
            (Some(name), Some(id_number), Some(card_no), Some(phone), Some(code)) => {
                Ok(RealNameRequest { name, id_number, card_no, phone, code })
            }
            _ => Err(errors),
        }
    }
}
