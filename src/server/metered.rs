//! A result stream that accounts for itself: it counts the rows and bytes it sends, holds the
//! query's admission while it runs, and when it ends — finished, failed, or dropped because the
//! client went away (dropping it stops the query) — traces one line and completes the
//! statement's audit record.

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

use crate::governance::AuditSpan;

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
    error: Option<String>,
    audit: Option<AuditSpan>,
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
    /// batches went through, `admission` the slot it runs in (freed when it ends), `audit` the
    /// statement's audit record, completed when it ends.
    pub fn new(
        inner: S,
        principal: String,
        kind: &'static str,
        rows: RowCount,
        admission: Option<OwnedSemaphorePermit>,
        audit: Option<AuditSpan>,
    ) -> Self {
        Self {
            inner,
            principal,
            kind,
            rows,
            bytes: 0,
            started: Instant::now(),
            outcome: Outcome::Sending,
            error: None,
            audit,
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
            Poll::Ready(Some(Err(status))) => {
                self.outcome = Outcome::Failed;
                self.error = Some(status.message().to_string());
            }
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
        let rows = self.rows.get();
        tracing::info!(
            principal = %self.principal,
            kind = self.kind,
            rows,
            bytes = self.bytes,
            duration_ms = self.started.elapsed().as_millis() as u64,
            outcome,
            "result sent"
        );
        if let Some(span) = self.audit.take() {
            let error = match self.outcome {
                Outcome::Done => None,
                Outcome::Failed => self.error.take(),
                Outcome::Sending => Some("cancelled: the client went away before the end".into()),
            };
            span.finish_text(Some(rows), Some(self.bytes), error);
        }
    }
}
