use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::Result;

/// The result of one statement: rows, and for statements that change things a message.
#[derive(Debug, Clone)]
pub struct Output {
    /// The schema of the rows.
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
    /// What a statement that changes things did, e.g. `CREATE DOMAIN orders`.
    pub message: Option<String>,
    /// Checks that failed or errored (RUN CHECKS); a command-line run exits with 1 when any
    /// did.
    pub failed_checks: usize,
    /// Checks that were run (RUN CHECKS).
    pub checks: usize,
    /// Rows a statement wrote (INSERT INTO), for clients that ask for an update count.
    pub rows_written: Option<u64>,
}

impl Output {
    /// Rows without a message.
    pub fn rows(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        Self {
            schema,
            batches,
            message: None,
            failed_checks: 0,
            checks: 0,
            rows_written: None,
        }
    }

    /// Rows it returned, or wrote when it wrote rows (for the audit log).
    pub fn audited_rows(&self) -> u64 {
        self.rows_written.unwrap_or(self.row_count() as u64)
    }

    /// Bytes of the rows it returned (Arrow memory).
    pub fn byte_count(&self) -> u64 {
        self.batches
            .iter()
            .map(|b| b.get_array_memory_size() as u64)
            .sum()
    }

    /// A message without rows.
    pub fn message(msg: impl Into<String>) -> Self {
        Self {
            schema: Arc::new(Schema::empty()),
            batches: Vec::new(),
            message: Some(msg.into()),
            failed_checks: 0,
            checks: 0,
            rows_written: None,
        }
    }

    /// A two-column `property | value` table.
    pub fn properties(rows: Vec<(String, String)>) -> Result<Self> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("property", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, false),
        ]));
        let (k, v): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from(k)),
                Arc::new(StringArray::from(v)),
            ],
        )?;
        Ok(Self::rows(schema, vec![batch]))
    }

    /// The number of rows.
    pub fn row_count(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}
