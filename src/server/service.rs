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
use arrow_flight::sql::server::PeekableFlightDataStream;
use arrow_flight::sql::{
    ActionBeginSavepointRequest, ActionBeginSavepointResult, ActionBeginTransactionRequest,
    ActionBeginTransactionResult, ActionCancelQueryRequest, ActionCancelQueryResult,
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, ActionCreatePreparedSubstraitPlanRequest,
    ActionEndSavepointRequest, ActionEndTransactionRequest, CommandGetCatalogs,
    CommandGetCrossReference, CommandGetDbSchemas, CommandGetExportedKeys, CommandGetImportedKeys,
    CommandGetPrimaryKeys, CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables,
    CommandGetXdbcTypeInfo, CommandPreparedStatementQuery, CommandPreparedStatementUpdate,
    CommandStatementIngest, CommandStatementQuery, CommandStatementSubstraitPlan,
    CommandStatementUpdate, DoPutPreparedStatementResult, ProstMessageExt, SqlInfo,
    TicketStatementQuery,
};
use arrow_flight::{
    Action, FlightData, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest,
    HandshakeResponse, SchemaResult, Ticket,
};
use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool};
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use super::auth::{Authenticator, Refusal, claimed_user, random_hex};
use super::metadata::{self, TableRef};
use super::metered::{Metered, RowCount};
use super::prepared::{PreparedStatements, parameter_rows, schema_bytes};
use super::rows_in::ClientRows;
use super::status::status_of;
use super::xdbc;
use crate::catalog::Catalog;
use crate::governance::{AuditSpan, Caller, Channel};
use crate::model::Principal;
use crate::sql::{Answer, IfExists, Output, Planned, Session, SessionOptions};

/// Results waiting for their `DoGet` this long at most.
const RESULT_TTL: Duration = Duration::from_secs(600);

/// A statement's result, kept from `GetFlightInfo` until its `DoGet`.
struct Waiting {
    principal: String,
    /// The products its rows come from, whose access is checked again when they are fetched.
    products: Vec<String>,
    /// The schema the FlightInfo announced (and the stream has).
    schema: SchemaRef,
    rows: Pending,
    since: Instant,
}

/// The rows of a waiting result.
enum Pending {
    /// Computed already (the output of a statement that had to run).
    Ready(Vec<RecordBatch>),
    /// A query planned but not run: `DoGet` runs it and streams it batch by batch (its audit
    /// record goes with it).
    Planned(Planned),
}

/// Results waiting for their `DoGet` at most (more is `resource_exhausted`).
const MAX_WAITING: usize = 10_000;

/// What the server lets one query, and all of them together, use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Statements running at once; one more is refused with `resource_exhausted`.
    pub max_queries: usize,
    /// Memory one query's operators may hold (sorts, joins and aggregations spill to disk
    /// beyond it where DataFusion can; elsewhere the query fails with `resource_exhausted`).
    pub query_memory: usize,
    /// Memory all running queries together may hold: one pool, from which each query takes
    /// at most `query_memory`; operators that spill share it fairly.
    pub server_memory: usize,
    /// Results waiting to be fetched, and prepared statements open, that one user may hold
    /// (each); one more is refused with `resource_exhausted`, so no user fills the maps every
    /// user shares.
    pub max_open_per_user: usize,
}

/// lakemeta's Flight SQL service.
pub struct LakeFlightService {
    catalog: Arc<Catalog>,
    auth: Arc<Authenticator>,
    results: Mutex<HashMap<String, Waiting>>,
    prepared: PreparedStatements,
    limits: Limits,
    running: Arc<Semaphore>,
    memory: Arc<dyn MemoryPool>,
    allowed_locations: Vec<url::Url>,
}

impl LakeFlightService {
    /// The service over a catalog, calls checked by `auth`, queries held to `limits`, the
    /// `LOCATION`s clients may name under `allowed_locations`.
    pub fn new(
        catalog: Arc<Catalog>,
        auth: Arc<Authenticator>,
        limits: Limits,
        allowed_locations: Vec<url::Url>,
    ) -> Self {
        Self {
            catalog,
            auth,
            results: Mutex::new(HashMap::new()),
            prepared: PreparedStatements::default(),
            limits,
            running: Arc::new(Semaphore::new(limits.max_queries)),
            memory: Arc::new(FairSpillPool::new(limits.server_memory)),
            allowed_locations,
        }
    }

    /// The catalog it serves.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// How a request's statements arrive: from its client, held to the allowed locations.
    fn channel<T>(&self, request: &Request<T>) -> Channel {
        Channel::Flight {
            client: request.remote_addr().map(|a| a.to_string()),
            allowed_locations: self.allowed_locations.clone(),
        }
    }

    /// Audits a call that reads metadata (or a refused one) outside a statement.
    fn audit_call<T>(
        &self,
        request: &Request<T>,
        principal: Principal,
        kind: &str,
    ) -> Result<AuditSpan, Status> {
        self.catalog.audit().check().map_err(status_of)?;
        let caller = Arc::new(Caller::new(principal, self.channel(request)));
        caller.begin(Arc::clone(&self.catalog.state().governance));
        Ok(AuditSpan::start(
            Arc::clone(self.catalog.audit()),
            caller,
            kind,
            None,
        ))
    }

    /// A slot for a statement to run in, or `resource_exhausted` when all are taken.
    fn admit(&self) -> Result<OwnedSemaphorePermit, Status> {
        Arc::clone(&self.running).try_acquire_owned().map_err(|_| {
            tracing::warn!(
                max_queries = self.limits.max_queries,
                "query refused: server busy"
            );
            Status::resource_exhausted(format!(
                "the server is running {} statements, the most it runs at once: try again \
                 when one has finished (the limit is lakemeta serve --max-queries)",
                self.limits.max_queries
            ))
        })
    }

    /// The caller, from the call's bearer token; a refusal is audited.
    fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        self.auth.check(header).map_err(|why| {
            let kind = request
                .extensions()
                .get::<tonic::GrpcMethod>()
                .map_or("call", |m| m.method());
            self.refusal(request, kind, None, why)
        })
    }

    /// Audits a refused authentication (as `claimed`, when the client named a user) and
    /// answers `unauthenticated`.
    fn refusal<T>(
        &self,
        request: &Request<T>,
        kind: &str,
        claimed: Option<String>,
        why: Refusal,
    ) -> Status {
        let who = Principal::new(claimed.unwrap_or_else(|| "(unauthenticated)".into()));
        if let Ok(span) = self.audit_call(request, who, kind) {
            span.finish(
                None,
                None,
                Some(&crate::error::Error::PermissionDenied(format!(
                    "authentication failed: {why:?}"
                ))),
            );
        }
        refused(why)
    }

    /// A session for one call, run as `principal` arriving through `channel`, sharing the
    /// catalog.
    async fn session(&self, principal: Principal, channel: Channel) -> Result<Session, Status> {
        let options = SessionOptions {
            principal,
            memory_limit: Some(self.limits.query_memory),
            shared_memory: Some(Arc::clone(&self.memory)),
            channel,
        };
        Session::with_catalog(Arc::clone(&self.catalog), options)
            .await
            .map_err(status_of)
    }

    /// The FlightInfo of a statement's answer; its rows wait for the ticket's `DoGet`.
    fn answer_info(
        &self,
        answer: Answer,
        session: &Session,
        started: Instant,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let who = session.principal().name.clone();
        let products = session
            .caller()
            .ledger_snapshot()
            .products_read
            .into_iter()
            .collect();
        let (schema, rows, total) = match answer {
            Answer::Done(out) => {
                let (schema, batches) = rows_of(out);
                let target = Arc::new(sendable_schema(&schema));
                let batches = batches
                    .into_iter()
                    .map(|b| cast_batch(b, &target))
                    .collect::<Result<Vec<_>, _>>()?;
                let total: usize = batches.iter().map(|b| b.num_rows()).sum();
                (target, Pending::Ready(batches), total as i64)
            }
            Answer::Rows(planned) => {
                let schema = Arc::new(sendable_schema(&planned.schema()));
                (schema, Pending::Planned(planned), -1)
            }
        };
        let ran = if total < 0 { "planned" } else { "ran" };
        tracing::info!(principal = %who, kind = "statement", rows = total, duration_ms = started.elapsed().as_millis() as u64, "{ran}");
        let handle = random_hex::<16>();
        let ticket = TicketStatementQuery {
            statement_handle: handle.clone().into(),
        };
        let info = FlightInfo::new()
            .try_with_schema(&schema)
            .map_err(|e| Status::internal(format!("the result schema cannot be sent: {e}")))?
            .with_endpoint(
                FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec())),
            )
            .with_descriptor(descriptor)
            .with_total_records(total);
        let mut results = self.results();
        results.retain(|_, w| w.since.elapsed() < RESULT_TTL);
        if results.len() >= MAX_WAITING {
            return Err(Status::resource_exhausted(format!(
                "{MAX_WAITING} results wait to be fetched: fetch each query's result (DoGet \
                 on its ticket) before running more"
            )));
        }
        let cap = self.limits.max_open_per_user;
        if results.values().filter(|w| w.principal == who).count() >= cap {
            return Err(Status::resource_exhausted(format!(
                "{who} has {cap} results waiting to be fetched (--max-open-per-user): fetch \
                 each query's result (DoGet on its ticket) before running more"
            )));
        }
        results.insert(
            handle,
            Waiting {
                principal: who,
                products,
                schema,
                rows,
                since: Instant::now(),
            },
        );
        Ok(Response::new(info))
    }

    /// Fails when `principal` may no longer read one of `products` (the catalog caught up with
    /// every commit first).
    async fn still_readable(
        &self,
        principal: &Principal,
        products: &[String],
    ) -> crate::error::Result<()> {
        if products.is_empty() {
            return Ok(());
        }
        self.catalog.refresh().await?;
        let state = self.catalog.state();
        for p in products {
            let name: crate::model::ProductName =
                p.parse().map_err(crate::error::Error::Invalid)?;
            state.read_access(&principal.name, &name)?;
        }
        Ok(())
    }

    /// The schema a command's result will have, without running it: a statement or prepared
    /// statement is planned, a metadata command has its fixed schema.
    pub(super) async fn schema_of(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        use arrow_flight::sql::Command;
        let principal = self.principal(&request)?;
        let channel = self.channel(&request);
        let any = arrow_flight::sql::Any::decode(&*request.into_inner().cmd)
            .map_err(|_| Status::invalid_argument("the descriptor holds no Flight SQL command"))?;
        let command = Command::try_from(any)
            .map_err(|e| Status::invalid_argument(format!("unreadable command: {e}")))?;
        let schema: Schema = match command {
            Command::CommandStatementQuery(q) => {
                let session = self.session(principal, channel.clone()).await?;
                sendable_schema(&session.describe(&q.query).await.map_err(status_of)?.0)
            }
            Command::CommandPreparedStatementQuery(q) => {
                let prepared = self
                    .prepared
                    .get(&q.prepared_statement_handle, &principal.name)?;
                let session = self.session(principal, channel.clone()).await?;
                sendable_schema(&session.describe(&prepared.sql).await.map_err(status_of)?.0)
            }
            Command::CommandGetCatalogs(q) => q.into_builder().schema().as_ref().clone(),
            Command::CommandGetDbSchemas(q) => q.into_builder().schema().as_ref().clone(),
            Command::CommandGetTables(q) => q.into_builder().schema().as_ref().clone(),
            Command::CommandGetTableTypes(q) => q.into_builder().schema().as_ref().clone(),
            Command::CommandGetSqlInfo(q) => q.into_builder(sql_info()).schema().as_ref().clone(),
            Command::CommandGetXdbcTypeInfo(q) => {
                q.into_builder(xdbc::type_info()).schema().as_ref().clone()
            }
            Command::CommandGetPrimaryKeys(_) => metadata::primary_keys_schema().as_ref().clone(),
            Command::CommandGetImportedKeys(_)
            | Command::CommandGetExportedKeys(_)
            | Command::CommandGetCrossReference(_) => {
                metadata::foreign_keys_schema().as_ref().clone()
            }
            other => {
                return Err(Status::unimplemented(format!(
                    "GetSchema answers for queries, prepared queries and metadata commands, not \
                     {}",
                    other.type_url()
                )));
            }
        };
        let result = SchemaResult::try_from(arrow_flight::SchemaAsIpc::new(
            &schema,
            &arrow::ipc::writer::IpcWriteOptions::default(),
        ))
        .map_err(|e| Status::internal(format!("the result schema cannot be sent: {e}")))?;
        Ok(Response::new(result))
    }

    /// The foreign keys held by `referencing` and/or pointing at `referenced`, as one stream.
    async fn keys(
        &self,
        request: &Request<Ticket>,
        referencing: Option<&TableRef<'_>>,
        referenced: Option<&TableRef<'_>>,
    ) -> Result<Response<BoxStream<arrow_flight::FlightData>>, Status> {
        let principal = self.principal(request)?;
        let channel = self.channel(request);
        let session = self.session(principal, channel.clone()).await?;
        let batch = metadata::foreign_keys(&session, referencing, referenced).map_err(status_of)?;
        self.one_batch(
            request,
            session.principal(),
            "GetForeignKeys",
            metadata::foreign_keys_schema(),
            Ok::<_, String>(batch),
        )
    }

    /// A metadata answer of one batch, sent to `principal` and audited as `kind`.
    fn one_batch<T>(
        &self,
        request: &Request<T>,
        principal: &Principal,
        kind: &'static str,
        schema: SchemaRef,
        batch: Result<RecordBatch, impl std::fmt::Display>,
    ) -> Result<Response<BoxStream<arrow_flight::FlightData>>, Status> {
        let span = self.audit_call(request, principal.clone(), kind)?;
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                let message = format!("building the answer: {e}");
                span.finish_text(None, None, Some(message.clone()));
                return Err(Status::internal(message));
            }
        };
        Ok(send(
            principal.name.clone(),
            kind,
            schema,
            Box::pin(futures::stream::iter([Ok(batch)])),
            None,
            Some(span),
        ))
    }

    fn results(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        match self.results.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Every refusal of credentials says the same to the client: nothing that helps a guesser. A
/// throttled address and a busy server say so, which tells nothing about names or passwords.
fn refused(why: Refusal) -> Status {
    tracing::info!(?why, "call refused");
    match why {
        Refusal::Throttled => Status::resource_exhausted(
            "too many failed sign-ins from this address: wait a minute, then sign in with the \
             right user name and password",
        ),
        Refusal::Busy => Status::unavailable(
            "the server is checking too many sign-ins at once: retry in a moment",
        ),
        Refusal::Missing | Refusal::Wrong | Refusal::Expired => Status::unauthenticated(
            "authentication failed: log in again with a user name and password, or use a valid \
             token",
        ),
    }
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
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let client = request.remote_addr().map(|a| a.ip());
        let (principal, token) = self
            .auth
            .handshake_from(header.clone(), client)
            .await
            .map_err(|why| {
                self.refusal(&request, "Handshake", claimed_user(header.as_deref()), why)
            })?;
        tracing::info!(principal = %principal.name, "handshake");
        self.audit_call(&request, principal.clone(), "Handshake")?
            .finish(None, None, None);
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
        let channel = self.channel(&request);
        let _running = self.admit()?;
        let started = Instant::now();
        let session = self.session(principal, channel.clone()).await?;
        let answer = session
            .sql_streaming(&query.query)
            .await
            .map_err(status_of)?;
        self.answer_info(answer, &session, started, request.into_inner())
    }

    async fn get_flight_info_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let principal = self.principal(&request)?;
        let channel = self.channel(&request);
        let _running = self.admit()?;
        let started = Instant::now();
        let who = principal.name.clone();
        let prepared = self.prepared.get(&cmd.prepared_statement_handle, &who)?;
        let params = match prepared.params.len() {
            0 => Vec::new(),
            1 => prepared.params[0].clone(),
            n => {
                return Err(Status::invalid_argument(format!(
                    "{n} parameter rows are bound to a query; bind one row"
                )));
            }
        };
        let session = self.session(principal, channel.clone()).await?;
        let answer = session
            .sql_with_params(&prepared.sql, params)
            .await
            .map_err(status_of)?;
        self.answer_info(answer, &session, started, request.into_inner())
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let principal = self.principal(&request)?;
        let channel = self.channel(&request);
        let who = principal.name.clone();
        let session = self.session(principal, channel.clone()).await?;
        let (result, params) = session.describe(&query.query).await.map_err(status_of)?;
        let handle = self
            .prepared
            .add(&who, &query.query, self.limits.max_open_per_user)?;
        tracing::info!(principal = %who, kind = "prepare", parameters = params.fields().len(), "prepare");
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.into(),
            dataset_schema: schema_bytes(&sendable_schema(&result))?,
            parameter_schema: schema_bytes(&params)?,
        })
    }

    async fn do_put_prepared_statement_query(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        self.put_parameters(cmd, put_messages(request)).await
    }

    async fn do_put_prepared_statement_update(
        &self,
        cmd: CommandPreparedStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        self.put_prepared_update(cmd, put_messages(request)).await
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        let principal = self.principal(&request)?;
        self.prepared
            .close(&query.prepared_statement_handle, &principal.name)
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        // a slot first: a fetch refused for want of one leaves the result there to fetch again
        let admission = self.admit()?;
        let handle = String::from_utf8_lossy(&ticket.statement_handle).to_string();
        let waiting = {
            let mut results = self.results();
            match results.get(&handle) {
                Some(w) if w.principal == principal.name => results.remove(&handle),
                _ => None,
            }
        }
        .ok_or_else(|| {
            let message =
                "no result for this ticket: it was fetched already or expired; run the query again";
            // a ticket of another user, or a replayed one, is a refusal worth recording
            if let Ok(span) = self.audit_call(&request, principal.clone(), "DoGet") {
                span.finish_text(None, None, Some(message.to_string()));
            }
            Status::not_found(message)
        })?;
        let schema = waiting.schema;
        let (batches, admission, audit): (BoxStream<RecordBatch>, _, _) = match waiting.rows {
            // a statement that ran already was audited when it ran
            Pending::Ready(batches) => (
                Box::pin(futures::stream::iter(batches.into_iter().map(Ok))),
                None,
                None,
            ),
            Pending::Planned(planned) => {
                // a grant revoked (or expired) since the query was planned holds here too
                if let Err(e) = self.still_readable(&principal, &waiting.products).await {
                    planned.refuse(&e);
                    return Err(status_of(e));
                }
                // the query runs while its rows stream: it holds its slot until it ends
                let target = Arc::clone(&schema);
                let (stream, audit) = planned.execute().map_err(status_of)?;
                (
                    Box::pin(stream.map(move |batch| {
                        let batch = batch.map_err(|e| status_of(e.into()))?;
                        cast_batch(batch, &target)
                    })),
                    Some(admission),
                    audit,
                )
            }
        };
        Ok(send(
            principal.name,
            "query",
            schema,
            batches,
            admission,
            audit,
        ))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.clone().into_builder(sql_info()).schema();
        info_for(
            query.as_any().encode_to_vec(),
            &schema,
            request.into_inner(),
        )
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        let builder = query.into_builder(sql_info());
        self.one_batch(
            &request,
            &principal,
            "GetSqlInfo",
            builder.schema(),
            builder.build(),
        )
    }

    async fn do_put_statement_update(
        &self,
        command: CommandStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        self.put_update(command, put_messages(request)).await
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.into_builder().schema();
        info_for(
            query.as_any().encode_to_vec(),
            &schema,
            request.into_inner(),
        )
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        let mut builder = query.into_builder();
        builder.append(metadata::catalog_name());
        let schema = builder.schema();
        self.one_batch(&request, &principal, "GetCatalogs", schema, builder.build())
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.clone().into_builder().schema();
        info_for(
            query.as_any().encode_to_vec(),
            &schema,
            request.into_inner(),
        )
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        let channel = self.channel(&request);
        let session = self.session(principal, channel.clone()).await?;
        let mut builder = query.into_builder();
        for s in metadata::schemas(&session) {
            builder.append(metadata::catalog_name(), s);
        }
        let schema = builder.schema();
        self.one_batch(
            &request,
            session.principal(),
            "GetDbSchemas",
            schema,
            builder.build(),
        )
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.clone().into_builder().schema();
        info_for(
            query.as_any().encode_to_vec(),
            &schema,
            request.into_inner(),
        )
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        let channel = self.channel(&request);
        let session = self.session(principal, channel.clone()).await?;
        let mut builder = query.into_builder();
        for t in metadata::tables(&session).await.map_err(status_of)? {
            builder
                .append(
                    metadata::catalog_name(),
                    &t.schema,
                    &t.name,
                    t.table_type,
                    &sendable_schema(&t.columns),
                )
                .map_err(|e| Status::internal(format!("listing table {}: {e}", t.name)))?;
        }
        let schema = builder.schema();
        self.one_batch(
            &request,
            session.principal(),
            "GetTables",
            schema,
            builder.build(),
        )
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.into_builder().schema();
        info_for(
            query.as_any().encode_to_vec(),
            &schema,
            request.into_inner(),
        )
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        let mut builder = query.into_builder();
        for t in metadata::TABLE_TYPES {
            builder.append(t);
        }
        let schema = builder.schema();
        self.one_batch(
            &request,
            &principal,
            "GetTableTypes",
            schema,
            builder.build(),
        )
    }

    async fn do_put_statement_ingest(
        &self,
        cmd: CommandStatementIngest,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        self.put_ingest(cmd, put_messages(request)).await
    }

    async fn get_flight_info_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = metadata::primary_keys_schema();
        info_for(
            query.as_any().encode_to_vec(),
            &schema,
            request.into_inner(),
        )
    }

    async fn do_get_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        let channel = self.channel(&request);
        let session = self.session(principal, channel.clone()).await?;
        let batch = metadata::primary_keys(
            &session,
            query.catalog.as_deref(),
            query.db_schema.as_deref(),
            &query.table,
        )
        .map_err(status_of)?;
        self.one_batch(
            &request,
            session.principal(),
            "GetPrimaryKeys",
            metadata::primary_keys_schema(),
            Ok::<_, String>(batch),
        )
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.into_builder(xdbc::type_info()).schema();
        info_for(
            query.as_any().encode_to_vec(),
            &schema,
            request.into_inner(),
        )
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        let builder = query.into_builder(xdbc::type_info());
        self.one_batch(
            &request,
            &principal,
            "GetXdbcTypeInfo",
            builder.schema(),
            builder.build(),
        )
    }

    async fn get_flight_info_imported_keys(
        &self,
        query: CommandGetImportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        keys_info(query.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_imported_keys(
        &self,
        query: CommandGetImportedKeys,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let table = TableRef::new(&query.catalog, &query.db_schema, &query.table);
        self.keys(&request, Some(&table), None).await
    }

    async fn get_flight_info_exported_keys(
        &self,
        query: CommandGetExportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        keys_info(query.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_exported_keys(
        &self,
        query: CommandGetExportedKeys,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let table = TableRef::new(&query.catalog, &query.db_schema, &query.table);
        self.keys(&request, None, Some(&table)).await
    }

    async fn get_flight_info_cross_reference(
        &self,
        query: CommandGetCrossReference,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        keys_info(query.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_cross_reference(
        &self,
        query: CommandGetCrossReference,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let primary = TableRef::new(&query.pk_catalog, &query.pk_db_schema, &query.pk_table);
        let foreign = TableRef::new(&query.fk_catalog, &query.fk_db_schema, &query.fk_table);
        self.keys(&request, Some(&foreign), Some(&primary)).await
    }

    async fn get_flight_info_substrait_plan(
        &self,
        _query: CommandStatementSubstraitPlan,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        Err(no_substrait())
    }

    async fn do_put_substrait_plan(
        &self,
        _query: CommandStatementSubstraitPlan,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        self.put_substrait_plan(_query, put_messages(request)).await
    }

    async fn do_action_create_prepared_substrait_plan(
        &self,
        _query: ActionCreatePreparedSubstraitPlanRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        self.principal(&request)?;
        Err(no_substrait())
    }

    async fn do_action_begin_transaction(
        &self,
        _query: ActionBeginTransactionRequest,
        request: Request<Action>,
    ) -> Result<ActionBeginTransactionResult, Status> {
        self.principal(&request)?;
        Err(no_transactions())
    }

    async fn do_action_end_transaction(
        &self,
        _query: ActionEndTransactionRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        self.principal(&request)?;
        Err(no_transactions())
    }

    async fn do_action_begin_savepoint(
        &self,
        _query: ActionBeginSavepointRequest,
        request: Request<Action>,
    ) -> Result<ActionBeginSavepointResult, Status> {
        self.principal(&request)?;
        Err(no_transactions())
    }

    async fn do_action_end_savepoint(
        &self,
        _query: ActionEndSavepointRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        self.principal(&request)?;
        Err(no_transactions())
    }

    async fn do_action_cancel_query(
        &self,
        _query: ActionCancelQueryRequest,
        request: Request<Action>,
    ) -> Result<ActionCancelQueryResult, Status> {
        self.principal(&request)?;
        Err(Status::unimplemented(
            "lakemeta cancels a query when its client stops reading it: close the stream (or \
             the connection) instead of sending CancelQuery",
        ))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

/// A FlightInfo whose one endpoint's ticket is the command itself.
fn info_for(
    ticket: Vec<u8>,
    schema: &Schema,
    descriptor: FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|e| Status::internal(format!("the result schema cannot be sent: {e}")))?
        .with_endpoint(FlightEndpoint::new().with_ticket(Ticket::new(ticket)))
        .with_descriptor(descriptor);
    Ok(Response::new(info))
}

/// The answer to a Substrait plan.
fn no_substrait() -> Status {
    Status::unimplemented("lakemeta does not take Substrait plans: send the statement as SQL")
}

/// The answer to a transaction or savepoint request.
fn no_transactions() -> Status {
    Status::unimplemented(
        "lakemeta has no transactions: every statement commits on its own (autocommit); \
         connect with autocommit on",
    )
}

/// The FlightInfo of a foreign-key command.
fn keys_info(
    ticket: Vec<u8>,
    descriptor: FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    info_for(ticket, &metadata::foreign_keys_schema(), descriptor)
}

/// The response that streams `batches` (of `schema`) to `who`, counted and traced as `kind`;
/// `admission` is held until the stream ends or is dropped, and `audit` completed then.
fn send(
    who: String,
    kind: &'static str,
    schema: SchemaRef,
    batches: BoxStream<RecordBatch>,
    admission: Option<OwnedSemaphorePermit>,
    audit: Option<AuditSpan>,
) -> Response<BoxStream<arrow_flight::FlightData>> {
    let rows = RowCount::default();
    let counter = rows.clone();
    let encoded = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(
            batches
                .map_ok(move |b| counter.count(b))
                .map_err(arrow_flight::error::FlightError::from),
        )
        .map_err(Status::from);
    Response::new(Box::pin(Metered::new(
        Box::pin(encoded),
        who,
        kind,
        rows,
        admission,
        audit,
    )))
}

/// The type a column is sent as: dictionaries as their values and view types as their plain
/// forms, which every Flight SQL client reads (the FlightInfo schema and the stream agree).
fn sendable_type(t: &DataType) -> DataType {
    let field = |f: &arrow::datatypes::FieldRef| {
        Arc::new(
            f.as_ref()
                .clone()
                .with_data_type(sendable_type(f.data_type())),
        )
    };
    match t {
        DataType::Dictionary(_, value) => sendable_type(value),
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        DataType::ListView(f) => DataType::List(field(f)),
        DataType::LargeListView(f) => DataType::LargeList(field(f)),
        DataType::List(f) => DataType::List(field(f)),
        DataType::LargeList(f) => DataType::LargeList(field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(field(f), *n),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(field).collect()),
        DataType::Map(f, sorted) => DataType::Map(field(f), *sorted),
        other => other.clone(),
    }
}

fn sendable_schema(schema: &Schema) -> Schema {
    Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .map(|f| {
                f.as_ref()
                    .clone()
                    .with_data_type(sendable_type(f.data_type()))
            })
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    )
}

/// A batch cast to the [`sendable_schema`] `target` (a no-op when it has it already).
fn cast_batch(batch: RecordBatch, target: &SchemaRef) -> Result<RecordBatch, Status> {
    if batch.schema() == *target {
        return Ok(batch);
    }
    batch
        .columns()
        .iter()
        .zip(target.fields())
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|columns| RecordBatch::try_new(Arc::clone(target), columns))
        .map_err(|e| Status::internal(format!("preparing the result: {e}")))
}

/// `DoPut`'s handlers, called by lakemeta's own dispatch ([`super::put`]) and by the Flight SQL
/// trait's methods above.
impl LakeFlightService {
    pub(super) async fn put_parameters(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<PutMessages>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let principal = self.principal(&request)?;
        let rows = parameter_rows(request.into_inner()).await?;
        self.prepared
            .bind(&cmd.prepared_statement_handle, &principal.name, rows)?;
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(cmd.prepared_statement_handle),
        })
    }

    pub(super) async fn put_prepared_update(
        &self,
        cmd: CommandPreparedStatementUpdate,
        request: Request<PutMessages>,
    ) -> Result<i64, Status> {
        let principal = self.principal(&request)?;
        let channel = self.channel(&request);
        let _running = self.admit()?;
        let who = principal.name.clone();
        let prepared = self.prepared.get(&cmd.prepared_statement_handle, &who)?;
        let mut rows = parameter_rows(request.into_inner()).await?;
        if rows.is_empty() {
            rows = prepared.params.clone();
        }
        if rows.is_empty() {
            rows.push(Vec::new());
        }
        let session = self.session(principal, channel.clone()).await?;
        let mut written = 0i64;
        for params in rows {
            match session
                .sql_with_params(&prepared.sql, params)
                .await
                .map_err(status_of)?
            {
                Answer::Done(out) => written += out.rows_written.map_or(0, |n| n as i64),
                Answer::Rows(_) => {
                    return Err(Status::invalid_argument(
                        "this prepared statement is a query: execute it as a query, not an update",
                    ));
                }
            }
        }
        tracing::info!(principal = %who, kind = "prepared update", rows = written, "update");
        Ok(written)
    }

    pub(super) async fn put_update(
        &self,
        command: CommandStatementUpdate,
        request: Request<PutMessages>,
    ) -> Result<i64, Status> {
        let principal = self.principal(&request)?;
        let channel = self.channel(&request);
        let _running = self.admit()?;
        let who = principal.name.clone();
        let session = self.session(principal, channel.clone()).await?;
        let out = session
            .sql(&command.query)
            .await
            .map_err(status_of)?
            .pop()
            .ok_or_else(|| Status::invalid_argument("the update holds no statement: send one"))?;
        let rows = out.rows_written.map_or(0, |n| n as i64);
        tracing::info!(principal = %who, kind = "update", rows, "update");
        Ok(rows)
    }

    pub(super) async fn put_ingest(
        &self,
        cmd: CommandStatementIngest,
        request: Request<PutMessages>,
    ) -> Result<i64, Status> {
        use arrow_flight::sql::{TableExistsOption, TableNotExistOption};
        let principal = self.principal(&request)?;
        let channel = self.channel(&request);
        let _running = self.admit()?;
        let who = principal.name.clone();
        if cmd.temporary || cmd.transaction_id.is_some() {
            return Err(Status::unimplemented(
                "lakemeta has no temporary tables or transactions: ingest into a data product",
            ));
        }
        if let Some(c) = cmd
            .catalog
            .as_deref()
            .filter(|c| *c != metadata::catalog_name())
        {
            return Err(Status::not_found(format!(
                "unknown catalog '{c}': the catalog is {}",
                metadata::catalog_name()
            )));
        }
        let domain = cmd.schema.clone().ok_or_else(|| {
            Status::invalid_argument(
                "name the domain as the ingest's schema (db_schema_name): data products live \
                 in domains",
            )
        })?;
        let options = cmd.table_definition_options.unwrap_or_default();
        let if_exists = match TableExistsOption::try_from(options.if_exists) {
            Ok(TableExistsOption::Fail) => IfExists::Fail,
            Ok(TableExistsOption::Append) => IfExists::Append,
            Ok(TableExistsOption::Replace) => IfExists::Replace,
            _ => {
                return Err(Status::invalid_argument(
                    "say what to do when the product exists: fail, append or replace",
                ));
            }
        };
        let create = match TableNotExistOption::try_from(options.if_not_exist) {
            Ok(TableNotExistOption::Create) => true,
            Ok(TableNotExistOption::Fail) => false,
            _ => {
                return Err(Status::invalid_argument(
                    "say what to do when the product does not exist: create or fail",
                ));
            }
        };
        // refused before a byte of the rows is read: a caller who may not write the product
        // cannot make the server buffer its stream
        let name = crate::model::ProductName::new(domain.as_str(), &cmd.table);
        let session = self.session(principal, channel.clone()).await?;
        session.authorize_ingest(&name).await.map_err(status_of)?;
        let rows = ClientRows::new(request.into_inner(), "rows")
            .into_stream()
            .await?;
        let out = session
            .ingest(name, rows, if_exists, create)
            .await
            .map_err(status_of)?;
        let rows = out.rows_written.unwrap_or(0);
        tracing::info!(principal = %who, kind = "ingest", rows, "ingest");
        Ok(rows as i64)
    }

    pub(super) async fn put_substrait_plan(
        &self,
        _query: CommandStatementSubstraitPlan,
        request: Request<PutMessages>,
    ) -> Result<i64, Status> {
        self.principal(&request)?;
        Err(no_substrait())
    }
}

/// The messages of a `DoPut`, the first one (read for dispatch) still at their head.
pub(super) type PutMessages = Pin<Box<dyn Stream<Item = Result<FlightData, Status>> + Send>>;

/// A `DoPut` request as arrow-flight's dispatch hands it over, with its messages boxed.
fn put_messages(request: Request<PeekableFlightDataStream>) -> Request<PutMessages> {
    request.map(|messages| Box::pin(messages) as PutMessages)
}
