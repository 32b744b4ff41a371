//! The vendors' own SDKs as independent oracles: a test hands inputs to a short Python script that calls the SDK
//! from the virtual environment `scripts/oracles.sh` installs, and compares its answer with ours. The SDK's code is
//! never committed; only the few lines calling it live in the test.

use std::io::Write;
use std::process::{Command, Stdio};

/// The oracle venv's python from `ORACLE_PYTHON` (set by `scripts/test.sh`). Unset, a local run skips the
/// cross-check with a note; under CI that is a failure, so the cross-check cannot silently stop running.
pub fn python() -> Option<String> {
    match std::env::var("ORACLE_PYTHON") {
        Ok(path) if !path.is_empty() => Some(path),
        _ => {
            let ci = std::env::var("CI").map(|v| !v.is_empty() && v != "false").unwrap_or(false);
            assert!(!ci, "ORACLE_PYTHON is not set: under CI the SDK cross-checks must run (scripts/oracles.sh)");
            eprintln!("ORACLE_PYTHON is not set: skipping the SDK cross-check (run `bash scripts/oracles.sh`)");
            None
        }
    }
}

/// Runs `script` with `python`, the JSON `input` on its stdin, and parses the JSON it prints.
pub fn run(python: &str, script: &str, input: &serde_json::Value) -> serde_json::Value {
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the oracle python");
    child.stdin.take().expect("stdin").write_all(input.to_string().as_bytes()).expect("write oracle input");
    let out = child.wait_with_output().expect("oracle python ran");
    assert!(out.status.success(), "oracle script failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("oracle printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}
