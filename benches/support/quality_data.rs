//! The generated orders table of the quality and masking benchmarks: `rows` rows as Parquet
//! files and as a Delta table, made once by `quality_data.py` under target/bench-data.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory holding `parquet/` and `delta/` of `rows` rows, generated on first use.
pub fn data(tools: &Path, rows: usize) -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-data"))
        .join(format!("quality-{rows}"));
    let stamp = dir.join(".complete");
    if !stamp.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        println!("generating {rows} rows (once) in {} …", dir.display());
        let status = Command::new(tools.join("python"))
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/benches/support/quality_data.py"
            ))
            .arg(&dir)
            .arg(rows.to_string())
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::write(&stamp, "").unwrap();
    }
    dir
}
