//! Reading an import file as a stream of records: a file of any size is read through a fixed buffer, each record
//! with the physical line it starts on, and a file that is not UTF-8 CSV text is named for what it is.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};

use super::{check_header, Columns, ImportError, Kind};

/// How much of the file is looked at to tell a spreadsheet or a binary file from CSV text.
const SNIFF_BYTES: usize = 8 * 1024;

/// A data row of the file: its physical line and its fields, trimmed, in header order.
pub(super) struct Record {
    pub(super) line: usize,
    pub(super) fields: Vec<String>,
}

/// The records of one file after its header, read one at a time.
pub(super) struct RecordReader<R: Read> {
    csv: csv::Reader<Tracked<BufReader<R>>>,
    record: csv::ByteRecord,
    /// Line breaks before the bytes still tracked, i.e. the line of the next byte is `1 + breaks`.
    breaks: usize,
    pub(super) columns: Columns,
}

impl<R: Read> RecordReader<R> {
    /// Opens `input` as a file of `kind`: refuses what is not CSV text, then reads and checks the header row.
    pub(super) fn open(kind: Kind, input: R) -> Result<Self, ImportError> {
        let mut input = BufReader::with_capacity(64 * 1024, input);
        let head = input.fill_buf().map_err(unreadable)?;
        if let Some(what) = not_csv(&head[..head.len().min(SNIFF_BYTES)]) {
            return Err(ImportError::Header(what));
        }
        // Excel and Notepad put a byte-order mark in front of UTF-8 files.
        if head.starts_with(b"\xEF\xBB\xBF") {
            input.consume(3);
        }
        let csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(Tracked {
            inner: input,
            read: 0,
            line_ends: VecDeque::new(),
        });
        let mut reader = RecordReader { csv, record: csv::ByteRecord::new(), breaks: 0, columns: &[] };
        let header = reader.next()?.ok_or_else(|| ImportError::Header("文件为空，缺少表头行".into()))?;
        reader.columns = check_header(kind, &header.fields)?;
        Ok(reader)
    }

    /// The next record that is not blank, or `None` at the end of the file.
    pub(super) fn next(&mut self) -> Result<Option<Record>, ImportError> {
        loop {
            let more = self.csv.read_byte_record(&mut self.record).map_err(|e| match e.kind() {
                csv::ErrorKind::Io(_) => ImportError::Header(format!("文件读取失败：{e}")),
                _ => ImportError::Header(format!("无法按CSV格式读取：{e}")),
            })?;
            if !more {
                return Ok(None);
            }
            let offset = self.record.position().map_or(0, |p| p.byte());
            let line = self.line_of_record_at(offset);
            let mut fields = Vec::with_capacity(self.record.len());
            for field in &self.record {
                let text = std::str::from_utf8(field).map_err(|_| not_utf8(line, self.record.as_slice()))?;
                fields.push(text.trim().to_owned());
            }
            if fields.iter().all(String::is_empty) {
                continue;
            }
            return Ok(Some(Record { line, fields }));
        }
    }

    /// How many bytes of the file have been read so far (for progress).
    pub(super) fn bytes_read(&self) -> u64 {
        self.csv.get_ref().read
    }

    /// The line of the record csv reports at `offset`, which may point at the line breaks before it. (csv's own
    /// line numbers drift on blank lines and CRLF, so lines are counted from the bytes themselves.)
    fn line_of_record_at(&mut self, offset: u64) -> usize {
        let ends = &mut self.csv.get_mut().line_ends;
        let mut start = offset;
        while let Some(&(at, byte)) = ends.front() {
            if at > start {
                break;
            }
            if at == start {
                start += 1;
            }
            ends.pop_front();
            // CRLF, LF and a lone CR each end one line.
            let crlf = byte == b'\r' && ends.front().is_some_and(|&(next, b)| next == at + 1 && b == b'\n');
            if !crlf {
                self.breaks += 1;
            }
        }
        1 + self.breaks
    }
}

/// A reader that notes where each CR and LF byte passes, until the line counter has gone past it. csv reads
/// ahead through its own buffer, so only that much is ever noted.
struct Tracked<R> {
    inner: R,
    read: u64,
    line_ends: VecDeque<(u64, u8)>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\r' || b == b'\n' {
                self.line_ends.push_back((self.read + i as u64, b));
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}

fn unreadable(e: std::io::Error) -> ImportError {
    ImportError::Header(format!("文件读取失败：{e}"))
}

/// What the file is, when its first bytes show it is not CSV text.
pub(super) fn not_csv(head: &[u8]) -> Option<String> {
    const SAVE_AS: &str = "请在 Excel 中“另存为”“CSV UTF-8（逗号分隔）”后再导入";
    if head.starts_with(b"PK\x03\x04") {
        return Some(format!("文件不是CSV文件，而是 Excel 工作簿（.xlsx）或压缩包；{SAVE_AS}"));
    }
    if head.starts_with(b"\xD0\xCF\x11\xE0") {
        return Some(format!("文件不是CSV文件，而是旧版 Excel 工作簿（.xls）；{SAVE_AS}"));
    }
    if head.starts_with(b"%PDF") {
        return Some("文件不是CSV文件，而是 PDF 文档".into());
    }
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return Some(format!("文件不是 UTF-8 编码，而是 UTF-16（Excel 的“Unicode 文本”）；{SAVE_AS}"));
    }
    if head.contains(&0) {
        return Some("文件不是CSV文本文件（含有二进制内容），请确认选择了正确的文件".into());
    }
    None
}

/// The refusal of a record that is not UTF-8, naming GBK when the bytes read as GBK.
fn not_utf8(line: usize, bytes: &[u8]) -> ImportError {
    let gbk = if looks_like_gbk(bytes) { "，看起来是中文 Windows 系统常用的 GBK 编码" } else { "" };
    ImportError::Header(format!(
        "文件不是 UTF-8 编码（第{line}行起无法按 UTF-8 读取{gbk}）；请转换为 UTF-8 后再导入：用 Excel \
         另存为“CSV UTF-8（逗号分隔）”，或执行 iconv -f GBK -t UTF-8 原文件 > 新文件"
    ))
}

/// Whether every non-ASCII byte of `bytes` pairs into a GBK double-byte character.
fn looks_like_gbk(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    let mut any = false;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b < 0x80 {
            continue;
        }
        match rest.split_first() {
            Some((&trail, tail)) if (0x81..=0xFE).contains(&b) && (0x40..=0xFE).contains(&trail) && trail != 0x7F => {
                rest = tail;
                any = true;
            }
            _ => return false,
        }
    }
    any
}
