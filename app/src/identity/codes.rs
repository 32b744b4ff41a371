//! 获取验证码 for every form that sends one (实名认证, 申办交通服务卡): the caller's limits, the message, and what
//! the form is told, in one place. Checking a code is `platform::sms::take_code`.

use crate::domain::Mobile;
use crate::error::{AppError, Refused};
use crate::identity::session::Session;
use crate::platform::sms::{self, CodeError};
use crate::platform::state::AppState;

/// Sends a code for `purpose` to `to` on behalf of the caller's session. What the form then says: `Ok(notice)`,
/// naming where the code went as `shown_as`, or `Err(message)` when a limit refused it. Only a database failure
/// is an error of the request.
pub async fn send(
    state: &AppState,
    session: &Session,
    to: &Mobile,
    shown_as: &str,
    purpose: &str,
) -> Result<Result<String, String>, AppError> {
    let limits = state.config.sms_limits;
    let requester = crate::identity::caller::sms_requester(session);
    let sent = sms::issue_code(&state.db, &state.signer, state.sms.as_ref(), limits, to, purpose, &requester).await;
    let minutes = (limits.code_ttl_secs + 59) / 60;
    Ok(sent.refused()?.map(|()| format!("验证码已发送至{shown_as}，{minutes}分钟内有效")).map_err(|e| e.to_string()))
}

crate::error::database_is_the_fault!(CodeError);
