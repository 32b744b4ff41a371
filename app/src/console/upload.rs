//! `POST /console/import`: a police operator uploads one of the CSV files of SPEC §5 from the browser. It is a
//! plain multipart form handled here (not a server function), so it works the same with or without JavaScript,
//! and it goes through the very import the command line uses: all or nothing, every bad row by line number.

use axum::extract::{Multipart, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::{handler_staff, Staff};
use super::model::Role;
use crate::identity::model::Flash;
use crate::import::{import_from, Event, ImportError, Kind, Source, MAX_REPORTED_ROWS};
use crate::platform::state::AppState;

/// The page with the form, which the upload returns to.
pub const PATH: &str = "/console/import";
/// Where the form posts.
pub const UPLOAD_PATH: &str = "/console/import/upload";
/// Police files for a city are large, but not larger than this.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

fn back_to_form() -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, PATH)]).into_response()
}

/// Imports the uploaded file and reports the outcome on the import page.
pub async fn upload(State(state): State<AppState>, headers: HeaderMap, multipart: Multipart) -> Response {
    let staff = match handler_staff(&state, &headers, &[Role::Police]).await {
        Ok(staff) => staff,
        Err(refusal) => return refusal.or_sign_in(),
    };
    let flash = match read_form(multipart).await {
        Err(message) => Flash { error: Some(message), ..Flash::default() },
        Ok((kind, name, bytes)) => outcome(&state, &staff, kind, &name, &bytes).await,
    };
    if let Err(e) = super::auth::store_flash(&state, &staff, PATH, &flash).await {
        tracing::error!(error = %e, "storing the import result failed");
    }
    back_to_form()
}

async fn outcome(state: &AppState, staff: &Staff, kind: Kind, name: &str, bytes: &[u8]) -> Flash {
    let mut contradictions = Vec::new();
    let imported = import_from(&state.db, kind, Source::Bytes(bytes), staff.actor(), &mut |event| {
        if let Event::Contradiction(row) = event {
            if contradictions.len() < MAX_REPORTED_ROWS {
                contradictions.push(row.to_string());
            }
        }
    })
    .await;
    match imported {
        Ok(report) => {
            let mut notice = format!("{name}（{kind}）导入成功：{report}");
            for contradiction in &contradictions {
                notice.push_str(&format!("\n{contradiction}"));
            }
            Flash { notice: Some(notice), ..Flash::default() }
        }
        Err(ImportError::Database(e)) => {
            tracing::error!(error = %e, "console import failed");
            Flash {
                error: Some(format!("{name}：数据库写入失败，未导入任何数据，请稍后重试")), ..Flash::default()
            }
        }
        Err(ImportError::Interrupted { written, next_line, source }) => {
            tracing::error!(error = %source, written, "console import interrupted");
            Flash {
                error: Some(format!(
                    "{name}：数据库写入中断，前{written}条已导入，第{next_line}行起未导入，请稍后重新上传同一文件"
                )),
                ..Flash::default()
            }
        }
        Err(e) => Flash { error: Some(format!("{name}：{e}")), ..Flash::default() },
    }
}

/// The form's `kind` and `file` fields, or what is missing in Chinese.
async fn read_form(mut multipart: Multipart) -> Result<(Kind, String, Vec<u8>), String> {
    let mut kind = None;
    let mut file = None;
    while let Some(field) =
        multipart.next_field().await.map_err(|_| "上传内容不完整，请重新选择文件上传".to_string())?
    {
        match field.name() {
            Some("kind") => {
                let text = field.text().await.map_err(|_| "数据类型读取失败".to_string())?;
                kind = Some(Kind::parse(&text).ok_or("请选择数据类型")?);
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_string();
                let bytes =
                    field.bytes().await.map_err(|_| format!("文件过大或上传中断（上限{}MB）", MAX_BYTES >> 20))?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    let kind = kind.ok_or("请选择数据类型")?;
    match file {
        Some((name, bytes)) if !name.is_empty() && !bytes.is_empty() => Ok((kind, name, bytes)),
        _ => Err("请选择要上传的CSV文件".into()),
    }
}
