//! The async runtime every command runs on, with threads whose stacks hold the deepest
//! statement lakemeta accepts.

use std::future::Future;

/// The stack of every thread lakemeta plans and runs statements on. The query engine walks a
/// statement's expression tree recursively; a statement as deep as
/// [`MAX_STATEMENT_DEPTH`](crate::model::MAX_STATEMENT_DEPTH) needs several MiB in an
/// unoptimised build (the default 2 MiB of a thread holds a few hundred levels), and the
/// memory is only reserved, not used, until a statement goes that deep.
pub const THREAD_STACK_BYTES: usize = 16 << 20;

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
