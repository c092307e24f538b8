use std::process::ExitCode;

use clap::Parser;
use lakemeta::cli::Cli;

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAKEMETA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off,lakemeta=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
