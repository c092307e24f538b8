//! The audit log: one row per statement and Flight call, allowed or denied, appended to
//! `meta.audit_log` in batches (a commit at most every [`BATCH_WINDOW`]). A process flushes what
//! it holds before it exits; a write that fails is retried, and while the log cannot be written
//! every new statement is refused ([`AuditLog::check`]) rather than run unaudited.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::caller::Caller;
use super::redact::redact_pii_literals;
use crate::error::{Error, Result};
use crate::model::{AuditEvent, now_micros};
use crate::storage::{SystemTableKind, Warehouse};

/// How long an event waits for others to share its commit.
pub const BATCH_WINDOW: Duration = Duration::from_millis(200);

/// Events in one commit at most.
const MAX_BATCH: usize = 10_000;

/// Quick retries of a failed write before the log counts as unwritable.
const QUICK_RETRIES: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

/// The longest pause between retries of an unwritable log.
const MAX_PAUSE: Duration = Duration::from_secs(10);

enum Message {
    Event(Box<AuditEvent>),
    Flush(oneshot::Sender<Result<()>>),
}

/// The audit log of one process: a background writer fed by every session of the process.
pub struct AuditLog {
    warehouse: Arc<Warehouse>,
    sender: Mutex<Option<mpsc::UnboundedSender<Message>>>,
    failure: Arc<Mutex<Option<Arc<Error>>>>,
    discarding: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

impl AuditLog {
    /// The audit log of a warehouse (the writer starts with the first event).
    pub fn new(warehouse: Arc<Warehouse>) -> Self {
        Self {
            warehouse,
            sender: Mutex::new(None),
            failure: Arc::new(Mutex::new(None)),
            discarding: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Drops every event from now on instead of writing it: only for measuring what auditing
    /// costs (`lakemeta serve --unaudited-benchmark`, a hidden flag).
    pub fn discard_for_benchmarks(&self) {
        self.discarding
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Fails while the audit log cannot be written: statements must not run then.
    pub fn check(&self) -> Result<()> {
        match lock(&self.failure).as_ref() {
            Some(cause) => Err(Error::AuditUnavailable {
                source: Arc::clone(cause),
            }),
            None => Ok(()),
        }
    }

    /// Queues an event; it is committed within [`BATCH_WINDOW`] (or at the next flush).
    pub fn record(&self, event: AuditEvent) {
        if self.discarding.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let mut message = Message::Event(Box::new(event));
        // a writer whose runtime ended is replaced once
        for _ in 0..2 {
            match self.sender().send(message) {
                Ok(()) => return,
                Err(mpsc::error::SendError(m)) => {
                    message = m;
                    *lock(&self.sender) = None;
                }
            }
        }
        tracing::error!("the audit writer is gone; an audit event was not written");
    }

    /// Commits every queued event; fails when they cannot be written.
    pub async fn flush(&self) -> Result<()> {
        let (ack, done) = oneshot::channel();
        if self.sender().send(Message::Flush(ack)).is_err() {
            return Err(Error::invalid("the audit writer stopped before the flush"));
        }
        done.await
            .map_err(|_| Error::invalid("the audit writer stopped before the flush"))?
    }

    fn sender(&self) -> mpsc::UnboundedSender<Message> {
        let mut slot = lock(&self.sender);
        if let Some(s) = slot.as_ref()
            && !s.is_closed()
        {
            return s.clone();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(
            Arc::clone(&self.warehouse),
            rx,
            Arc::clone(&self.failure),
        ));
        *slot = Some(tx.clone());
        tx
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The writer: collects events for up to [`BATCH_WINDOW`], commits them in one append, answers
/// flushes; on failure keeps the events, marks the log unwritable, and retries with growing
/// pauses until a write succeeds.
async fn write_loop(
    warehouse: Arc<Warehouse>,
    mut rx: mpsc::UnboundedReceiver<Message>,
    failure: Arc<Mutex<Option<Arc<Error>>>>,
) {
    let mut pending: Vec<AuditEvent> = Vec::new();
    let mut waiters: Vec<oneshot::Sender<Result<()>>> = Vec::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut pause = Duration::from_secs(1);
    loop {
        let next = match deadline {
            None => rx.recv().await.map(Some),
            Some(d) => match tokio::time::timeout_at(d, rx.recv()).await {
                Ok(m) => m.map(Some),
                Err(_) => Some(None),
            },
        };
        let closed = next.is_none();
        let write = match next.flatten() {
            Some(Message::Event(e)) => {
                pending.push(*e);
                deadline.get_or_insert_with(|| tokio::time::Instant::now() + BATCH_WINDOW);
                pending.len() >= MAX_BATCH
            }
            Some(Message::Flush(ack)) => {
                waiters.push(ack);
                true
            }
            // the window passed, or every sender is gone
            None => true,
        };
        if !write {
            continue;
        }
        match append(&warehouse, &pending).await {
            Ok(()) => {
                pending.clear();
                deadline = None;
                pause = Duration::from_secs(1);
                if lock(&failure).take().is_some() {
                    tracing::warn!("the audit log is written again; statements are accepted");
                }
                for w in waiters.drain(..) {
                    let _ = w.send(Ok(()));
                }
            }
            Err(e) => {
                let cause = Arc::new(e);
                tracing::error!(
                    events = pending.len(),
                    error = %cause,
                    "the audit log cannot be written; statements are refused until it can"
                );
                *lock(&failure) = Some(Arc::clone(&cause));
                for w in waiters.drain(..) {
                    let _ = w.send(Err(Error::AuditUnavailable {
                        source: Arc::clone(&cause),
                    }));
                }
                deadline = Some(tokio::time::Instant::now() + pause);
                pause = (pause * 2).min(MAX_PAUSE);
            }
        }
        if closed {
            return;
        }
    }
}

/// Appends the events in one commit, retrying a failed write twice after short pauses.
async fn append(warehouse: &Warehouse, events: &[AuditEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let table = warehouse.table(SystemTableKind::AuditLog);
    let mut result = table.append_blind(events).await.map(|_| ());
    for pause in QUICK_RETRIES {
        if result.is_ok() {
            break;
        }
        tokio::time::sleep(pause).await;
        result = table.append_blind(events).await.map(|_| ());
    }
    result
}

/// One statement being audited: started when it starts, recorded when it ends — finished,
/// failed, or dropped unfinished (a client that went away), which records it as cancelled.
pub struct AuditSpan {
    log: Arc<AuditLog>,
    caller: Arc<Caller>,
    event: Option<Box<AuditEvent>>,
    started: Instant,
}

impl std::fmt::Debug for AuditSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSpan")
            .field("kind", &self.event.as_ref().map(|e| e.kind.clone()))
            .finish()
    }
}

impl AuditSpan {
    /// Starts auditing a statement (or call) of `kind` with its text, run by `caller`.
    pub fn start(
        log: Arc<AuditLog>,
        caller: Arc<Caller>,
        kind: impl Into<String>,
        statement: Option<String>,
    ) -> Self {
        let event = AuditEvent {
            at: 0,
            statement_id: new_statement_id(),
            principal: caller.principal().name.clone(),
            client_address: caller.channel().client(),
            channel: caller.channel().name().to_string(),
            kind: kind.into(),
            statement,
            products_read: Vec::new(),
            columns_read: Vec::new(),
            products_written: Vec::new(),
            decision: "allowed".into(),
            reason: None,
            grant_ids: Vec::new(),
            policy_version: caller.governance().policy().version,
            rows: None,
            bytes: None,
            duration_ms: 0,
            error: None,
            protections: Vec::new(),
        };
        Self {
            log,
            caller,
            event: Some(Box::new(event)),
            started: Instant::now(),
        }
    }

    /// Records the statement as ended: with the rows and bytes it returned or wrote, or its
    /// error (a permission refusal is recorded as `denied`, with the refusal as the reason).
    pub fn finish(mut self, rows: Option<u64>, bytes: Option<u64>, error: Option<&Error>) {
        self.record(rows, bytes, error.map(ErrorText::from));
    }

    /// Records the statement as ended, with an error given as text (a stream's failure).
    pub fn finish_text(mut self, rows: Option<u64>, bytes: Option<u64>, error: Option<String>) {
        self.record(
            rows,
            bytes,
            error.map(|text| ErrorText {
                denied: false,
                text,
            }),
        );
    }

    fn record(&mut self, rows: Option<u64>, bytes: Option<u64>, error: Option<ErrorText>) {
        let Some(mut event) = self.event.take() else {
            return;
        };
        let ledger = self.caller.ledger_snapshot();
        event.at = now_micros();
        event.duration_ms = self.started.elapsed().as_millis() as i64;
        event.products_read = ledger.products_read.into_iter().collect();
        event.columns_read = ledger.columns_read.into_iter().collect();
        event.products_written = ledger.products_written.into_iter().collect();
        event.grant_ids = ledger.grant_ids.into_iter().collect();
        event.protections = ledger.protections.into_iter().collect();
        if !ledger.classified.is_empty() {
            event.statement = event
                .statement
                .map(|s| redact_pii_literals(&s, &ledger.classified));
        }
        event.policy_version = self.caller.governance().policy().version;
        event.rows = rows.map(|r| r as i64);
        event.bytes = bytes.map(|b| b as i64);
        match error {
            Some(ErrorText { denied: true, text }) => {
                event.decision = "denied".into();
                event.reason = Some(text.clone());
                event.error = Some(text);
            }
            Some(ErrorText { text, .. }) => event.error = Some(text),
            None => {}
        }
        if event.reason.is_none() && !ledger.reasons.is_empty() {
            event.reason = Some(ledger.reasons.into_iter().collect::<Vec<_>>().join(", "));
        }
        self.log.record(*event);
    }
}

impl Drop for AuditSpan {
    fn drop(&mut self) {
        self.record(
            None,
            None,
            Some(ErrorText {
                denied: false,
                text: "cancelled: the client went away before the end".into(),
            }),
        );
    }
}

/// An error as the audit log records it.
struct ErrorText {
    denied: bool,
    text: String,
}

impl From<&Error> for ErrorText {
    fn from(e: &Error) -> Self {
        Self {
            denied: e.is_denial(),
            text: e.to_string(),
        }
    }
}

/// A new statement id: time-ordered and unique enough for concurrent statements.
fn new_statement_id() -> String {
    format!(
        "{}-{:08x}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
        rand::random::<u32>()
    )
}
