//! A result stream that accounts for itself: it counts the rows and bytes it sends, holds the
//! query's admission while it runs, and traces one line when it ends — finished, failed, or
//! dropped because the client went away (dropping it stops the query).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use arrow::array::RecordBatch;
use arrow_flight::FlightData;
use futures::Stream;
use tokio::sync::OwnedSemaphorePermit;
use tonic::Status;

/// Rows counted where the batches are made (before encoding), read when the stream ends.
#[derive(Debug, Default, Clone)]
pub struct RowCount(Arc<AtomicU64>);

impl RowCount {
    /// Counts the rows of `batch` and passes it on.
    pub fn count(&self, batch: RecordBatch) -> RecordBatch {
        self.0.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        batch
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// An encoded result on its way to a client.
pub struct Metered<S> {
    inner: S,
    principal: String,
    kind: &'static str,
    rows: RowCount,
    bytes: u64,
    started: Instant,
    outcome: Outcome,
    _admission: Option<OwnedSemaphorePermit>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Sending,
    Done,
    Failed,
}

impl<S> Metered<S> {
    /// Wraps `inner`, the stream of `kind` run by `principal`; `rows` is the counter its
    /// batches went through, `admission` the slot it runs in (freed when it ends).
    pub fn new(
        inner: S,
        principal: String,
        kind: &'static str,
        rows: RowCount,
        admission: Option<OwnedSemaphorePermit>,
    ) -> Self {
        Self {
            inner,
            principal,
            kind,
            rows,
            bytes: 0,
            started: Instant::now(),
            outcome: Outcome::Sending,
            _admission: admission,
        }
    }
}

impl<S> Stream for Metered<S>
where
    S: Stream<Item = Result<FlightData, Status>> + Unpin,
{
    type Item = Result<FlightData, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = Pin::new(&mut self.inner).poll_next(cx);
        match &next {
            Poll::Ready(Some(Ok(data))) => {
                self.bytes += (data.data_header.len() + data.data_body.len()) as u64;
            }
            Poll::Ready(Some(Err(_))) => self.outcome = Outcome::Failed,
            Poll::Ready(None) if self.outcome == Outcome::Sending => self.outcome = Outcome::Done,
            _ => {}
        }
        next
    }
}

impl<S> Drop for Metered<S> {
    fn drop(&mut self) {
        let outcome = match self.outcome {
            Outcome::Done => "done",
            Outcome::Failed => "failed",
            // dropped before its end: the client went away (or cancelled); the query stops
            Outcome::Sending => "cancelled",
        };
        tracing::info!(
            principal = %self.principal,
            kind = self.kind,
            rows = self.rows.get(),
            bytes = self.bytes,
            duration_ms = self.started.elapsed().as_millis() as u64,
            outcome,
            "result sent"
        );
    }
}
