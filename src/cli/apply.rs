use std::path::Path;

use crate::catalog::ProductChange;
use crate::contracts::{ApplyReport, apply_specs, fill_defaults, load_path, plan_specs};
use crate::error::Result;
use crate::sql::{Session, interruptible};

/// What `apply` gives contracts that leave it out.
pub(super) struct Defaults {
    /// `--domain`: the domain of contracts that name none.
    pub domain: Option<String>,
    /// `--owner`: the owner team of contracts that name none.
    pub owner: Option<String>,
}

/// `lakemeta apply PATH [--dry-run] [--domain D] [--owner TEAM]`, audited as one operation (a
/// dry run too: it reads the catalog and tells what the principal may change).
pub(super) async fn run(
    session: &Session,
    path: &Path,
    dry_run: bool,
    defaults: &Defaults,
) -> Result<()> {
    let kind = if dry_run { "apply_dry_run" } else { "apply" };
    let span = session
        .begin(kind, Some(format!("lakemeta apply {}", path.display())))
        .await?;
    let result = apply(session, path, dry_run, defaults).await;
    match &result {
        Ok(report) => {
            for c in &report.changes.products {
                let (ProductChange::Create(p)
                | ProductChange::Update { after: p, .. }
                | ProductChange::Delete(p)) = c;
                session
                    .caller()
                    .record_write(&p.qualified_name().to_string());
            }
            span.finish(None, None, None);
        }
        Err(e) => span.finish(None, None, Some(e)),
    }
    let report = result?;
    for line in report.lines() {
        println!("{line}");
    }
    if dry_run && !report.changes.is_empty() {
        println!("(dry run: nothing written)");
    }
    Ok(())
}

async fn apply(
    session: &Session,
    path: &Path,
    dry_run: bool,
    defaults: &Defaults,
) -> Result<ApplyReport> {
    let mut specs = load_path(path)?;
    fill_defaults(
        &mut specs,
        defaults.domain.as_deref(),
        defaults.owner.as_deref(),
    )?;
    let state = session.state();
    let catalog = session.catalog();
    if dry_run {
        interruptible(
            catalog,
            plan_specs(catalog, &specs, &state, session.principal()),
        )
        .await
    } else {
        interruptible(
            catalog,
            apply_specs(catalog, &specs, &state, session.principal()),
        )
        .await
    }
}
