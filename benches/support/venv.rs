//! The Python venv of the peers (DuckDB, the ADBC client), shared by the benches: created on
//! first use by the tests' script, with pinned versions.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's bin directory.
pub fn python_tools() -> PathBuf {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/python-tools.sh");
    let out = Command::new("bash")
        .arg(script)
        .output()
        .expect("python-tools.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Runs `benches/support/<script>` with the venv's Python and reads the JSON it prints.
pub fn python_json(tools: &Path, script: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(tools.join("python"))
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("benches/support")
                .join(script),
        )
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
