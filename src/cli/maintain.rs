use clap::Args;

use super::Exit;
use crate::error::Result;
use crate::repl::PrintFormat;
use crate::sql::{Session, interruptible};

/// Arguments of `lakemeta maintain`.
#[derive(Debug, Args)]
pub struct MaintainArgs {
    /// Products to maintain (domain.product); none: every managed product you may maintain
    /// and, for a platform admin, the system tables.
    pub products: Vec<String>,
    /// Maintain every managed product of this domain.
    #[arg(long, conflicts_with = "products")]
    pub domain: Option<String>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = PrintFormat::Table)]
    pub format: PrintFormat,
}

/// `lakemeta maintain`: `MAINTAIN` from the command line, a line on stderr as each table is
/// done. Exit code 2 when a table could not be maintained (the others are).
pub(super) async fn run(session: &Session, args: MaintainArgs) -> Result<Exit> {
    let target = super::check::target(args.domain.as_deref(), &args.products)?;
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let progress = |row: &crate::sql::MaintainedTable| match &row.error {
        None => eprintln!(
            "{}: {} files compacted into {}, {} deleted ({:.1} s)",
            row.table,
            row.optimized.files_removed,
            row.optimized.files_added,
            row.vacuumed.files.len(),
            row.seconds
        ),
        Some(e) => {
            failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            eprintln!("{}: failed: {e}", row.table);
        }
    };
    let out = interruptible(session.catalog(), session.maintain(&target, &progress)).await?;
    super::print(args.format, &out)?;
    Ok(if failed.load(std::sync::atomic::Ordering::Relaxed) > 0 {
        Exit::Failed
    } else {
        Exit::Success
    })
}
