//! `server import evidence DIR`: the police's evidence photos, one `RECORD_NO.jpg` per violation record, copied
//! into the evidence store. Unlike a CSV file, each photo stands on its own: a bad one is reported by name and
//! skipped, and every good one is still copied.

use std::io::Read;
use std::path::Path;

use crate::platform::audit::{self, Actor};
use crate::platform::db::Db;
use crate::platform::evidence::{check_jpeg, is_record_no, DirectoryStore, PutError, MAX_PHOTO_BYTES};

/// What an evidence import did.
#[derive(Debug, Default)]
pub struct PhotoReport {
    /// How many photos were copied into the store.
    pub copied: usize,
    /// Every file not copied, by name, in name order.
    pub skipped: Vec<SkippedFile>,
}

/// A file of the folder that was not copied, and why, in words for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    pub name: String,
    pub reason: String,
}

/// Copies every `RECORD_NO.jpg` of `dir` whose record exists into `store`, and records the operator and the
/// counts in the audit log. Fails only when the folder cannot be listed or the database fails.
pub async fn import_photos(
    db: &Db,
    store: &DirectoryStore,
    dir: &Path,
    operator: &str,
) -> Result<PhotoReport, PhotoImportError> {
    let mut entries = std::fs::read_dir(dir)
        .and_then(|entries| entries.collect::<Result<Vec<_>, _>>())
        .map_err(PhotoImportError::Folder)?;
    entries.sort_by_key(|entry| entry.file_name());
    let mut report = PhotoReport::default();
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        match copy_one(db, store, &entry.path(), &name).await? {
            Ok(()) => report.copied += 1,
            Err(reason) => report.skipped.push(SkippedFile { name, reason }),
        }
    }
    let mut tx = db.begin_write().await?;
    let detail = format!("copied {}, skipped {}", report.copied, report.skipped.len());
    audit::record(&mut tx, Actor::Operator(operator), "import.evidence", &dir.display().to_string(), &detail).await?;
    tx.commit().await?;
    tracing::info!(copied = report.copied, skipped = report.skipped.len(), "evidence photos imported");
    Ok(report)
}

/// Copies one file, or says why not; `Err` only for a database fault.
async fn copy_one(db: &Db, store: &DirectoryStore, path: &Path, name: &str) -> Result<Result<(), String>, sqlx::Error> {
    let Some(record_no) = record_no_of(name) else {
        return Ok(Err("文件名应为“违法记录编号.jpg”".into()));
    };
    let photo = match read_limited(path) {
        Ok(photo) => photo,
        Err(reason) => return Ok(Err(reason)),
    };
    if let Err(e) = check_jpeg(&photo) {
        return Ok(Err(e.to_string()));
    }
    let known = sqlx::query("SELECT 1 FROM violations WHERE record_no = $1").bind(record_no).fetch_optional(db.pool());
    if known.await?.is_none() {
        return Ok(Err(format!("没有违法记录{record_no}，请先导入违法记录")));
    }
    Ok(store.put(record_no, &photo).map_err(|e| match e {
        PutError::Io(e) => {
            tracing::error!(error = %e, record_no, "evidence photo not written");
            format!("写入照片目录失败：{e}")
        }
        refused => refused.to_string(),
    }))
}

/// The record number a file named `RECORD_NO.jpg` (any case of the extension) is the photo of.
fn record_no_of(name: &str) -> Option<&str> {
    let (stem, extension) = name.rsplit_once('.')?;
    (extension.eq_ignore_ascii_case("jpg") && is_record_no(stem)).then_some(stem)
}

/// The file's bytes, reading no more than one byte past the store's limit, so a huge file is refused, not loaded.
fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    // Checked before opening: opening a named pipe would wait for a writer.
    if !std::fs::metadata(path).map_err(|e| format!("无法读取：{e}"))?.is_file() {
        return Err("不是普通文件".into());
    }
    let file = std::fs::File::open(path).map_err(|e| format!("无法读取：{e}"))?;
    let mut photo = Vec::new();
    file.take(MAX_PHOTO_BYTES + 1).read_to_end(&mut photo).map_err(|e| format!("无法读取：{e}"))?;
    Ok(photo)
}

/// Why an evidence import stopped before looking at every file.
#[derive(Debug, thiserror::Error)]
pub enum PhotoImportError {
    #[error("无法读取照片文件夹：{0}")]
    Folder(std::io::Error),
    #[error("数据库失败：{0}")]
    Database(#[from] sqlx::Error),
}

#[cfg(test)]
mod tests {
    use super::record_no_of;

    #[test]
    fn a_photo_is_named_by_its_record_number() {
        assert_eq!(record_no_of("210200203001010011.jpg"), Some("210200203001010011"));
        assert_eq!(record_no_of("R1.JPG"), Some("R1"));
        for name in ["R1.png", "R1", ".jpg", "../R1.jpg", "R 1.jpg", "R1.jpg.tmp", ".R1.1234.tmp"] {
            assert_eq!(record_no_of(name), None, "{name}");
        }
    }
}
