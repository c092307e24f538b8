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

impl PrintFormat {
    /// Writes one statement's output.
    pub fn print(self, out: &Output, w: &mut dyn Write) -> Result<()> {
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
