//! Messages a client sends that are not what they claim: a command, ticket or action body that
//! does not decode as the Flight SQL message its type names. arrow-flight's Flight SQL layer
//! answers some of them `internal`, as if the server had failed; they are the client's fault,
//! so they are refused here as `invalid_argument` before that layer sees them.

use arrow_flight::Action;
use arrow_flight::sql::{
    ActionBeginSavepointRequest, ActionBeginTransactionRequest, ActionCancelQueryRequest,
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedSubstraitPlanRequest, ActionEndSavepointRequest,
    ActionEndTransactionRequest, Any, Command, ProstMessageExt,
};
use prost::Message;
use tonic::Status;

fn refused(what: &str, cause: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!(
        "the {what} is not a Flight SQL message lakemeta can read ({cause}); send one a Flight \
         SQL client builds"
    ))
}

/// Checks that a command (a flight descriptor's `cmd`) or a ticket decodes as the Flight SQL
/// message its type URL names.
pub fn check_command(what: &str, bytes: &[u8]) -> Result<(), Status> {
    let any = Any::decode(bytes).map_err(|e| refused(what, e))?;
    Command::try_from(any).map_err(|e| refused(what, e))?;
    Ok(())
}

/// Checks that the body of a Flight SQL action decodes as the request its type names (other
/// action types are left to the service, which refuses the ones it does not know).
pub fn check_action(action: &Action) -> Result<(), Status> {
    fn body<M: ProstMessageExt>(action: &Action) -> Result<(), Status> {
        let what = format!("body of action {}", action.r#type);
        let any = Any::decode(&*action.body).map_err(|e| refused(&what, e))?;
        match any.unpack::<M>() {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(refused(&what, format!("it holds a {}", any.type_url))),
            Err(e) => Err(refused(&what, e)),
        }
    }
    match action.r#type.as_str() {
        "CreatePreparedStatement" => body::<ActionCreatePreparedStatementRequest>(action),
        "ClosePreparedStatement" => body::<ActionClosePreparedStatementRequest>(action),
        "CreatePreparedSubstraitPlan" => body::<ActionCreatePreparedSubstraitPlanRequest>(action),
        "BeginTransaction" => body::<ActionBeginTransactionRequest>(action),
        "EndTransaction" => body::<ActionEndTransactionRequest>(action),
        "BeginSavepoint" => body::<ActionBeginSavepointRequest>(action),
        "EndSavepoint" => body::<ActionEndSavepointRequest>(action),
        "CancelQuery" => body::<ActionCancelQueryRequest>(action),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use arrow_flight::sql::CommandStatementQuery;

    use super::*;

    #[test]
    fn a_message_that_is_not_what_it_claims_is_invalid_argument() {
        let valid = CommandStatementQuery {
            query: "SELECT 1".into(),
            transaction_id: None,
        }
        .as_any();
        assert!(check_command("command", &valid.encode_to_vec()).is_ok());
        let lying = Any {
            type_url: valid.type_url.clone(),
            value: vec![0x0c, 0xff].into(),
        };
        let status = check_command("command", &lying.encode_to_vec()).unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            check_command("ticket", &[0xff, 0x01]).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        let action = Action::new("CreatePreparedStatement", valid.encode_to_vec());
        assert_eq!(
            check_action(&action).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }
}
