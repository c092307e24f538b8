//! The async runtime every command runs on, with threads whose stacks hold the deepest
//! statement lakemeta accepts.

use std::future::Future;

/// The stack of every thread lakemeta plans and runs statements on. The query engine walks a
/// statement's expression tree recursively; a statement as deep as
/// [`MAX_STATEMENT_DEPTH`](crate::model::MAX_STATEMENT_DEPTH) needs several MiB in an
/// unoptimised build (the default 2 MiB of a thread holds a few hundred levels), and the
/// memory is only reserved, not used, until a statement goes that deep.
pub const THREAD_STACK_BYTES: usize = 16 << 20;

/// Asks the kernel not to back this process's memory with transparent huge pages (Linux;
/// elsewhere a no-op). The allocator grows its heap in 2 MiB-aligned regions, and where the
/// system grants huge pages on request or always, a first touch of any byte of such a region
/// makes the kernel zero a whole 2 MiB page: a new process loading a catalog faulted in about
/// twice the memory it used, and on a virtual machine whose host had reclaimed the guest's free
/// memory that zeroing cost more than the statement (see the cold figures in the README). Call
/// it first thing in `main`; the setting holds for the whole process and the processes it starts.
pub fn without_huge_pages() -> std::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    rustix::thread::disable_transparent_huge_pages(true)?;
    Ok(())
}

/// A multi-threaded runtime whose workers and blocking threads have
/// [`THREAD_STACK_BYTES`] of stack.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()
}

/// Runs the future `start` makes to completion on a new [`runtime`], driven from a thread of
/// the same stack size: the future runs on that thread, so the process's main thread, whose
/// stack the system sets, plans nothing.
pub fn block_on<F, Fut>(start: F) -> std::io::Result<Fut::Output>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future,
    Fut::Output: Send + 'static,
{
    std::thread::Builder::new()
        .name("lakemeta-main".into())
        .stack_size(THREAD_STACK_BYTES)
        .spawn(move || runtime().map(|rt| rt.block_on(start())))?
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn the_process_runs_without_transparent_huge_pages() {
        super::without_huge_pages().unwrap();
        // the kernel's own answers: the flag, and the process's status where it reports it
        assert!(rustix::thread::transparent_huge_pages_are_disabled().unwrap());
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        if let Some(line) = status.lines().find(|l| l.starts_with("THP_enabled:")) {
            assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
        }
    }
}
