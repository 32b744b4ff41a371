//! Server functions for 交通违法处理 and 已绑定车辆信息: who is asking, parse, repository, map the error.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::identity::caller::{Linked, LinkedPage};

use super::model::{
    DecisionPageData, FinesPageData, RecordPageData, VehicleRecordsData, VehiclesPageData, ViolationsHomeData,
};
use crate::error::AppError;

/// `/violations`: whether the notice was accepted, and the card's vehicles.
#[server(prefix = "/api", endpoint = "violations_home")]
pub async fn violations_home() -> Result<ViolationsHomeData, AppError> {
    use super::repo;
    let LinkedPage { linked: Linked { session, .. }, rows } =
        crate::identity::caller::linked_caller_with_rows(repo::bound_vehicles_sql, |query| query).await?;
    let agreed = session.has_agreed(repo::VIOLATION_NOTICE);
    let vehicles = if agreed { repo::bound_vehicles(&rows)? } else { Vec::new() };
    Ok(ViolationsHomeData { channel: session.channel, agreed, vehicles })
}

/// 知晓并同意: remembers the acceptance and shows the vehicles.
#[server(prefix = "/api", endpoint = "violations_agree")]
pub async fn violations_agree() -> Result<(), AppError> {
    use super::repo;
    let Linked { state, account_id, .. } = crate::identity::caller::linked_caller().await?;
    repo::agree(&state.db, account_id, repo::VIOLATION_NOTICE).await?;
    leptos_axum::redirect("/violations");
    Ok(())
}

/// A vehicle's untreated records, only for a vehicle on the caller's card.
#[server(prefix = "/api", endpoint = "vehicle_records")]
pub async fn vehicle_records(plate: String, plate_type: String) -> Result<VehicleRecordsData, AppError> {
    use super::repo;
    let LinkedPage { linked: Linked { session, .. }, rows } =
        crate::identity::caller::linked_caller_with_rows(repo::vehicle_with_untreated_sql, |query| {
            query.bind(plate).bind(plate_type)
        })
        .await?;
    if !session.has_agreed(repo::VIOLATION_NOTICE) {
        return Err(AppError::rejected("请先阅读使用须知并点击“知晓并同意”"));
    }
    let (vehicle, records) =
        repo::vehicle_with_untreated(&rows)?.ok_or_else(|| AppError::rejected("该车辆未绑定您的交通服务卡"))?;
    Ok(VehicleRecordsData { channel: session.channel, vehicle, records })
}

/// A record's details, only for a vehicle on the caller's card.
#[server(prefix = "/api", endpoint = "record_page")]
pub async fn record_page(record_no: String) -> Result<RecordPageData, AppError> {
    use super::repo;
    let Linked { state, session, link, .. } = crate::identity::caller::linked_caller().await?;
    let (record, decision_no) =
        repo::record(&state.db, &link, &record_no).await?.ok_or_else(|| AppError::not_found("未找到该违法记录"))?;
    let photo = match &state.evidence {
        Some(store) => store.has(&record.record_no).await.map_err(|e| {
            tracing::error!(error = %e, "evidence store unreadable");
            AppError::Unavailable
        })?,
        None => false,
    };
    let flash = crate::identity::caller::take_flash(&state, &session, "/violations/record").await?;
    Ok(RecordPageData { channel: session.channel, record, photo, decision_no, flash })
}

/// 接受处理: decides the record and shows the decision; a refusal comes back to the record with its reason.
#[server(prefix = "/api", endpoint = "process_record")]
pub async fn process_record(record_no: String) -> Result<(), AppError> {
    use super::repo;
    use crate::error::Refused;
    use crate::identity::model::Flash;
    let Linked { state, session, account_id, link } = crate::identity::caller::linked_caller().await?;
    match repo::process(&state.db, &session, account_id, &link, &record_no).await.refused()? {
        Ok(decision_no) => {
            let notice = Flash { notice: Some("处理成功，已生成处罚决定书".into()), ..Flash::default() };
            let url = format!("/violations/decision?no={decision_no}");
            crate::identity::caller::flash_and_redirect(&state, &session, &notice, &url).await
        }
        Err(refusal) => {
            let refusal = Flash { error: Some(refusal.to_string()), ..Flash::default() };
            let url = format!("/violations/record?no={}", urlencode(&record_no));
            crate::identity::caller::flash_and_redirect(&state, &session, &refusal, &url).await
        }
    }
}

/// A decision the caller may see, with today's amounts.
#[server(prefix = "/api", endpoint = "decision_page")]
pub async fn decision_page(decision_no: String) -> Result<DecisionPageData, AppError> {
    let Linked { state, session, link, .. } = crate::identity::caller::linked_caller().await?;
    let decision = super::repo::decision(&state.db, &link, &decision_no)
        .await?
        .ok_or_else(|| AppError::not_found("未找到该处罚决定书"))?;
    let flash = crate::identity::caller::take_flash(&state, &session, "/violations/decision").await?;
    Ok(DecisionPageData { channel: session.channel, decision, flash })
}

/// `/fines`: 交通罚款缴纳, the caller's decided but unpaid decisions.
#[server(prefix = "/api", endpoint = "fines_page")]
pub async fn fines_page() -> Result<FinesPageData, AppError> {
    let Linked { state, session, account_id, link } = crate::identity::caller::linked_caller().await?;
    let decisions = super::repo::unpaid_decisions(&state.db, &link).await?;
    let receipts = super::repo::paid_receipts(&state.db, account_id).await?;
    Ok(FinesPageData { channel: session.channel, decisions, receipts })
}

/// `/vehicles`: 已绑定车辆信息.
#[server(prefix = "/api", endpoint = "vehicles_page")]
pub async fn vehicles_page() -> Result<VehiclesPageData, AppError> {
    let LinkedPage { linked: Linked { state, session, link, .. }, rows } =
        crate::identity::caller::linked_caller_with_rows(super::repo::bound_vehicles_sql, |query| query).await?;
    let vehicles = super::repo::bound_vehicles(&rows)?;
    let flash = crate::identity::caller::take_flash(&state, &session, "/vehicles").await?;
    Ok(VehiclesPageData { channel: session.channel, card: link.card_no.masked(), vehicles, flash })
}

/// 解除绑定 of one vehicle from the caller's card, after the confirmation page.
#[server(prefix = "/api", endpoint = "unbind_vehicle")]
pub async fn unbind_vehicle(plate: String, plate_type: String) -> Result<(), AppError> {
    use crate::identity::model::Flash;
    let Linked { state, session, account_id, link } = crate::identity::caller::linked_caller().await?;
    let unbound = super::repo::unbind_vehicle(&state.db, &session, account_id, &link, &plate, &plate_type).await?;
    let notice = if unbound {
        format!("已解除车辆 {plate} 与交通服务卡的绑定")
    } else {
        "该车辆未绑定您的交通服务卡".into()
    };
    let flash = Flash { notice: Some(notice), ..Flash::default() };
    crate::identity::caller::flash_and_redirect(&state, &session, &flash, "/vehicles").await
}

/// Percent-encodes a query value (plates carry Chinese characters).
pub fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
