use std::path::Path;

use crate::contracts::{apply_specs, load_path, plan_specs};
use crate::error::Result;
use crate::sql::Session;

/// `lakemeta apply PATH [--dry-run]`.
pub(super) async fn run(session: &Session, path: &Path, dry_run: bool) -> Result<bool> {
    let specs = load_path(path)?;
    let state = session.state();
    let report = if dry_run {
        plan_specs(session.catalog(), &specs, &state).await?
    } else {
        apply_specs(session.catalog(), &specs, &state, session.principal()).await?
    };
    for line in report.lines() {
        println!("{line}");
    }
    if dry_run && !report.changes.is_empty() {
        println!("(dry run: nothing written)");
    }
    Ok(true)
}
