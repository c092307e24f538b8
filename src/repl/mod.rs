//! The interactive SQL REPL and the script runner behind `lakemeta sql`.

mod commands;
mod format;
mod helper;

use std::io::{BufRead, IsTerminal, Write};
use std::time::Instant;

pub use commands::{Command, HELP};
pub use format::PrintFormat;
use helper::LakeHelper;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;

use crate::error::{Error, Result};
use crate::sql::{Session, interruptible, parse_sql};

/// The REPL's settings.
#[derive(Debug, Clone)]
pub struct ReplOptions {
    /// Output format.
    pub format: PrintFormat,
    /// Where the history is kept (`None`: no history file).
    pub history: Option<std::path::PathBuf>,
}

struct State {
    format: PrintFormat,
    timing: bool,
    buffer: String,
    failed: bool,
}

/// Runs statements and backslash commands from standard input: interactively (line editing,
/// history, completion) on a terminal, else line by line until the input ends, as psql does.
/// Returns false when any statement failed.
pub async fn run(session: &Session, options: ReplOptions) -> Result<bool> {
    let mut st = State {
        format: options.format,
        timing: false,
        buffer: String::new(),
        failed: false,
    };
    if !std::io::stdin().is_terminal() {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let line = line.map_err(|e| Error::Io {
                path: "<stdin>".into(),
                source: e,
            })?;
            if !handle_line(session, &mut st, &line).await? {
                return Ok(!st.failed);
            }
        }
        if !st.buffer.trim().is_empty() {
            let pending = std::mem::take(&mut st.buffer);
            execute(session, &mut st, &pending).await;
        }
        return Ok(!st.failed);
    }
    let mut rl: rustyline::Editor<LakeHelper, DefaultHistory> =
        rustyline::Editor::new().map_err(|e| Error::invalid(format!("terminal: {e}")))?;
    rl.set_helper(Some(LakeHelper::new(session)));
    if let Some(h) = &options.history {
        let _ = rl.load_history(h);
    }
    println!(
        "lakemeta {} on {} as {} — \\? for help, \\q to quit",
        env!("CARGO_PKG_VERSION"),
        session.warehouse().location().display,
        session.principal().name
    );
    loop {
        let prompt = if st.buffer.is_empty() {
            "lakemeta> "
        } else {
            "      -> "
        };
        match rl.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = rl.add_history_entry(line.as_str());
                }
                if !handle_line(session, &mut st, &line).await? {
                    break;
                }
                if let Some(h) = rl.helper_mut() {
                    h.refresh(session);
                }
            }
            Err(ReadlineError::Interrupted) => {
                st.buffer.clear();
                println!("^C");
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Error::invalid(format!("terminal: {e}"))),
        }
    }
    if let Some(h) = &options.history {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = rl.save_history(h);
    }
    Ok(!st.failed)
}

/// Handles one input line. Returns false to quit.
async fn handle_line(session: &Session, st: &mut State, line: &str) -> Result<bool> {
    let trimmed = line.trim();
    if st.buffer.trim().is_empty() && trimmed.starts_with('\\') {
        match trimmed.parse::<Command>() {
            Ok(Command::Quit) => return Ok(false),
            Ok(Command::Help) => println!("{HELP}"),
            Ok(Command::Timing) => {
                st.timing = !st.timing;
                println!("timing is {}", if st.timing { "on" } else { "off" });
            }
            Ok(Command::Format(f)) => {
                st.format = f;
                println!("output format is {f:?}");
            }
            Ok(cmd) => {
                if let Some(sql) = cmd.to_sql() {
                    execute(session, st, &sql).await;
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                st.failed = true;
            }
        }
        return Ok(true);
    }
    st.buffer.push_str(line);
    st.buffer.push('\n');
    if ends_statement(&st.buffer) {
        let sql = std::mem::take(&mut st.buffer);
        execute(session, st, &sql).await;
    }
    Ok(true)
}

/// True when the text ends with `;` outside quotes and comments: the statement parser's own
/// tokenizer reads it, so a `;` in a string, a quoted name, a `--` or `/* */` comment or a
/// dollar-quoted body does not end it, and text whose quote or comment is still open does not.
fn ends_statement(text: &str) -> bool {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, text).tokenize() else {
        return false; // an open quote or comment: more is coming
    };
    tokens
        .iter()
        .rev()
        .find(|t| !matches!(t, Token::Whitespace(_) | Token::EOF))
        .is_some_and(|t| *t == Token::SemiColon)
}

/// Runs the statements of `sql`, printing each result; Ctrl-C cancels. Errors are printed and
/// remembered.
async fn execute(session: &Session, st: &mut State, sql: &str) {
    let stmts = match parse_sql(sql) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            st.failed = true;
            return;
        }
    };
    for stmt in stmts {
        let start = Instant::now();
        let result = interruptible(session.catalog(), session.run(stmt)).await;
        match result {
            Ok(out) => {
                let stdout = std::io::stdout();
                let mut lock = stdout.lock();
                if let Err(e) = st.format.print(&out, &mut lock)
                    && !is_broken_pipe(&e)
                {
                    eprintln!("error: {e}");
                    st.failed = true;
                }
                let _ = lock.flush();
            }
            Err(e) => {
                eprintln!("error: {e}");
                st.failed = true;
                return;
            }
        }
        if st.timing {
            println!("Time: {:.3} ms", start.elapsed().as_secs_f64() * 1000.0);
        }
    }
}

/// True when an output error only means the reader went away (`lakemeta … | head`): a normal end.
pub fn is_broken_pipe(e: &Error) -> bool {
    match e {
        Error::Io { source, .. } => source.kind() == std::io::ErrorKind::BrokenPipe,
        Error::Arrow(arrow::error::ArrowError::IoError(_, source)) => {
            source.kind() == std::io::ErrorKind::BrokenPipe
        }
        _ => false,
    }
}

/// Runs a script (`-c` or `-f`) and prints its results. Statements run in order; the first
/// error stops the script. Returns the number of checks that failed or errored (`RUN
/// CHECKS`).
pub async fn run_script(session: &Session, sql: &str, format: PrintFormat) -> Result<usize> {
    let mut failed_checks = 0;
    for stmt in parse_sql(sql)? {
        let out = interruptible(session.catalog(), session.run(stmt)).await?;
        failed_checks += out.failed_checks;
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        match format.print(&out, &mut lock) {
            Err(e) if is_broken_pipe(&e) => return Ok(failed_checks),
            other => other?,
        }
    }
    Ok(failed_checks)
}

#[cfg(test)]
mod tests {
    use super::ends_statement;

    #[test]
    fn statement_end() {
        assert!(ends_statement("select 1;"));
        assert!(!ends_statement("select ';"));
        assert!(!ends_statement("select 1 -- ;"));
        assert!(ends_statement("select\n 1;\n"));
        assert!(!ends_statement("select 1"));
        assert!(ends_statement("select 1; -- done\n"));
        assert!(!ends_statement("select 1 /* ; */"));
        assert!(!ends_statement("select 1 /* ;"));
        assert!(ends_statement("select 1 /* a */;"));
        assert!(!ends_statement("select 'it''s;"));
        assert!(ends_statement("select 'it''s;';"));
        assert!(!ends_statement("select \"a;b"));
        assert!(ends_statement("select \"a;b\" from t;"));
        assert!(!ends_statement("select $$ ; "));
        assert!(ends_statement("select $$ ; $$;"));
    }
}
