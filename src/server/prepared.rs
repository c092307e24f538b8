//! Prepared statements: created (their result and parameter schemas described without running
//! them), bound to parameter rows, executed as queries or updates, and closed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use arrow::datatypes::Schema;
use arrow::ipc::writer::IpcWriteOptions;
use arrow_flight::{IpcMessage, SchemaAsIpc};
use datafusion::common::ScalarValue;
use tonic::Status;

/// Prepared statements not used for this long are forgotten.
const IDLE: Duration = Duration::from_secs(3600);

/// One prepared statement.
#[derive(Clone)]
pub struct Prepared {
    /// Who prepared it; only they may use it.
    pub principal: String,
    /// Its text.
    pub sql: String,
    /// The parameter rows bound last (none: no parameters).
    pub params: Vec<Vec<ScalarValue>>,
    used: Instant,
}

/// The prepared statements of the server, by handle.
#[derive(Default)]
pub struct PreparedStatements(Mutex<HashMap<String, Prepared>>);

impl PreparedStatements {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Prepared>> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Keeps a new prepared statement; returns its handle. `principal` may hold `cap` at
    /// once (idle ones are forgotten first); one more is `resource_exhausted`.
    pub fn add(&self, principal: &str, sql: &str, cap: usize) -> Result<String, Status> {
        let handle = super::auth::random_hex::<16>();
        let mut all = self.lock();
        all.retain(|_, p| p.used.elapsed() < IDLE);
        if all.values().filter(|p| p.principal == principal).count() >= cap {
            return Err(Status::resource_exhausted(format!(
                "{principal} has {cap} prepared statements open (--max-open-per-user): close \
                 the ones not in use (ClosePreparedStatement; in ADBC, close the statement)"
            )));
        }
        all.insert(
            handle.clone(),
            Prepared {
                principal: principal.to_string(),
                sql: sql.to_string(),
                params: Vec::new(),
                used: Instant::now(),
            },
        );
        Ok(handle)
    }

    /// The statement of `handle`, if it is the caller's.
    pub fn get(&self, handle: &[u8], principal: &str) -> Result<Prepared, Status> {
        let key = String::from_utf8_lossy(handle).to_string();
        let mut all = self.lock();
        match all.get_mut(&key) {
            Some(p) if p.principal == principal => {
                p.used = Instant::now();
                Ok(p.clone())
            }
            _ => Err(Status::not_found(
                "no such prepared statement: it was closed or expired; prepare it again",
            )),
        }
    }

    /// Binds parameter rows to the caller's statement.
    pub fn bind(
        &self,
        handle: &[u8],
        principal: &str,
        params: Vec<Vec<ScalarValue>>,
    ) -> Result<(), Status> {
        self.get(handle, principal)?;
        let key = String::from_utf8_lossy(handle).to_string();
        if let Some(p) = self.lock().get_mut(&key) {
            p.params = params;
        }
        Ok(())
    }

    /// Forgets the caller's statement.
    pub fn close(&self, handle: &[u8], principal: &str) -> Result<(), Status> {
        self.get(handle, principal)?;
        self.lock()
            .remove(&String::from_utf8_lossy(handle).to_string());
        Ok(())
    }
}

/// A schema as the IPC bytes Flight SQL's prepared-statement results carry.
pub fn schema_bytes(schema: &Schema) -> Result<bytes::Bytes, Status> {
    let message: Result<IpcMessage, _> =
        SchemaAsIpc::new(schema, &IpcWriteOptions::default()).try_into();
    message
        .map(|IpcMessage(b)| b)
        .map_err(|e| Status::internal(format!("encoding a schema: {e}")))
}

/// The parameter rows a client sent in a `DoPut` stream (none when it sent no batch).
pub async fn parameter_rows(
    stream: super::service::PutMessages,
) -> Result<Vec<Vec<ScalarValue>>, Status> {
    let batches = super::rows_in::ClientRows::new(stream, "parameters")
        .collect()
        .await?;
    let mut rows = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            let row = b
                .columns()
                .iter()
                .map(|c| ScalarValue::try_from_array(c, r))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Status::invalid_argument(format!("reading the parameters: {e}")))?;
            rows.push(row);
        }
    }
    Ok(rows)
}
