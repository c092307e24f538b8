use std::future::Future;

use crate::catalog::Catalog;
use crate::error::{Error, Result};

/// Runs `work` until it ends or Ctrl-C arrives. On Ctrl-C a statement that has not begun to
/// write is dropped (queries stop, nothing is written); one that is writing — creating tables,
/// committing — is let finish, so an interrupt never leaves a change half done.
pub async fn interruptible<T>(
    catalog: &Catalog,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::pin!(work);
    tokio::select! {
        r = &mut work => r,
        _ = tokio::signal::ctrl_c() => {
            if catalog.is_writing() {
                eprintln!("Ctrl-C: letting the write in progress finish so nothing is left half done");
                work.await
            } else {
                Err(Error::Cancelled("interrupted by Ctrl-C; nothing was written".into()))
            }
        }
    }
}
