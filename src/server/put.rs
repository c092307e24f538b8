//! `DoPut`'s dispatch. arrow-flight's Flight SQL layer reads the first message's command and
//! calls the matching handler, but answers a missing or undecodable command `unimplemented` or
//! `internal`, as if the server lacked something or had failed; the fault is the client's. Here
//! the first message is read the same way and a bad one is refused as `invalid_argument`
//! naming what is wrong; a good one goes to lakemeta's handler with its messages, each checked
//! before Arrow decodes it ([`malformed::check_rows`]).

use std::pin::Pin;

use arrow_flight::sql::{Command, DoPutUpdateResult};
use arrow_flight::{FlightData, PutResult};
use futures::{Stream, StreamExt};
use prost::Message;
use tonic::{Request, Response, Status, Streaming};

use super::malformed;
use super::service::{LakeFlightService, PutMessages};

/// The answer stream of a `DoPut`: one `PutResult`.
pub type PutAnswer = Pin<Box<dyn Stream<Item = Result<PutResult, Status>> + Send + 'static>>;

/// What `DoPut` takes, for the errors that say so.
const WHAT_DOPUT_TAKES: &str = "DoPut takes a statement update, a bulk ingest, a prepared \
     statement's parameters or a prepared statement update, as a Flight SQL client sends them";

/// Reads the command of a `DoPut`'s first message and runs the handler it names.
pub async fn dispatch(
    service: &LakeFlightService,
    request: Request<Streaming<FlightData>>,
) -> Result<Response<PutAnswer>, Status> {
    let (metadata, extensions, messages) = request.into_parts();
    let mut messages = messages.peekable();
    let descriptor = match Pin::new(&mut messages).peek().await {
        None => {
            return Err(Status::invalid_argument(format!(
                "the DoPut stream is empty: its first message carries the command. \
                 {WHAT_DOPUT_TAKES}"
            )));
        }
        Some(Err(status)) => return Err(status.clone()),
        Some(Ok(first)) => first.flight_descriptor.clone().ok_or_else(|| {
            Status::invalid_argument(format!(
                "the first message of the DoPut stream has no flight descriptor, which holds \
                 the command. {WHAT_DOPUT_TAKES}"
            ))
        })?,
    };
    let command = malformed::command("command", &descriptor.cmd)?;
    let messages = messages.map(|m| m.and_then(|data| malformed::check_rows(&data).map(|()| data)));
    let request = Request::from_parts(metadata, extensions, Box::pin(messages) as PutMessages);
    let answer = match command {
        Command::CommandStatementUpdate(c) => counted(service.put_update(c, request).await?),
        Command::CommandStatementIngest(c) => counted(service.put_ingest(c, request).await?),
        Command::CommandPreparedStatementQuery(c) => {
            service.put_parameters(c, request).await?.encode_to_vec()
        }
        Command::CommandPreparedStatementUpdate(c) => {
            counted(service.put_prepared_update(c, request).await?)
        }
        Command::CommandStatementSubstraitPlan(c) => {
            counted(service.put_substrait_plan(c, request).await?)
        }
        other => {
            return Err(Status::invalid_argument(format!(
                "a {} is not a command to DoPut: {WHAT_DOPUT_TAKES}",
                other.type_url()
            )));
        }
    };
    let result = PutResult {
        app_metadata: answer.into(),
    };
    Ok(Response::new(Box::pin(futures::stream::once(async {
        Ok(result)
    }))))
}

/// The answer to an update: the number of rows it wrote.
fn counted(record_count: i64) -> Vec<u8> {
    DoPutUpdateResult { record_count }.encode_to_vec()
}
