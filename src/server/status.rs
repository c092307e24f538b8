//! lakemeta's errors as gRPC statuses: a user's mistake is never `internal`, and no message
//! carries a source file or line.

use datafusion::error::DataFusionError;
use tonic::{Code, Status};

use crate::error::Error;

/// The gRPC status of an error.
pub fn status_of(error: Error) -> Status {
    let error = error.unwrap_df();
    let message = error.to_string();
    let code = code_of(&error);
    if code == Code::ResourceExhausted && matches!(error, Error::DataFusion(_)) {
        return Status::resource_exhausted(format!(
            "{message}\nThe server gives each query at most lakemeta serve --query-memory, and \
             all running queries together --server-memory: ask for fewer rows or columns at \
             once, or raise the limit that refused"
        ));
    }
    Status::new(code, message)
}

/// The gRPC code of an error: what kind of failure it is.
fn code_of(error: &Error) -> Code {
    match error {
        Error::UnknownDomain { .. } | Error::UnknownProduct { .. } | Error::UnknownTable { .. } => {
            Code::NotFound
        }
        Error::AlreadyExists { .. } => Code::AlreadyExists,
        Error::Spec { .. }
        | Error::SpecProblems { .. }
        | Error::SpecFiles { .. }
        | Error::Sql(_)
        | Error::Invalid(_)
        | Error::Arrow(_) => Code::InvalidArgument,
        Error::Conflict { .. } | Error::Contention { .. } => Code::Aborted,
        Error::Cancelled(_) => Code::Cancelled,
        Error::PermissionDenied(_) | Error::SpecDenied { .. } => Code::PermissionDenied,
        Error::AuditUnavailable { .. } => Code::Unavailable,
        Error::PolicyFailed { .. } => Code::FailedPrecondition,
        Error::DataFusion(e) => datafusion_code(e),
        // what kept the product from opening decides
        Error::ProductUnreadable { source, .. } => code_of(source),
        Error::Warehouse { .. }
        | Error::Delta { .. }
        | Error::ObjectStore { .. }
        | Error::StorageFailed { .. }
        | Error::Io { .. } => Code::Unavailable,
    }
}

fn datafusion_code(e: &DataFusionError) -> Code {
    match e.find_root() {
        DataFusionError::ResourcesExhausted(_) => Code::ResourceExhausted,
        DataFusionError::NotImplemented(_) => Code::Unimplemented,
        DataFusionError::SQL(..)
        | DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::Configuration(_)
        | DataFusionError::Execution(_)
        | DataFusionError::ArrowError(..) => Code::InvalidArgument,
        // the storage failed under the engine: retrying may help
        DataFusionError::ObjectStore(_) | DataFusionError::IoError(_) => Code::Unavailable,
        _ => Code::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_mistakes_are_not_internal() {
        assert_eq!(
            status_of(Error::invalid("bad")).code(),
            Code::InvalidArgument
        );
        let unknown = Error::UnknownTable {
            name: "nope".into(),
            hint: "…".into(),
        };
        assert_eq!(status_of(unknown).code(), Code::NotFound);
        let memory = Error::DataFusion(DataFusionError::ResourcesExhausted("pool".into()));
        assert_eq!(status_of(memory).code(), Code::ResourceExhausted);
    }

    #[test]
    fn storage_failures_under_the_engine_are_unavailable() {
        let lost = object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        };
        let error = Error::DataFusion(DataFusionError::ObjectStore(Box::new(lost)));
        assert_eq!(status_of(error).code(), Code::Unavailable);
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out");
        let error = Error::DataFusion(DataFusionError::IoError(io));
        assert_eq!(status_of(error).code(), Code::Unavailable);
    }

    #[test]
    fn an_unreadable_product_is_what_kept_it_from_opening() {
        let lost = Error::ObjectStore {
            location: "s3://lake/orders/feed/".into(),
            source: object_store::Error::Generic {
                store: "S3",
                source: "connection refused".into(),
            },
        };
        let unreadable = |source| Error::ProductUnreadable {
            name: "orders.feed".into(),
            source: Box::new(source),
        };
        let status = status_of(unreadable(lost));
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.message().starts_with("data product orders.feed: "));
        let missing = unreadable(Error::invalid("no such file"));
        assert_eq!(status_of(missing).code(), Code::InvalidArgument);
    }
}
