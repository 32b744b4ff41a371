//! `GET /evidence/{record_no}`: the evidence photo of a record on the caller's card, from the police's image store
//! (`EVIDENCE_DIR`). A record the store has no photo of gets a sketch drawn from the record as a camera frame would
//! show it, which says it is one.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::model::NO_PHOTO;
use crate::identity::caller::request_session;
use crate::platform::state::AppState;

/// Serves the photo only to a person whose card holds the vehicle.
pub async fn evidence_photo(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(record_no): Path<String>,
) -> Response {
    let found = async {
        let Some(link) = request_session(&state, &headers).await?.and_then(|s| s.link) else {
            return Ok(None);
        };
        let Some((record, _)) = super::repo::record(&state.db, &link, &record_no).await? else {
            return Ok(None);
        };
        let photo = match &state.evidence {
            Some(store) => store.get(&record.record_no).await?,
            None => None,
        };
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Some((record, photo)))
    };
    match found.await {
        // Personal data: the holder's browser may keep it, no shared cache may.
        Ok(Some((_, Some(photo)))) => {
            ([(CONTENT_TYPE, "image/jpeg"), (CACHE_CONTROL, "private")], photo).into_response()
        }
        // Revalidated, so a photo imported later replaces the sketch.
        Ok(Some((record, None))) => {
            ([(CONTENT_TYPE, "image/svg+xml; charset=utf-8"), (CACHE_CONTROL, "private, no-cache")], sketch(&record))
                .into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "evidence lookup failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn sketch(record: &super::model::RecordView) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 360 240" width="360" height="240" role="img" aria-label="违法证据照片">
<rect width="360" height="240" fill="#2b3138"/>
<path d="M0 240 L140 90 L220 90 L360 240 Z" fill="#4a525c"/>
<path d="M178 100 L182 100 L186 240 L174 240 Z" fill="#e8e8e8"/>
<rect x="120" y="130" width="120" height="70" rx="10" fill="#9aa4ae"/>
<rect x="150" y="178" width="60" height="16" fill="#1f4fbf"/>
<text x="180" y="191" font-size="11" fill="#fff" text-anchor="middle">{plate}</text>
<text x="180" y="62" font-size="15" fill="#fff" text-anchor="middle">{NO_PHOTO}</text>
<rect width="360" height="22" fill="rgba(0,0,0,0.6)"/>
<text x="6" y="15" font-size="11" fill="#fff">{time}  {location}</text>
<rect y="218" width="360" height="22" fill="rgba(0,0,0,0.6)"/>
<text x="6" y="233" font-size="11" fill="#ffd400">{code} {behaviour}</text>
</svg>"##,
        plate = escape(&record.plate),
        time = escape(&record.occurred_at),
        location = escape(&record.location),
        code = escape(&record.code),
        behaviour = escape(&record.behaviour),
    )
}
