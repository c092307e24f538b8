use std::path::Path;

use crate::contracts::{apply_specs, load_path, plan_specs};
use crate::error::Result;
use crate::sql::{Session, interruptible};

/// `lakemeta apply PATH [--dry-run]`.
pub(super) async fn run(session: &Session, path: &Path, dry_run: bool) -> Result<()> {
    let specs = load_path(path)?;
    let state = session.state();
    let catalog = session.catalog();
    let report = if dry_run {
        interruptible(
            catalog,
            plan_specs(catalog, &specs, &state, session.principal()),
        )
        .await?
    } else {
        interruptible(
            catalog,
            apply_specs(catalog, &specs, &state, session.principal()),
        )
        .await?
    };
    for line in report.lines() {
        println!("{line}");
    }
    if dry_run && !report.changes.is_empty() {
        println!("(dry run: nothing written)");
    }
    Ok(())
}
