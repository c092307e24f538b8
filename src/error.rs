//! The one error type of lakemeta. Every message names the thing at fault and, where there is
//! one, the fix.

use datafusion::error::DataFusionError;

/// Result with lakemeta's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in lakemeta.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The warehouse location cannot be used.
    #[error("warehouse {location}: {reason}")]
    Warehouse {
        /// The location as the user gave it.
        location: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A domain that does not exist.
    #[error("unknown domain '{name}'; {hint}")]
    UnknownDomain {
        /// The name asked for.
        name: String,
        /// The valid choices or the fix.
        hint: String,
    },
    /// A data product that does not exist.
    #[error("unknown data product '{name}'; {hint}")]
    UnknownProduct {
        /// The name asked for.
        name: String,
        /// The valid choices or the fix.
        hint: String,
    },
    /// A table that does not exist (a name without a domain, read from schema `meta`).
    #[error("unknown table '{name}'; {hint}")]
    UnknownTable {
        /// The name asked for.
        name: String,
        /// The valid choices or the fix.
        hint: String,
    },
    /// Something that already exists.
    #[error("{what} already exists; {hint}")]
    AlreadyExists {
        /// The thing that exists.
        what: String,
        /// The fix.
        hint: String,
    },
    /// A spec file (ODCS contract or domain spec) is invalid.
    #[error("{file}:{line}: {field}: {message}")]
    Spec {
        /// The file.
        file: String,
        /// 1-based line of the field at fault.
        line: usize,
        /// The field at fault, as a path such as `schema[0].properties[2].logicalType`.
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A spec breaks rules at several places (the standard's schema, or lakemeta's own): each
    /// problem, with where it is written and the fix.
    #[error("{file}: {} problem{}:{}", .problems.len(), if .problems.len() == 1 { "" } else { "s" }, list_problems(.file, .problems))]
    SpecProblems {
        /// The file.
        file: String,
        /// Every problem found, in the order they are written.
        problems: Vec<SpecProblem>,
    },
    /// Several spec files of one `apply` are invalid: each file's problems (nothing applied).
    #[error("{} spec files have problems; nothing was applied, fix each and apply again:{}", .errors.len(), list_errors(.errors))]
    SpecFiles {
        /// Each invalid file's error, in file name order.
        errors: Vec<Error>,
    },
    /// Two writers changed the same row.
    #[error(
        "conflict: {what} was changed by another writer while this operation ran; \
         nothing was written, re-read and retry"
    )]
    Conflict {
        /// The row both writers changed.
        what: String,
    },
    /// A commit kept losing the race to other writers.
    #[error(
        "could not commit to system table '{table}' after {attempts} attempts: too many \
         concurrent writers; nothing was written, retry later"
    )]
    Contention {
        /// The system table.
        table: String,
        /// How many attempts were made.
        attempts: usize,
    },
    /// A SQL statement lakemeta could not parse or does not accept.
    #[error("{0}")]
    Sql(String),
    /// Invalid input with an explanation.
    #[error("{0}")]
    Invalid(String),
    /// The principal may not do this. The message names the rule, who may, and how to ask.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// A spec asks for a change its principal may not make.
    #[error("{file}:{line}: {field}: permission denied: {reason}")]
    SpecDenied {
        /// The file.
        file: String,
        /// 1-based line of the field at fault.
        line: usize,
        /// The field at fault.
        field: String,
        /// Who may make the change, and how to ask.
        reason: String,
    },
    /// The access policy of a table cannot be applied (a mask or row filter that does not
    /// plan): the read fails closed rather than show raw values or hidden rows.
    #[error(
        "{table} cannot be read: its access policy (version {version}) cannot be applied: \
         {reason}; nothing was read — a platform admin fixes the Policy spec (lakemeta apply)"
    )]
    PolicyFailed {
        /// The table.
        table: String,
        /// The policy version.
        version: i64,
        /// What failed.
        reason: String,
    },
    /// The audit log cannot be written, so no statement runs (none runs unaudited).
    #[error(
        "the audit log cannot be written ({source}); lakemeta refuses statements rather than \
         run them unaudited: make the warehouse storage writable again and statements resume \
         with the next audit write"
    )]
    AuditUnavailable {
        /// Why the last audit write failed.
        #[source]
        source: std::sync::Arc<Error>,
    },
    /// The operation was cancelled (Ctrl-C); nothing was written.
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// An error from the query engine.
    #[error("{}{}", strip_df(.0), retry_note(.0))]
    DataFusion(#[from] DataFusionError),
    /// An error from a Delta table.
    #[error("Delta table at {location}: {source}{}", retry_note(.source))]
    Delta {
        /// The table location.
        location: String,
        /// The error from deltalake.
        #[source]
        source: deltalake::DeltaTableError,
    },
    /// An error from object storage.
    #[error("object storage at {location}: {source}{}", retry_note(.source))]
    ObjectStore {
        /// The location that was accessed.
        location: String,
        /// The error from object_store.
        #[source]
        source: object_store::Error,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A data product whose data could not be opened: which one, and why.
    #[error("data product {name}: {source}")]
    ProductUnreadable {
        /// The product.
        name: String,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// An operation failed while the storage was failing: the error as it came, from a layer
    /// that kept only the text of the storage's error.
    #[error(
        "{source} (the storage failed while this ran, perhaps only for a moment: retry; after \
         a failed write, check first whether it took effect, as its answer may have been lost)"
    )]
    StorageFailed {
        /// The operation's error.
        source: Box<Error>,
    },
    /// An Arrow error.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// One problem of a spec: where, which rule, what is wrong and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The field at fault, as a path such as `schema[0].properties[2].logicalType`.
    pub field: String,
    /// The rule broken: the standard schema's keyword (`required`, `enum`, `type`, …) or
    /// lakemeta's own (`lakemeta`).
    pub rule: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl SpecProblem {
    /// The problem as one line: `file:line:column: field: message [rule]`.
    pub fn display(&self, file: &str) -> String {
        format!(
            "{file}:{}:{}: {}: {} [{}]",
            self.line, self.column, self.field, self.message, self.rule
        )
    }
}

fn list_errors(errors: &[Error]) -> String {
    errors.iter().map(|e| format!("\n{e}")).collect()
}

fn list_problems(file: &str, problems: &[SpecProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("\n  {}", p.display(file)))
        .collect()
}

impl Error {
    /// True for a refusal by the access rules (a statement, a call or a spec).
    pub fn is_denial(&self) -> bool {
        matches!(self, Error::PermissionDenied(_) | Error::SpecDenied { .. })
    }

    /// An [`Error::Invalid`] from anything printable.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }

    /// The error with DataFusion's wrapping removed: a lakemeta error that travelled through
    /// the query engine comes back as itself.
    pub fn unwrap_df(self) -> Self {
        match self {
            Error::DataFusion(e) => from_df(e),
            other => other,
        }
    }
}

fn from_df(e: DataFusionError) -> Error {
    match e {
        DataFusionError::External(inner) => match inner.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(other) => Error::DataFusion(DataFusionError::External(other)),
        },
        DataFusionError::Context(_, inner) => from_df(*inner),
        other => Error::DataFusion(other),
    }
}

/// The end of a message about a storage failure that may pass by itself.
const TEMPORARY: &str = " (a storage failure that may be temporary: retry; after a failed \
                         write, check first whether it took effect, as its answer may have \
                         been lost)";

/// What a storage failure in `e`'s cause chain means for retrying, as the end of a message: a
/// failure that may be temporary (a timeout, a dropped connection, a server error or
/// throttling that outlasted the store's own retries) says to retry, and that a write may
/// have taken effect before its answer was lost; one that will not pass by itself says what
/// to fix. Empty when the chain holds no storage failure.
pub fn retry_note(e: &(dyn std::error::Error + 'static)) -> &'static str {
    let mut next = Some(e);
    while let Some(cause) = next {
        if let Some(os) = cause.downcast_ref::<object_store::Error>() {
            return match os {
                object_store::Error::Generic { source, .. } => match io_kind(source.as_ref()) {
                    Some(kind) => io_note(kind),
                    None => TEMPORARY,
                },
                object_store::Error::JoinError { .. } => TEMPORARY,
                object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. } => {
                    " (the storage refused lakemeta's credentials: retrying will not help \
                     until the credentials or the bucket's permissions are fixed)"
                }
                _ => "",
            };
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io_note(io.kind());
        }
        // Delta's kernel keeps an object-store failure without linking it as the cause
        if let Some(delta_kernel::Error::ObjectStore(os)) = cause.downcast_ref() {
            return retry_note(os);
        }
        next = cause.source();
    }
    ""
}

/// The kind of the first I/O error in a chain.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut next = Some(e);
    while let Some(cause) = next {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        next = cause.source();
    }
    None
}

/// What an I/O failure means for retrying.
fn io_note(kind: std::io::ErrorKind) -> &'static str {
    use std::io::ErrorKind as K;
    match kind {
        K::TimedOut
        | K::ConnectionReset
        | K::ConnectionAborted
        | K::ConnectionRefused
        | K::NotConnected
        | K::BrokenPipe
        | K::Interrupted
        | K::WouldBlock
        | K::UnexpectedEof
        | K::Other => TEMPORARY,
        K::StorageFull | K::QuotaExceeded => " (the storage is full: free space, then retry)",
        K::PermissionDenied | K::ReadOnlyFilesystem => {
            " (the storage refused access: retrying will not help until the permissions are \
             fixed)"
        }
        _ => "",
    }
}

/// DataFusion prefixes messages with its error kind ("Error during planning: ..."); users
/// of lakemeta get the message itself.
fn strip_df(e: &DataFusionError) -> String {
    match e {
        DataFusionError::Plan(m) | DataFusionError::Execution(m) => m.clone(),
        DataFusionError::SQL(e, _) => format!("SQL error: {e}"),
        DataFusionError::Context(_, inner) => strip_df(inner),
        DataFusionError::External(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

impl From<Error> for DataFusionError {
    fn from(e: Error) -> Self {
        match e {
            Error::DataFusion(inner) => inner,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}
