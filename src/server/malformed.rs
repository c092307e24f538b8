//! Messages a client sends that are not what they claim: a command, ticket or action body that
//! does not decode as the Flight SQL message its type names. arrow-flight's Flight SQL layer
//! answers some of them `internal`, as if the server had failed; they are the client's fault,
//! so they are refused here as `invalid_argument` before that layer sees them. The same goes for
//! rows sent to `DoPut` whose header claims buffers past the end of their body: Arrow's IPC
//! reader slices the body where the header says and panics when that is out of bounds.

use arrow::ipc::{MessageHeader, root_as_message};
use arrow_flight::sql::{
    ActionBeginSavepointRequest, ActionBeginTransactionRequest, ActionCancelQueryRequest,
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedSubstraitPlanRequest, ActionEndSavepointRequest,
    ActionEndTransactionRequest, Any, Command, ProstMessageExt,
};
use arrow_flight::{Action, FlightData};
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
    command(what, bytes).map(|_| ())
}

/// The Flight SQL message a command or ticket holds, or `invalid_argument` when it does not
/// decode as what its type URL names.
pub fn command(what: &str, bytes: &[u8]) -> Result<Command, Status> {
    let any = Any::decode(bytes).map_err(|e| refused(what, e))?;
    Command::try_from(any).map_err(|e| refused(what, e))
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

/// Checks that the buffers an IPC record batch (or dictionary batch) message names lie within
/// its body, before Arrow's reader slices the body where they say.
pub fn check_rows(data: &FlightData) -> Result<(), Status> {
    if data.data_header.is_empty() {
        return Ok(());
    }
    let bad = |cause: String| {
        Status::invalid_argument(format!(
            "a message of the DoPut stream is not Arrow IPC data lakemeta can read ({cause}); \
             send the rows as an Arrow library encodes them"
        ))
    };
    let message =
        root_as_message(&data.data_header).map_err(|e| bad(format!("its header: {e}")))?;
    let batch = match message.header_type() {
        MessageHeader::RecordBatch => message.header_as_record_batch(),
        MessageHeader::DictionaryBatch => {
            message.header_as_dictionary_batch().and_then(|d| d.data())
        }
        _ => None,
    };
    let body = i64::try_from(data.data_body.len()).unwrap_or(i64::MAX);
    for (i, buffer) in batch.iter().flat_map(|b| b.buffers()).flatten().enumerate() {
        let end = buffer.offset().checked_add(buffer.length());
        let within = buffer.offset() >= 0 && buffer.length() >= 0 && end.is_some_and(|e| e <= body);
        if !within {
            return Err(bad(format!(
                "buffer {i} is said to span bytes {} to {} of a body of {body}",
                buffer.offset(),
                buffer.offset().saturating_add(buffer.length())
            )));
        }
    }
    Ok(())
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

    #[test]
    fn rows_whose_header_points_past_their_body_are_refused() {
        use std::sync::Arc;

        use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};

        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            (
                "name",
                Arc::new(StringArray::from(vec!["a", "bb"])) as ArrayRef,
            ),
        ])
        .unwrap();
        let messages =
            arrow_flight::utils::batches_to_flight_data(&batch.schema(), vec![batch]).unwrap();
        for m in &messages {
            assert!(check_rows(m).is_ok());
        }
        let rows = &messages[1];
        let cut = rows
            .clone()
            .with_data_body(rows.data_body.slice(..rows.data_body.len() / 2));
        let status = check_rows(&cut).unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().contains("of a body of"), "{status}");
        let garbled = rows.clone().with_data_header(vec![0xff; 12]);
        assert_eq!(
            check_rows(&garbled).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }
}
