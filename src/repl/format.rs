use std::io::Write;
use std::str::FromStr;

use arrow::csv::WriterBuilder;
use arrow::json::{ArrayWriter, LineDelimitedWriter};
use arrow::util::pretty::pretty_format_batches;

use crate::error::{Error, Result};
use crate::sql::Output;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PrintFormat {
    /// An aligned table with a row count.
    #[default]
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl FromStr for PrintFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "table" => Ok(Self::Table),
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            "ndjson" => Ok(Self::Ndjson),
            other => Err(Error::invalid(format!(
                "unknown format '{other}': use table, csv, json or ndjson"
            ))),
        }
    }
}

/// A writer that remembers the last I/O error it passed on: the CSV writer reports one as text
/// only, and a closed pipe (`lakemeta … | head`) must still be told apart from a real failure.
struct Watched<'a> {
    inner: &'a mut dyn Write,
    failed: Option<std::io::ErrorKind>,
}

impl Write for Watched<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner
            .write(buf)
            .inspect_err(|e| self.failed = Some(e.kind()))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner
            .flush()
            .inspect_err(|e| self.failed = Some(e.kind()))
    }
}

impl PrintFormat {
    /// Writes one statement's output. A failure to write is [`Error::Io`], whichever format
    /// met it.
    pub fn print(self, out: &Output, w: &mut dyn Write) -> Result<()> {
        let mut watched = Watched {
            inner: w,
            failed: None,
        };
        self.print_to(out, &mut watched)
            .map_err(|e| match watched.failed {
                Some(kind) if !matches!(e, Error::Io { .. }) => Error::Io {
                    path: "<stdout>".into(),
                    source: std::io::Error::new(kind, e.to_string()),
                },
                _ => e,
            })
    }

    fn print_to(self, out: &Output, w: &mut dyn Write) -> Result<()> {
        let io = |e: std::io::Error| Error::Io {
            path: "<stdout>".into(),
            source: e,
        };
        if let Some(m) = &out.message {
            if out.batches.is_empty() {
                writeln!(w, "{m}").map_err(io)?;
                return Ok(());
            }
            // rows follow: a machine-readable format keeps its stream clean
            if self == PrintFormat::Table {
                writeln!(w, "{m}").map_err(io)?;
            } else {
                eprintln!("{m}");
            }
        }
        let batches: Vec<_> = out.batches.iter().filter(|b| b.num_rows() > 0).collect();
        match self {
            PrintFormat::Table => {
                if out.schema.fields().is_empty() {
                    return Ok(());
                }
                let owned: Vec<_> = if batches.is_empty() {
                    vec![arrow::array::RecordBatch::new_empty(out.schema.clone())]
                } else {
                    batches.into_iter().cloned().collect()
                };
                let table = pretty_format_batches(&owned)?;
                let n = out.row_count();
                writeln!(w, "{table}").map_err(io)?;
                writeln!(w, "({n} row{})", if n == 1 { "" } else { "s" }).map_err(io)?;
            }
            PrintFormat::Csv => {
                let mut writer = WriterBuilder::new().with_header(true).build(&mut *w);
                if batches.is_empty() && !out.schema.fields().is_empty() {
                    writer.write(&arrow::array::RecordBatch::new_empty(out.schema.clone()))?;
                }
                for b in batches {
                    writer.write(b)?;
                }
            }
            PrintFormat::Json => {
                let mut writer = ArrayWriter::new(&mut *w);
                for b in &batches {
                    writer.write(b)?;
                }
                writer.finish()?;
                if batches.is_empty() {
                    write!(w, "[]").map_err(io)?;
                }
                writeln!(w).map_err(io)?;
            }
            PrintFormat::Ndjson => {
                let mut writer = LineDelimitedWriter::new(&mut *w);
                for b in batches {
                    writer.write(b)?;
                }
                writer.finish()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    /// A reader that went away: every write fails as a closed pipe does.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn a_closed_pipe_is_an_io_error_in_every_format() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Int64Array::from_iter_values(0..10_000))],
        )
        .unwrap();
        let out = Output::rows(schema, vec![batch]);
        for format in [
            PrintFormat::Table,
            PrintFormat::Csv,
            PrintFormat::Json,
            PrintFormat::Ndjson,
        ] {
            let err = format.print(&out, &mut Closed).unwrap_err();
            assert!(crate::repl::is_broken_pipe(&err), "{format:?}: {err:?}");
        }
    }
}
