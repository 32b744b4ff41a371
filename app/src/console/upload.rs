//! `POST /console/import`: a police operator uploads one of the CSV files of SPEC §5 from the browser. It is a
//! plain multipart form handled here (not a server function), so it works the same with or without JavaScript,
//! and it goes through the very import the command line uses: all or nothing, every bad row by line number.

use axum::extract::{Multipart, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::auth::{handler_staff, Staff};
use super::model::Role;
use super::repo;
use crate::identity::model::Flash;
use crate::import::progress::Progress;
use crate::import::{import_from, Event, ImportError, Kind, Source, MAX_REPORTED_ROWS};
use crate::platform::now;
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

/// How long the upload waits for its import before answering. A file that takes longer goes on importing in the
/// background, and the import page shows its progress, refreshing itself, until the outcome is there.
pub const WAIT_FOR_OUTCOME: Duration = Duration::from_secs(5);
/// How often a running import's progress line is written for its page.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Imports the uploaded file and reports the outcome on the import page: at once for a file that imports within
/// [`WAIT_FOR_OUTCOME`], otherwise once the page's progress has run its course.
pub async fn upload(State(state): State<AppState>, headers: HeaderMap, multipart: Multipart) -> Response {
    let staff = match handler_staff(&state, &headers, &[Role::Police]).await {
        Ok(staff) => staff,
        Err(refusal) => return refusal.or_sign_in(),
    };
    let (kind, name, bytes) = match read_form(multipart).await {
        Ok(form) => form,
        Err(message) => return back_with(&state, &staff, Flash { error: Some(message), ..Flash::default() }).await,
    };
    let run =
        match repo::start_import_run(&state.db, staff.id, staff.session_key(), &name, &starting(&name), now()).await {
            Ok(Some(run)) => run,
            Ok(None) => {
                let error = "上一个文件仍在导入，请等待其完成后再上传".to_string();
                return back_with(&state, &staff, Flash { error: Some(error), ..Flash::default() }).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "starting the console import failed");
                let error = "数据库暂时不可用，未导入任何数据，请稍后重试".to_string();
                return back_with(&state, &staff, Flash { error: Some(error), ..Flash::default() }).await;
            }
        };
    let import = tokio::spawn(run_import(state, staff, kind, name, bytes, run));
    // Either way the page tells the outcome: the import stores it as the staff member's message when it ends.
    let _ = tokio::time::timeout(WAIT_FOR_OUTCOME, import).await;
    back_to_form()
}

/// The progress line until the first one of [`Progress`].
fn starting(name: &str) -> String {
    format!("{name}: 开始校验")
}

async fn back_with(state: &AppState, staff: &Staff, flash: Flash) -> Response {
    if let Err(e) = super::auth::store_flash(state, staff, PATH, &flash).await {
        tracing::error!(error = %e, "storing the import result failed");
    }
    back_to_form()
}

/// The import of one upload, apart from the request: writes its progress line for the page about once a second,
/// then stores the outcome as the staff member's message and marks the run finished.
async fn run_import(state: AppState, staff: Staff, kind: Kind, name: String, bytes: Vec<u8>, run: i64) {
    let latest = Arc::new(Mutex::new(None::<String>));
    let relay = {
        let (db, latest, name) = (state.db.clone(), latest.clone(), name.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(PROGRESS_EVERY);
            loop {
                ticks.tick().await;
                // An unchanged line is written too: the row's time tells the page the import is alive.
                let line = latest.lock().ok().and_then(|line| line.clone()).unwrap_or_else(|| starting(&name));
                if let Err(e) = repo::set_import_progress(&db, run, &line, now()).await {
                    tracing::warn!(error = %e, "writing the console import's progress failed");
                }
            }
        })
    };
    let flash = outcome(&state, &staff, kind, &name, &bytes, &latest).await;
    relay.abort();
    if let Err(e) = super::auth::store_flash(&state, &staff, PATH, &flash).await {
        tracing::error!(error = %e, "storing the import result failed");
    }
    if let Err(e) = repo::finish_import_run(&state.db, run, now()).await {
        tracing::error!(error = %e, "marking the console import finished failed");
    }
}

async fn outcome(
    state: &AppState,
    staff: &Staff,
    kind: Kind,
    name: &str,
    bytes: &[u8],
    latest: &Mutex<Option<String>>,
) -> Flash {
    let mut contradictions = Vec::new();
    let mut progress = Progress::new(name);
    let imported = import_from(&state.db, kind, Source::Bytes(bytes), staff.actor(), &mut |event| match event {
        Event::Contradiction(row) if contradictions.len() < MAX_REPORTED_ROWS => contradictions.push(row.to_string()),
        Event::Contradiction(_) => {}
        progressing => {
            if let Some(line) = progress.line(&progressing) {
                if let Ok(mut latest) = latest.lock() {
                    *latest = Some(line);
                }
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
