//! lakemeta's errors as gRPC statuses: a user's mistake is never `internal`, and no message
//! carries a source file or line.

use datafusion::error::DataFusionError;
use tonic::Status;

use crate::error::Error;

/// The gRPC status of an error.
pub fn status_of(error: Error) -> Status {
    let error = error.unwrap_df();
    let message = error.to_string();
    match &error {
        Error::UnknownDomain { .. } | Error::UnknownProduct { .. } | Error::UnknownTable { .. } => {
            Status::not_found(message)
        }
        Error::AlreadyExists { .. } => Status::already_exists(message),
        Error::Spec { .. }
        | Error::SpecProblems { .. }
        | Error::SpecFiles { .. }
        | Error::Sql(_)
        | Error::Invalid(_)
        | Error::Arrow(_) => Status::invalid_argument(message),
        Error::Conflict { .. } | Error::Contention { .. } => Status::aborted(message),
        Error::Cancelled(_) => Status::cancelled(message),
        Error::PermissionDenied(_) | Error::SpecDenied { .. } => Status::permission_denied(message),
        Error::AuditUnavailable { .. } => Status::unavailable(message),
        Error::PolicyFailed { .. } => Status::failed_precondition(message),
        Error::DataFusion(e) => datafusion_status(e, message),
        Error::Warehouse { .. }
        | Error::Delta { .. }
        | Error::ObjectStore { .. }
        | Error::StorageFailed { .. }
        | Error::Io { .. } => Status::unavailable(message),
    }
}

fn datafusion_status(e: &DataFusionError, message: String) -> Status {
    match e.find_root() {
        DataFusionError::ResourcesExhausted(_) => Status::resource_exhausted(format!(
            "{message}\nThe server gives each query the memory of lakemeta serve --query-memory: \
             ask for fewer rows or columns at once, or raise the limit"
        )),
        DataFusionError::NotImplemented(_) => Status::unimplemented(message),
        DataFusionError::SQL(..)
        | DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::Configuration(_)
        | DataFusionError::Execution(_)
        | DataFusionError::ArrowError(..) => Status::invalid_argument(message),
        // the storage failed under the engine: retrying may help
        DataFusionError::ObjectStore(_) | DataFusionError::IoError(_) => {
            Status::unavailable(message)
        }
        _ => Status::internal(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

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
}
