//! What a command-line user expects around the commands themselves: shell completion scripts
//! and man pages, both generated from the clap definitions so that they never drift from the
//! real flags.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::{Cli, Exit};
use crate::error::{Error, Result};

/// Arguments of `lakemeta man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// The page of one subcommand (e.g. `apply` for lakemeta-apply(1)); default: lakemeta(1).
    #[arg(value_name = "SUBCOMMAND", conflicts_with = "dir")]
    pub subcommand: Option<String>,
    /// Write every page — lakemeta.1 and one per subcommand, such as lakemeta-apply.1 — into
    /// this directory (for a MANPATH) instead of printing one.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Prints the completion script of `shell` for lakemeta.
pub fn completions(shell: clap_complete::Shell) -> Result<Exit> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "lakemeta", &mut out);
    to_stdout(&out)
}

/// Prints a man page, or writes them all into a directory.
pub fn man(args: ManArgs) -> Result<Exit> {
    // built, every subcommand knows its full name (`lakemeta apply`) and its page's name
    // (`lakemeta-apply`)
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    if let Some(dir) = args.dir {
        return write_pages(&cmd, &dir);
    }
    let page = match args.subcommand {
        None => &cmd,
        Some(name) => subcommand(&cmd, &name)?,
    };
    let mut out = Vec::new();
    render(page, &mut out).map_err(|source| Error::Io {
        path: "<man page>".into(),
        source,
    })?;
    to_stdout(&out)
}

/// Renders the page of `cmd` (of a built command tree).
fn render(cmd: &clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(cmd.clone())
        .source(format!("lakemeta {}", env!("CARGO_PKG_VERSION")))
        .manual("lakemeta manual")
        .render(out)
}

/// The file name of `cmd`'s page: `lakemeta.1`, `lakemeta-apply.1`.
fn page_name(cmd: &clap::Command) -> String {
    format!(
        "{}.1",
        cmd.get_display_name().unwrap_or_else(|| cmd.get_name())
    )
}

/// The subcommand `name` of the built command.
fn subcommand<'a>(cmd: &'a clap::Command, name: &str) -> Result<&'a clap::Command> {
    match cmd.find_subcommand(name) {
        Some(sub) if !sub.is_hide_set() => Ok(sub),
        _ => {
            let names: Vec<&str> = visible(cmd).map(|s| s.get_name()).collect();
            Err(Error::invalid(format!(
                "lakemeta has no subcommand '{name}'; the man pages are of: {}",
                names.join(", ")
            )))
        }
    }
}

/// Writes lakemeta.1 and one page per subcommand (nested ones too, such as
/// lakemeta-contract-lint.1) into `dir`, created if missing, and prints the files written.
fn write_pages(cmd: &clap::Command, dir: &Path) -> Result<Exit> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut pages = Vec::new();
    collect(cmd, &mut pages);
    let mut written = Vec::new();
    for page in pages {
        let file = dir.join(page_name(page));
        let mut text = Vec::new();
        render(page, &mut text).map_err(io(&file))?;
        std::fs::write(&file, text).map_err(io(&file))?;
        written.push(page_name(page));
    }
    println!("{}", written.join("\n"));
    Ok(Exit::Success)
}

/// `cmd` and every visible command below it.
fn collect<'a>(cmd: &'a clap::Command, out: &mut Vec<&'a clap::Command>) {
    out.push(cmd);
    for sub in visible(cmd) {
        collect(sub, out);
    }
}

/// The subcommands a user sees (not hidden ones).
fn visible(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands().filter(|s| !s.is_hide_set())
}

/// Writes generated text to stdout; a reader that went away (`| head`) is not an error.
fn to_stdout(bytes: &[u8]) -> Result<Exit> {
    let written = std::io::stdout()
        .lock()
        .write_all(bytes)
        .map_err(|source| Error::Io {
            path: "<stdout>".into(),
            source,
        });
    match written {
        Err(e) if crate::repl::is_broken_pipe(&e) => Ok(Exit::Success),
        Err(e) => Err(e),
        Ok(()) => Ok(Exit::Success),
    }
}
