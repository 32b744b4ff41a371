//! The progress line a long import prints now and then, e.g.
//! `violations.csv: 写入 1,200,000 / 5,000,000 行 (24%), 41,000 行/秒, 约 93 秒`.

use std::time::{Duration, Instant};

use super::Event;

/// How often a progress line is printed at most.
pub const EVERY: Duration = Duration::from_secs(3);

/// Turns the import's events into a progress line every [`EVERY`], timing each pass from its first event.
pub struct Progress {
    name: String,
    pass_started: Instant,
    writing: bool,
    /// When the last event came: the first write event times its pass from the check's last one.
    last_event: Instant,
    last: Instant,
}

impl Progress {
    /// Progress of the file shown as `name`.
    pub fn new(name: &str) -> Self {
        let now = Instant::now();
        Progress { name: name.to_owned(), pass_started: now, writing: false, last_event: now, last: now }
    }

    /// The line to print for `event`, when one is due.
    pub fn line(&mut self, event: &Event<'_>) -> Option<String> {
        let now = Instant::now();
        if matches!(event, Event::Written { .. }) && !self.writing {
            self.writing = true;
            self.pass_started = self.last_event;
        }
        self.last_event = now;
        if now.duration_since(self.last) < EVERY {
            return None;
        }
        self.last = now;
        Some(line(&self.name, event, now.duration_since(self.pass_started)))
    }
}

/// The progress line of `event`, `elapsed` into its pass.
pub fn line(name: &str, event: &Event<'_>, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(0.001);
    match *event {
        Event::Checked { rows, bytes, total_bytes } => {
            let share = if total_bytes == 0 { 1.0 } else { bytes as f64 / total_bytes as f64 };
            let left = if share > 0.0 { seconds * (1.0 - share) / share } else { 0.0 };
            format!(
                "{name}: 校验 {} 行 ({:.0}%), {} 行/秒, 约 {:.0} 秒",
                grouped(rows as u64),
                share * 100.0,
                grouped((rows as f64 / seconds) as u64),
                left
            )
        }
        Event::Written { rows, total } => {
            let rate = rows as f64 / seconds;
            let left = if rate > 0.0 { total.saturating_sub(rows) as f64 / rate } else { 0.0 };
            format!(
                "{name}: 写入 {} / {} 行 ({:.0}%), {} 行/秒, 约 {left:.0} 秒",
                grouped(rows as u64),
                grouped(total as u64),
                if total == 0 { 100.0 } else { rows as f64 * 100.0 / total as f64 },
                grouped(rate as u64),
            )
        }
        Event::Contradiction(row) => format!("{name}: {row}"),
    }
}

/// `1234567` as `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_shows_rows_a_second_and_what_is_left() {
        let written = Event::Written { rows: 1_200_000, total: 5_000_000 };
        assert_eq!(
            line("violations.csv", &written, Duration::from_secs(30)),
            "violations.csv: 写入 1,200,000 / 5,000,000 行 (24%), 40,000 行/秒, 约 95 秒"
        );
        let checked = Event::Checked { rows: 500_000, bytes: 25, total_bytes: 100 };
        assert_eq!(
            line("v.csv", &checked, Duration::from_secs(5)),
            "v.csv: 校验 500,000 行 (25%), 100,000 行/秒, 约 15 秒"
        );
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
    }
}
