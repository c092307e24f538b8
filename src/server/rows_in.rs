//! Rows a client sends with `DoPut` (bulk ingest, a prepared statement's parameters), decoded
//! from Arrow IPC. Arrow's IPC reader trusts the types and lengths a message states and panics
//! on some that lie (a field type it does not know, a validity bitmap shorter than the rows it
//! is said to cover); a client's bytes must never take a server task down, so a panic while
//! decoding them is caught and answered as the client's error. The lies found first
//! ([`super::malformed::check_rows`]) get a precise message.

use std::panic::AssertUnwindSafe;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::error::FlightError;
use futures::stream::CatchUnwind;
use futures::{StreamExt, TryStreamExt};
use tonic::Status;

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

    /// The schema the stream announced, once it has been read.
    pub fn schema(&self) -> Option<&SchemaRef> {
        self.batches.get_ref().0.schema()
    }
}
