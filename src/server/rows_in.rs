//! Rows a client sends with `DoPut` (bulk ingest, a prepared statement's parameters), decoded
//! from Arrow IPC. Arrow's IPC reader trusts the types and lengths a message states and panics
//! on some that lie (a field type it does not know, a validity bitmap shorter than the rows it
//! is said to cover); a client's bytes must never take a server task down, so a panic while
//! decoding them is caught and answered as the client's error. The lies found first
//! ([`super::malformed::check_rows`]) get a precise message.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::error::FlightError;
use datafusion::common::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::stream::CatchUnwind;
use futures::{StreamExt, TryStreamExt};
use tonic::Status;

use crate::error::Error;

use super::service::PutMessages;

/// The record batches of a `DoPut` stream, decoded one at a time.
pub struct ClientRows {
    batches: CatchUnwind<AssertUnwindSafe<FlightRecordBatchStream>>,
    /// What the rows are, for errors: "rows", "parameters".
    what: &'static str,
}

impl ClientRows {
    /// Decodes `messages` (their first one, the command's, included: it may carry the schema).
    pub fn new(messages: PutMessages, what: &'static str) -> Self {
        let decoded =
            FlightRecordBatchStream::new_from_flight_data(messages.map_err(FlightError::from));
        ClientRows {
            batches: AssertUnwindSafe(decoded).catch_unwind(),
            what,
        }
    }

    /// The next batch; an error (`invalid_argument`) when the data does not decode.
    pub async fn next(&mut self) -> Option<Result<RecordBatch, Status>> {
        let what = self.what;
        match self.batches.next().await? {
            Ok(Ok(batch)) => Some(Ok(batch)),
            Ok(Err(e)) => Some(Err(Status::invalid_argument(format!(
                "reading the {what}: {e}"
            )))),
            Err(_) => {
                tracing::warn!(what, "Arrow's reader failed on the data a client sent");
                Some(Err(Status::invalid_argument(format!(
                    "reading the {what}: the Arrow IPC data is inconsistent (a type, length or \
                     buffer does not match the others); send it as an Arrow library encodes it"
                ))))
            }
        }
    }

    /// Every batch, or the first error.
    pub async fn collect(mut self) -> Result<Vec<RecordBatch>, Status> {
        let mut batches = Vec::new();
        while let Some(batch) = self.next().await {
            batches.push(batch?);
        }
        Ok(batches)
    }

    /// The rows as a stream a statement reads as they arrive: the first batch is read here,
    /// for the schema; a later error in the client's data ends the stream as an invalid input.
    pub async fn into_stream(mut self) -> Result<SendableRecordBatchStream, Status> {
        let first = match self.next().await {
            Some(batch) => Some(batch?),
            None => None,
        };
        let schema = self
            .schema()
            .cloned()
            .or_else(|| first.as_ref().map(|b| b.schema()))
            .ok_or_else(|| Status::invalid_argument("the ingest stream has no schema"))?;
        if let Some(batch) = &first {
            valid(batch, &schema)?;
        }
        let announced = Arc::clone(&schema);
        let rest = futures::stream::unfold(self, move |mut rows| {
            let announced = Arc::clone(&announced);
            async move {
                let next = rows
                    .next()
                    .await?
                    .and_then(|batch| valid(&batch, &announced).map(|()| batch))
                    .map_err(|s| {
                        DataFusionError::External(Box::new(Error::invalid(s.message().to_string())))
                    });
                Some((next, rows))
            }
        });
        let batches = futures::stream::iter(first.map(Ok)).chain(rest);
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
    }

    /// The schema the stream announced, once it has been read.
    pub fn schema(&self) -> Option<&SchemaRef> {
        self.batches.get_ref().0.schema()
    }
}

/// Fails unless `batch` holds what `schema` announced: its columns, and no NULL where a column
/// was said to have none (Arrow's decoder takes a message's word for both).
fn valid(batch: &RecordBatch, schema: &SchemaRef) -> Result<(), Status> {
    if batch.num_columns() != schema.fields().len() {
        return Err(Status::invalid_argument(format!(
            "reading the rows: a batch has {} columns, and the stream's schema {}: send every \
             batch with the schema's columns",
            batch.num_columns(),
            schema.fields().len()
        )));
    }
    for (column, field) in batch.columns().iter().zip(schema.fields()) {
        if column.data_type() != field.data_type() {
            return Err(Status::invalid_argument(format!(
                "reading the rows: column '{}' holds {} where the stream's schema says {}: \
                 send every batch with the schema's types",
                field.name(),
                column.data_type(),
                field.data_type()
            )));
        }
        if !field.is_nullable() && column.null_count() > 0 {
            return Err(Status::invalid_argument(format!(
                "reading the rows: column '{}' is NOT NULL in the stream's schema, but a batch \
                 holds {} NULLs: send a schema that says the column may be NULL, or values",
                field.name(),
                column.null_count()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn a_batch_unlike_its_announced_schema_is_the_clients_error() {
        let announced = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let ids = Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef;
        let with_null = RecordBatch::try_from_iter([("id", ids)]).unwrap();
        let e = valid(&with_null, &announced).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains("'id' is NOT NULL"), "{e:?}");
        let text = Arc::new(StringArray::from(vec!["x"])) as ArrayRef;
        let e = valid(
            &RecordBatch::try_from_iter([("id", text)]).unwrap(),
            &announced,
        )
        .unwrap_err();
        assert!(e.message().contains("holds Utf8"), "{e:?}");
        let ids = Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef;
        assert!(
            valid(
                &RecordBatch::try_from_iter([("id", ids)]).unwrap(),
                &announced
            )
            .is_ok()
        );
    }
}
