use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use lakemeta::cli::{Cli, Command};

/// mimalloc instead of the system allocator: loading a large catalog allocates millions of
/// small strings, which glibc's allocator serves (and frees at exit) markedly slower.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // before the heap grows; a kernel without the setting (before 3.15) just keeps huge pages
    let huge_pages = lakemeta::cli::runtime::without_huge_pages();
    let cli = Cli::parse();
    // the server traces each call by default; the other commands only warnings
    let default = match cli.command {
        Command::Serve(_) => "off,lakemeta=info",
        _ => "off,lakemeta=warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAKEMETA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    if let Err(e) = huge_pages {
        tracing::debug!("transparent huge pages stay on for this process: {e}");
    }
    match lakemeta::cli::runtime::block_on(move || cli.run()) {
        Ok(Ok(exit)) => ExitCode::from(exit.code()),
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            ExitCode::from(2)
        }
    }
}
