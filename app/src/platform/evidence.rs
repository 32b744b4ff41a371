//! The police evidence photos: the store the evidence route reads, and its directory implementation, a folder of
//! `RECORD_NO.jpg` files that operators fill with `server import evidence DIR`.

use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

/// The largest photo the store takes: a camera frame is a few hundred kilobytes, so anything near this is not one.
pub const MAX_PHOTO_BYTES: u64 = 8 * 1024 * 1024;

/// Where the evidence photos of violation records are kept.
#[async_trait]
pub trait EvidenceStore: Send + Sync {
    /// The JPEG photo of `record_no`, or `None` when the store has none for it (or the number could not be one).
    async fn get(&self, record_no: &str) -> io::Result<Option<Vec<u8>>>;

    /// Whether the store has a photo of `record_no`, without reading it.
    async fn has(&self, record_no: &str) -> io::Result<bool>;
}

/// A folder holding one `RECORD_NO.jpg` per record.
#[derive(Debug, Clone)]
pub struct DirectoryStore {
    dir: PathBuf,
}

/// Why a photo was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error("违法记录编号应为1至32位字母或数字")]
    RecordNo,
    #[error("不是JPEG图片")]
    NotJpeg,
    #[error("图片超过{}MB", MAX_PHOTO_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("写入照片目录失败：{0}")]
    Io(#[from] io::Error),
}

impl DirectoryStore {
    /// The store in `dir`, which must be an existing folder.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, String> {
        let dir = dir.into();
        if !dir.is_dir() {
            return Err(format!("EVIDENCE_DIR={}: not an existing folder", dir.display()));
        }
        Ok(Self { dir })
    }

    /// The folder the photos are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The photo's path, or `None` for a number that could name something outside the folder: only the characters
    /// a record number may have (the police file's rule) are let through, so no `/`, `\`, `.` or NUL ever reaches
    /// the file system.
    fn path(&self, record_no: &str) -> Option<PathBuf> {
        is_record_no(record_no).then(|| self.dir.join(format!("{record_no}.jpg")))
    }

    /// Stores `photo` as `record_no`'s, replacing any earlier one. It is written to a temporary file in the folder
    /// and renamed into place, so a reader sees the old photo or the whole new one, never a part.
    pub fn put(&self, record_no: &str, photo: &[u8]) -> Result<(), PutError> {
        let path = self.path(record_no).ok_or(PutError::RecordNo)?;
        check_jpeg(photo)?;
        // A leading dot and the process id: never a record's name, and two importers never share a temporary file.
        let temp = self.dir.join(format!(".{record_no}.{}.tmp", std::process::id()));
        let written = (|| {
            use io::Write;
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(photo)?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        Ok(written?)
    }
}

/// Whether `text` can be a violation record number: 1 to 32 ASCII letters or digits.
pub fn is_record_no(text: &str) -> bool {
    (1..=32).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Checks that `photo` is a JPEG of a plausible size: it starts with the SOI marker and a segment marker (FF D8 FF).
pub fn check_jpeg(photo: &[u8]) -> Result<(), PutError> {
    if photo.len() as u64 > MAX_PHOTO_BYTES {
        return Err(PutError::TooLarge);
    }
    if !photo.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(PutError::NotJpeg);
    }
    Ok(())
}

#[async_trait]
impl EvidenceStore for DirectoryStore {
    async fn get(&self, record_no: &str) -> io::Result<Option<Vec<u8>>> {
        let Some(path) = self.path(record_no) else {
            return Ok(None);
        };
        let read = tokio::task::spawn_blocking(move || match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        });
        read.await.map_err(io::Error::other)?
    }

    async fn has(&self, record_no: &str) -> io::Result<bool> {
        let Some(path) = self.path(record_no) else {
            return Ok(false);
        };
        tokio::task::spawn_blocking(move || path.try_exists()).await.map_err(io::Error::other)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0xFF, 0xD9];

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dlt-evidence-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn a_stored_photo_comes_back_and_a_missing_one_is_none() {
        let store = DirectoryStore::open(folder("roundtrip")).unwrap();
        store.put("210200203001010011", JPEG).unwrap();
        assert_eq!(store.get("210200203001010011").await.unwrap().as_deref(), Some(JPEG));
        assert!(store.has("210200203001010011").await.unwrap());
        assert_eq!(store.get("210200203001010012").await.unwrap(), None);
        assert!(!store.has("210200203001010012").await.unwrap());
        let left: Vec<_> = std::fs::read_dir(store.dir()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["210200203001010011.jpg"], "no temporary file is left behind");
    }

    #[tokio::test]
    async fn record_numbers_never_leave_the_folder() {
        let root = folder("traversal");
        let inner = root.join("photos");
        std::fs::create_dir_all(&inner).unwrap();
        // A photo one level up, and a file named like a record without its extension: neither may be reached.
        std::fs::write(root.join("secret.jpg"), JPEG).unwrap();
        std::fs::write(inner.join("R1"), JPEG).unwrap();
        let store = DirectoryStore::open(&inner).unwrap();
        for number in ["../secret", "..%2Fsecret", "/etc/passwd", "..\\secret", "R1\0", "R1.", "", &"R".repeat(33)] {
            assert_eq!(store.get(number).await.unwrap(), None, "{number:?}");
            assert!(!store.has(number).await.unwrap(), "{number:?}");
            assert!(matches!(store.put(number, JPEG), Err(PutError::RecordNo)), "{number:?}");
        }
        assert_eq!(store.get("R1").await.unwrap(), None, "only RECORD_NO.jpg is a photo");
        assert_eq!(std::fs::read(root.join("secret.jpg")).unwrap(), JPEG, "untouched");
    }

    #[test]
    fn only_a_jpeg_of_a_sane_size_is_stored() {
        let store = DirectoryStore::open(folder("check")).unwrap();
        assert!(matches!(store.put("R1", b"\x89PNG\r\n\x1a\n"), Err(PutError::NotJpeg)));
        assert!(matches!(store.put("R1", &[0xFF, 0xD8]), Err(PutError::NotJpeg)));
        let huge = [JPEG, &vec![0; MAX_PHOTO_BYTES as usize]].concat();
        assert!(matches!(store.put("R1", &huge), Err(PutError::TooLarge)));
        assert!(!store.dir().join("R1.jpg").exists());
        assert!(std::fs::read_dir(store.dir()).unwrap().next().is_none(), "nothing written");
    }

    #[test]
    fn a_missing_folder_is_refused_by_name() {
        let refused = DirectoryStore::open("/nonexistent/evidence").unwrap_err();
        assert!(refused.contains("EVIDENCE_DIR=/nonexistent/evidence"), "{refused}");
    }
}
