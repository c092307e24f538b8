//! The Flight SQL service: every call authenticated, statements run as the caller over the
//! shared catalog.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::server::FlightSqlService;
use arrow_flight::sql::{
    CommandGetSqlInfo, CommandStatementQuery, ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse, Ticket,
};
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use super::auth::{Authenticator, Refusal};
use super::status::status_of;
use crate::catalog::Catalog;
use crate::model::Principal;
use crate::sql::{Output, Session, SessionOptions};

/// Results waiting for their `DoGet` this long at most.
const RESULT_TTL: Duration = Duration::from_secs(600);

/// A statement's result, kept from `GetFlightInfo` until its `DoGet`.
struct Waiting {
    principal: String,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    since: Instant,
}

/// lakemeta's Flight SQL service.
pub struct LakeFlightService {
    catalog: Arc<Catalog>,
    auth: Arc<Authenticator>,
    results: Mutex<HashMap<String, Waiting>>,
}

impl LakeFlightService {
    /// The service over a catalog, calls checked by `auth`.
    pub fn new(catalog: Arc<Catalog>, auth: Arc<Authenticator>) -> Self {
        Self {
            catalog,
            auth,
            results: Mutex::new(HashMap::new()),
        }
    }

    /// The caller, from the call's bearer token.
    fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        self.auth.check(header).map_err(refused)
    }

    /// A session for one call, run as `principal`, sharing the catalog.
    async fn session(&self, principal: Principal) -> Result<Session, Status> {
        Session::with_catalog(Arc::clone(&self.catalog), SessionOptions { principal })
            .await
            .map_err(status_of)
    }

    fn results(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        match self.results.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Every refusal says the same to the client: nothing that helps a guesser.
fn refused(why: Refusal) -> Status {
    tracing::info!(?why, "call refused");
    Status::unauthenticated(
        "authentication failed: log in again with a user name and password, or use a valid token",
    )
}

/// The rows of an output: a statement that answers with a message gives it as one row of a
/// `result` column, so DB-API clients see something for DDL too.
fn rows_of(out: Output) -> (SchemaRef, Vec<RecordBatch>) {
    if !out.schema.fields().is_empty() {
        return (out.schema, out.batches);
    }
    let schema = Arc::new(Schema::new(vec![Field::new(
        "result",
        DataType::Utf8,
        true,
    )]));
    let message = out.message.unwrap_or_default();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(StringArray::from(vec![message]))],
    );
    match batch {
        Ok(b) => (schema, vec![b]),
        Err(_) => (schema, Vec::new()),
    }
}

fn sql_info() -> &'static SqlInfoData {
    static INFO: OnceLock<SqlInfoData> = OnceLock::new();
    INFO.get_or_init(|| {
        let mut b = SqlInfoDataBuilder::new();
        b.append(SqlInfo::FlightSqlServerName, "lakemeta");
        b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
        b.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
        b.append(SqlInfo::FlightSqlServerReadOnly, false);
        b.append(SqlInfo::FlightSqlServerSql, true);
        b.append(SqlInfo::FlightSqlServerSubstrait, false);
        b.append(SqlInfo::FlightSqlServerTransaction, 0_i32);
        b.append(SqlInfo::FlightSqlServerCancel, false);
        b.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
        match b.build() {
            Ok(info) => info,
            Err(e) => panic!("the server's fixed SqlInfo does not build: {e}"),
        }
    })
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl FlightSqlService for LakeFlightService {
    type FlightService = Self;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<BoxStream<HandshakeResponse>>, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let (principal, token) = self.auth.handshake(header).map_err(refused)?;
        tracing::info!(principal = %principal.name, "handshake");
        let output = futures::stream::iter(vec![Ok(HandshakeResponse {
            protocol_version: 0,
            payload: token.clone().into(),
        })]);
        let mut response: Response<BoxStream<HandshakeResponse>> = Response::new(Box::pin(output));
        let value = MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| Status::internal("the token is not a valid header"))?;
        response.metadata_mut().insert("authorization", value);
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let principal = self.principal(&request)?;
        let started = Instant::now();
        let who = principal.name.clone();
        let session = self.session(principal).await?;
        let out = session
            .sql(&query.query)
            .await
            .map_err(status_of)?
            .pop()
            .ok_or_else(|| Status::invalid_argument("the query holds no statement: send one"))?;
        let (schema, batches) = rows_of(out);
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        tracing::info!(principal = %who, kind = "statement", rows, elapsed_ms = started.elapsed().as_millis() as u64, "query");
        let handle = {
            let bytes: [u8; 16] = rand::random();
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        let ticket = TicketStatementQuery {
            statement_handle: handle.clone().into(),
        };
        let info = FlightInfo::new()
            .try_with_schema(&schema)
            .map_err(|e| Status::internal(format!("the result schema cannot be sent: {e}")))?
            .with_endpoint(
                FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec())),
            )
            .with_descriptor(request.into_inner())
            .with_total_records(rows as i64);
        let mut results = self.results();
        results.retain(|_, w| w.since.elapsed() < RESULT_TTL);
        results.insert(
            handle,
            Waiting {
                principal: who,
                schema,
                batches,
                since: Instant::now(),
            },
        );
        Ok(Response::new(info))
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        let handle = String::from_utf8_lossy(&ticket.statement_handle).to_string();
        let waiting = {
            let mut results = self.results();
            match results.get(&handle) {
                Some(w) if w.principal == principal.name => results.remove(&handle),
                _ => None,
            }
        }
        .ok_or_else(|| {
            Status::not_found(
                "no result for this ticket: it was fetched already or expired; run the query again",
            )
        })?;
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(waiting.schema)
            .build(futures::stream::iter(waiting.batches.into_iter().map(Ok)))
            .map_err(Status::from);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let info = FlightInfo::new()
            .try_with_schema(query.clone().into_builder(sql_info()).schema().as_ref())
            .map_err(|e| Status::internal(format!("SqlInfo schema: {e}")))?
            .with_endpoint(
                FlightEndpoint::new().with_ticket(Ticket::new(query.as_any().encode_to_vec())),
            )
            .with_descriptor(request.into_inner());
        Ok(Response::new(info))
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.principal(&request)?;
        let builder = query.into_builder(sql_info());
        let schema = builder.schema();
        let batch = builder.build();
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(futures::stream::once(async { batch }))
            .map_err(Status::from)
            .boxed();
        Ok(Response::new(stream))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
