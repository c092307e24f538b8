use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::execution::TaskContext;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::context::{SessionConfig, SessionContext, SessionState};
use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{DdlStatement, DmlStatement, LogicalPlan, WriteOp};
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream};
use datafusion::sql::parser::Statement as DfStatement;
use futures::TryStreamExt;

use super::memory::QueryPool;
use super::output::Output;
use super::parser::{Versions, parse_sql, versions};
use super::past::PastTable;
use super::statements::ParsedStatement;
use crate::catalog::{Catalog, LakeCatalog, META_SCHEMA, Published};
use crate::error::{Error, Result};
use crate::governance::{AuditSpan, Caller, Channel, verify_plan};
use crate::model::{AsOf, Column, DataProduct, Principal, ProductName, now_micros};
use crate::storage::{Warehouse, attribute_storage_failures, storage_failures};

/// The name of lakemeta's DataFusion catalog.
pub const CATALOG_NAME: &str = "lakemeta";

/// What a statement run for streaming gives.
pub enum Answer {
    /// It ran: its output (a message, or rows it had to compute to run).
    Done(Output),
    /// A query, planned, checked by the access gate and ready to stream.
    Rows(Planned),
}

/// A query's physical plan, verified by the access gate, and the audit record it completes
/// when its rows have been read (or abandoned).
pub struct Planned {
    plan: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
    span: Option<AuditSpan>,
}

impl Planned {
    /// The schema of its rows.
    pub fn schema(&self) -> SchemaRef {
        self.plan.schema()
    }

    /// Starts running it: the stream of its rows, and the audit record to finish with the rows
    /// and bytes sent (dropping it unfinished records the query as cancelled).
    pub fn execute(mut self) -> Result<(SendableRecordBatchStream, Option<AuditSpan>)> {
        let span = self.span.take();
        match datafusion::physical_plan::execute_stream(self.plan, self.task) {
            Ok(stream) => Ok((stream, span)),
            Err(e) => {
                let e = Error::from(e).unwrap_df();
                if let Some(s) = span {
                    s.finish(None, None, Some(&e));
                }
                Err(e)
            }
        }
    }

    /// The plan as the rows of a write another engine runs: bound to this statement's task
    /// context, its batches labelled `schema`, checked by `check` and counted in `tally`.
    pub(crate) fn bind(
        self,
        schema: SchemaRef,
        check: Option<super::bound_plan::BatchCheck>,
        tally: Arc<super::bound_plan::Tally>,
    ) -> Arc<dyn ExecutionPlan> {
        Arc::new(super::bound_plan::BoundPlan::new(
            Arc::clone(&self.plan),
            Arc::clone(&self.task),
            schema,
            check,
            tally,
        ))
    }

    /// Refuses to run it: its audit record ends with `error` (a check made when its rows were
    /// asked for).
    pub fn refuse(mut self, error: &Error) {
        if let Some(span) = self.span.take() {
            span.finish(None, None, Some(error));
        }
    }

    /// Runs it to the end and returns its rows.
    pub async fn collect(self) -> Result<Output> {
        let schema = self.schema();
        let (stream, span) = self.execute()?;
        let collected: Result<Vec<RecordBatch>> = stream
            .try_collect()
            .await
            .map_err(|e| Error::from(e).unwrap_df());
        match collected {
            Ok(batches) => {
                let out = Output::rows(schema, batches);
                if let Some(s) = span {
                    s.finish(Some(out.audited_rows()), Some(out.byte_count()), None);
                }
                Ok(out)
            }
            Err(e) => {
                if let Some(s) = span {
                    s.finish(None, None, Some(&e));
                }
                Err(e)
            }
        }
    }
}

/// What a bulk load does when its product exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// Refuse.
    Fail,
    /// Append the rows.
    Append,
    /// Replace the product's data (and schema) with the rows.
    Replace,
}

/// How a session is opened.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Who runs the statements.
    pub principal: Principal,
    /// The memory one statement's operators may hold, in bytes (`None`: no limit). Sorts,
    /// joins and aggregations spill to the temporary directory beyond it where DataFusion can;
    /// otherwise the statement fails with a resources-exhausted error.
    pub memory_limit: Option<usize>,
    /// The pool the memory of every query of a server comes from (with `memory_limit` the
    /// most one query may take of it); `None`: the query's memory is its own.
    pub shared_memory: Option<Arc<dyn MemoryPool>>,
    /// How the statements arrive: locally, or from a Flight SQL client (which may not act on
    /// the server's machine: no `COPY … TO`, `SET`, or `LOCATION` outside the allowed roots).
    pub channel: Channel,
}

impl SessionOptions {
    /// Statements run locally as `principal`, without a memory limit.
    pub fn new(principal: Principal) -> Self {
        Self {
            principal,
            memory_limit: None,
            shared_memory: None,
            channel: Channel::Local,
        }
    }
}

/// A SQL session on a warehouse, run as one principal: DataFusion over the system tables and
/// the data products, plus lakemeta's own statements. Every statement passes the access gate
/// and is audited.
pub struct Session {
    catalog: Arc<Catalog>,
    ctx: SessionContext,
    caller: Arc<Caller>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("principal", self.principal())
            .finish()
    }
}

impl Session {
    /// Opens a session on a warehouse.
    pub async fn open(warehouse: Arc<Warehouse>, options: SessionOptions) -> Result<Self> {
        let catalog = Arc::new(Catalog::open(Arc::clone(&warehouse)).await?);
        Self::with_catalog(catalog, options).await
    }

    /// Opens a session sharing an already opened catalog.
    pub async fn with_catalog(catalog: Arc<Catalog>, options: SessionOptions) -> Result<Self> {
        let config = SessionConfig::new()
            .with_default_catalog_and_schema(CATALOG_NAME, META_SCHEMA)
            .with_information_schema(true)
            .with_create_default_catalog_and_schema(false);
        // External products are files that other tools rewrite: list them afresh for every
        // query instead of trusting DataFusion's listing and statistics caches (Parquet footers
        // stay cached; their entries are checked against each file's size and time).
        let caches = CacheManagerConfig::default()
            .with_list_files_cache_limit(0)
            .with_file_statistics_cache_limit(0);
        let mut runtime = RuntimeEnvBuilder::new().with_cache_manager(caches);
        runtime = match (options.memory_limit, options.shared_memory) {
            (Some(limit), Some(shared)) => {
                runtime.with_memory_pool(Arc::new(QueryPool::new(limit, shared)))
            }
            (Some(limit), None) => runtime.with_memory_pool(Arc::new(FairSpillPool::new(limit))),
            (None, Some(shared)) => runtime.with_memory_pool(shared),
            (None, None) => runtime,
        };
        let runtime = runtime.build_arc()?;
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        let wh = catalog.warehouse();
        let (key, store) = wh.data().store_for(wh.url())?;
        ctx.runtime_env().register_object_store(&key, store);
        let caller = Arc::new(Caller::new(options.principal, options.channel));
        super::functions::register(&ctx, &catalog, &caller);
        let session = Self {
            catalog,
            ctx,
            caller,
        };
        session.install(&[], false).await?;
        Ok(session)
    }

    /// The catalog.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The warehouse.
    pub fn warehouse(&self) -> &Arc<Warehouse> {
        self.catalog.warehouse()
    }

    /// Who runs this session's statements.
    pub fn principal(&self) -> &Principal {
        self.caller.principal()
    }

    /// The principal, its channel and the record of the current statement.
    pub fn caller(&self) -> &Arc<Caller> {
        &self.caller
    }

    /// The DataFusion context (its catalog is the snapshot of the last statement).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The DataFusion state, for operations that plan or read files.
    pub fn state(&self) -> SessionState {
        self.ctx.state()
    }

    /// Runs every statement of `sql` in order and returns their outputs; stops at the first
    /// error.
    pub async fn sql(&self, sql: &str) -> Result<Vec<Output>> {
        let mut out = Vec::new();
        for stmt in self.parse(sql).await? {
            out.push(self.run(stmt).await?);
        }
        Ok(out)
    }

    /// Runs one parsed statement to its end.
    pub async fn run(&self, stmt: ParsedStatement) -> Result<Output> {
        match self.statement(stmt, None).await? {
            Answer::Done(out) => Ok(out),
            Answer::Rows(planned) => planned.collect().await,
        }
    }

    /// Runs every statement of `sql`; the last one, if it is a query, is planned but not run:
    /// its rows are read from the returned [`Answer::Rows`] as a stream, batch by batch.
    pub async fn sql_streaming(&self, sql: &str) -> Result<Answer> {
        let mut statements = self.parse(sql).await?;
        let Some(last) = statements.pop() else {
            return Err(Error::invalid("no statement: send one"));
        };
        for stmt in statements {
            self.run(stmt).await?;
        }
        self.statement(last, None).await
    }

    /// Runs one statement with values for its parameters (`?` or `$1`, `$2`, …); a query is
    /// planned but not run, as with [`Session::sql_streaming`].
    pub async fn sql_with_params(
        &self,
        sql: &str,
        params: Vec<datafusion::common::ScalarValue>,
    ) -> Result<Answer> {
        let stmt = one_statement(self.parse(sql).await?)?;
        if matches!(stmt, ParsedStatement::Lake(_)) && !params.is_empty() {
            return Err(Error::invalid(
                "lakemeta's own statements take no parameters: write the values into the statement",
            ));
        }
        self.statement(stmt, Some(params)).await
    }

    /// The statements of `sql`; text that does not parse is audited (as `unparsed`) before
    /// its error is returned.
    async fn parse(&self, sql: &str) -> Result<Vec<ParsedStatement>> {
        match parse_sql(sql) {
            Ok(statements) => Ok(statements),
            Err(e) => {
                self.begin("unparsed", Some(sql.to_string()))
                    .await?
                    .finish(None, None, Some(&e));
                Err(e)
            }
        }
    }

    /// One statement through the gate: refused while the audit log cannot be written, run
    /// under one version of the governance rules, audited when it ends.
    async fn statement(
        &self,
        stmt: ParsedStatement,
        params: Option<Vec<datafusion::common::ScalarValue>>,
    ) -> Result<Answer> {
        let span = self.begin(stmt.kind(), Some(stmt.to_string())).await?;
        let failures = storage_failures();
        let result = match self.check_statement(&stmt) {
            Err(e) => Err(e),
            Ok(()) => match stmt {
                ParsedStatement::Lake(s) => self.run_lake(s).await.map(Answer::Done),
                ParsedStatement::DataFusion(s) => self.run_df_lazily(*s, params).await,
            },
        }
        .map_err(Error::unwrap_df);
        match attribute_storage_failures(failures, result) {
            Ok(Answer::Done(out)) => {
                span.finish(Some(out.audited_rows()), Some(out.byte_count()), None);
                Ok(Answer::Done(out))
            }
            Ok(Answer::Rows(mut planned)) => {
                planned.span = Some(span);
                Ok(Answer::Rows(planned))
            }
            Err(e) => {
                span.finish(None, None, Some(&e));
                Err(e)
            }
        }
    }

    /// Starts a statement (or any audited operation) of `kind`: refused while the audit log
    /// cannot be written; the catalog caught up with every commit; the governance rules of
    /// that snapshot pinned for the whole statement.
    pub async fn begin(&self, kind: &str, text: Option<String>) -> Result<AuditSpan> {
        self.catalog.audit().check()?;
        self.catalog.refresh().await?;
        self.caller
            .begin(Arc::clone(&self.catalog.state().governance));
        Ok(AuditSpan::start(
            Arc::clone(self.catalog.audit()),
            Arc::clone(&self.caller),
            kind,
            text.map(truncated),
        ))
    }

    /// A bulk load: writes `rows` into the data product `name` as they arrive — appended, or
    /// replacing its data, when it exists (`if_exists`); created as a managed Delta product
    /// when it does not and `create` is set. Nothing is kept when the rows end in an error.
    pub async fn ingest(
        &self,
        name: ProductName,
        rows: SendableRecordBatchStream,
        if_exists: IfExists,
        create: bool,
    ) -> Result<Output> {
        let span = self
            .begin("ingest", Some(format!("bulk ingest into {name}")))
            .await?;
        let failures = storage_failures();
        let result = self
            .load(name, rows, if_exists, create)
            .await
            .map_err(Error::unwrap_df);
        let result = attribute_storage_failures(failures, result);
        match &result {
            Ok(out) => span.finish(Some(out.audited_rows()), None, None),
            Err(e) => span.finish(None, None, Some(e)),
        }
        result
    }

    /// Fails, audited, unless the principal may write the rows of a bulk load into `name` (its
    /// owners, or its domain's to create it): checked before the rows are read.
    pub async fn authorize_ingest(&self, name: &ProductName) -> Result<()> {
        let failures = storage_failures();
        attribute_storage_failures(failures, self.catalog.refresh().await)?;
        let state = self.catalog.state();
        let who = &self.principal().name;
        let allowed = if state.products.contains_key(name) {
            state.check_write_product(who, name)
        } else if state.domains.contains_key(&name.domain) {
            state.check_write_domain(who, &name.domain)
        } else {
            // an unknown domain: the load itself says so
            Ok(())
        };
        if let Err(e) = &allowed {
            self.begin("ingest", Some(format!("bulk ingest into {name}")))
                .await?
                .finish(None, None, Some(e));
        }
        allowed
    }

    /// The schema of what a statement returns and of its parameters, without running it
    /// (lakemeta's own statements and DDL return a message: no columns). Preparing is audited
    /// and passes the gate as running would (each execution is checked again).
    pub async fn describe(&self, sql: &str) -> Result<(Schema, Schema)> {
        let stmt = one_statement(self.parse(sql).await?)?;
        let span = self.begin("prepare", Some(stmt.to_string())).await?;
        let result = self
            .describe_statement(stmt)
            .await
            .map_err(Error::unwrap_df);
        match &result {
            Ok(_) => span.finish(None, None, None),
            Err(e) => span.finish(None, None, Some(e)),
        }
        result
    }

    async fn describe_statement(&self, stmt: ParsedStatement) -> Result<(Schema, Schema)> {
        self.check_statement(&stmt)?;
        let ParsedStatement::DataFusion(stmt) = stmt else {
            return Ok((Schema::empty(), Schema::empty()));
        };
        let plan = self.plan_df(*stmt).await?;
        let mut params: Vec<(String, Option<arrow::datatypes::DataType>)> =
            plan.get_parameter_types()?.into_iter().collect();
        params.sort_by_key(|(name, _)| name[1..].parse::<usize>().unwrap_or(usize::MAX));
        let params = Schema::new(
            params
                .into_iter()
                .map(|(name, t)| {
                    Field::new(name, t.unwrap_or(arrow::datatypes::DataType::Null), true)
                })
                .collect::<Vec<_>>(),
        );
        let result = match plan {
            LogicalPlan::Ddl(_) | LogicalPlan::Dml(_) => Schema::empty(),
            other => other.schema().as_arrow().clone(),
        };
        Ok((result, params))
    }

    /// Refreshes the catalog and (re)installs the DataFusion catalog with the named products
    /// opened (`all`: every product, skipping those that cannot be opened); returns the opened
    /// products' providers and Delta versions.
    pub(crate) async fn install(
        &self,
        names: &[ProductName],
        all: bool,
    ) -> Result<HashMap<ProductName, Published>> {
        self.catalog.refresh().await?;
        self.register(names, all, &[]).await
    }

    /// Installs the DataFusion catalog for the current snapshot (no refresh of the system
    /// tables), with the named products opened and the `past` tables at their versions, every
    /// table behind the gate.
    async fn register(
        &self,
        names: &[ProductName],
        all: bool,
        past: &[PastTable],
    ) -> Result<HashMap<ProductName, Published>> {
        let state = self.catalog.state();
        let wh = self.warehouse();
        let wanted: Vec<ProductName> = if all {
            state.products.keys().cloned().collect()
        } else {
            names.to_vec()
        };
        let past_products = past.iter().filter_map(|p| match p {
            PastTable::Product { name, .. } => Some(name),
            PastTable::Meta { .. } => None,
        });
        for name in wanted.iter().chain(past_products) {
            if let Some(p) = state.products.get(name) {
                let url = wh.data().resolve(&p.location)?;
                let (key, store) = wh.data().store_for(&url)?;
                self.ctx.runtime_env().register_object_store(&key, store);
            }
        }
        let tables = self.catalog.tables();
        let opened = tables
            .prepare(wh, &state, &wanted, &self.ctx.state(), all)
            .await?;
        let (past_meta, past_products) = self.open_past(past, &state).await?;
        let mut raw = tables.meta_providers(wh, &state).await?;
        raw.extend(past_meta);
        let mut meta = self.secure_meta(raw, &state);
        let products: HashMap<ProductName, Arc<dyn TableProvider>> = opened
            .iter()
            .map(|(name, (provider, _))| (name.clone(), Arc::clone(provider)))
            .collect();
        let views = match tables.views() {
            Some(views) => views,
            None => {
                // the views' columns, worked out once over the system tables
                self.ctx.register_catalog(
                    CATALOG_NAME,
                    Arc::new(LakeCatalog::new(
                        &state,
                        meta.clone(),
                        &products,
                        &past_products,
                        &self.caller,
                        wh.mask_key(),
                    )),
                );
                tables.keep_views(super::views::plan_views(&self.ctx).await?)
            }
        };
        meta.extend(views);
        self.ctx.register_catalog(
            CATALOG_NAME,
            Arc::new(LakeCatalog::new(
                &state,
                meta,
                &products,
                &past_products,
                &self.caller,
                wh.mask_key(),
            )),
        );
        Ok(opened)
    }

    /// Refuses a name of schema `meta` (the default one) that is no table of it: an unknown
    /// table, or a data product named without its domain.
    fn meta_table_exists(&self, table: &str) -> Result<()> {
        let meta = self
            .ctx
            .catalog(CATALOG_NAME)
            .and_then(|c| c.schema(META_SCHEMA));
        match meta {
            Some(schema) if !schema.table_exist(table) => {
                let mut tables = schema.table_names();
                tables.sort();
                let owners: Vec<String> = self
                    .catalog
                    .state()
                    .products
                    .keys()
                    .filter(|p| p.name == table)
                    .map(ToString::to_string)
                    .collect();
                let hint = if owners.is_empty() {
                    format!(
                        "the tables of meta are {}; a data product is named domain.product \
                         (SHOW PRODUCTS lists them)",
                        tables.join(", ")
                    )
                } else {
                    format!(
                        "a data product is named with its domain: {}",
                        owners.join(", ")
                    )
                };
                Err(Error::UnknownTable {
                    name: table.to_string(),
                    hint,
                })
            }
            _ => Ok(()),
        }
    }

    /// Registers what a statement names, checks that the principal may read every product it
    /// reads, and plans it.
    async fn plan_df(&self, mut stmt: DfStatement) -> Result<LogicalPlan> {
        versions(&mut stmt, Versions::Engine);
        let snapshot = self.catalog.state();
        let refs = self.ctx.state().resolve_table_references(&stmt)?;
        let mut names = Vec::new();
        let mut past = Vec::new();
        let mut all = false;
        for r in &refs {
            if r.catalog().is_some_and(|c| c != CATALOG_NAME) {
                return Err(Error::invalid(format!(
                    "unknown catalog in '{r}': there is one catalog, {CATALOG_NAME}; write \
                     domain.product or meta.<table>"
                )));
            }
            if r.schema() != Some("information_schema")
                && let Some(table) = self.past_table(r, is_write_target(&stmt, r))?
            {
                past.push(table);
                continue;
            }
            match r.schema() {
                Some("information_schema") => all = true,
                None | Some(META_SCHEMA) => {
                    if reads_audit_log(r) {
                        self.catalog.refresh_audit().await?;
                    }
                    // a table function (generate_series, lineage, …) is no table
                    let function = r.schema().is_none()
                        && self.ctx.state().table_functions().contains_key(r.table());
                    if !function && !is_write_target(&stmt, r) {
                        self.meta_table_exists(r.table())?;
                    }
                }
                Some(schema) => {
                    snapshot.domain(schema)?;
                    let name = ProductName::new(schema, r.table());
                    if !is_write_target(&stmt, r) {
                        snapshot.product(&name)?;
                        snapshot.read_access(&self.principal().name, &name)?;
                    }
                    names.push(name);
                }
            }
        }
        if matches!(&stmt, DfStatement::Statement(s) if s.to_string().to_uppercase().starts_with("SHOW TABLES"))
        {
            all = true;
        }
        self.register(&names, all, &past).await?;
        let state = self.ctx.state();
        let plan = state.statement_to_plan(stmt).await?;
        self.check_plan(&plan)?;
        Ok(plan)
    }

    async fn run_df_lazily(
        &self,
        stmt: DfStatement,
        params: Option<Vec<datafusion::common::ScalarValue>>,
    ) -> Result<Answer> {
        // the text of a statement that writes a product goes with the lineage it makes
        let text = if writes_a_product(&stmt) {
            stmt.to_string()
        } else {
            String::new()
        };
        // DataFusion plans no partitioning: taken from the statement, for the Delta table
        let (stmt, partition_by) = take_partitioning(stmt)?;
        let plan = self.plan_df(stmt).await?;
        let plan = match params {
            Some(values) => plan.with_param_values(values)?,
            None => plan,
        };
        match plan {
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(c)) => {
                let name = self.domain_table(&c.name)?;
                self.create_table_as(
                    name,
                    (*c.input).clone(),
                    (c.if_not_exists, c.or_replace),
                    partition_by,
                    &text,
                )
                .await
                .map(Answer::Done)
            }
            LogicalPlan::Dml(DmlStatement {
                table_name,
                op: WriteOp::Insert(op),
                input,
                ..
            }) => {
                let name = self.domain_table(&table_name)?;
                self.insert_into(name, (*input).clone(), op, &text)
                    .await
                    .map(Answer::Done)
            }
            LogicalPlan::Ddl(other) => Err(Error::invalid(format!(
                "{} is not supported here: data products are created with CREATE TABLE \
                 domain.name AS SELECT …, CREATE DATA PRODUCT or lakemeta apply, and dropped \
                 with DROP DATA PRODUCT",
                other.name()
            ))),
            LogicalPlan::Dml(d) => Err(Error::invalid(format!(
                "{} on {} is not supported: data products take INSERT INTO only",
                d.op, d.table_name
            ))),
            plan => Ok(Answer::Rows(self.physical(plan).await?)),
        }
    }

    /// The physical plan of a logical one, refused unless everything it reads passes the gate.
    pub(crate) async fn physical(&self, plan: LogicalPlan) -> Result<Planned> {
        let df = self.ctx.execute_logical_plan(plan).await?;
        let task = Arc::new(df.task_ctx());
        let plan = df.create_physical_plan().await?;
        verify_plan(&plan)?;
        Ok(Planned {
            plan,
            task,
            span: None,
        })
    }

    pub(crate) async fn run_df(&self, stmt: DfStatement) -> Result<Output> {
        match self.run_df_lazily(stmt, None).await? {
            Answer::Done(out) => Ok(out),
            Answer::Rows(planned) => planned.collect().await,
        }
    }

    /// `domain.name` of a statement's target table; the domain must exist.
    pub(crate) fn domain_table(&self, r: &TableReference) -> Result<ProductName> {
        let state = self.catalog.state();
        let domain = r.schema().unwrap_or(META_SCHEMA);
        if domain == META_SCHEMA {
            return Err(Error::invalid(format!(
                "'{r}' is in the system schema meta, which is read-only; write to a domain: \
                 CREATE TABLE <domain>.{} AS SELECT …",
                r.table()
            )));
        }
        state.domain(domain)?;
        Ok(ProductName::new(domain, r.table()))
    }

    /// The data product behind a table a statement reads: a table of a domain's schema, not of
    /// `meta` or `information_schema`.
    pub(crate) fn product_of(&self, r: &TableReference) -> Option<ProductName> {
        match r.schema() {
            None | Some(META_SCHEMA) | Some("information_schema") => None,
            Some(domain) => Some(ProductName::new(domain, AsOf::split(r.table()).0)),
        }
    }

    /// Opens a product's data (for DESCRIBE PRODUCT) and returns its provider and Delta version
    /// (`None` for plain files).
    pub(crate) async fn open_product(&self, name: &ProductName) -> Result<Published> {
        self.install(std::slice::from_ref(name), false)
            .await?
            .remove(name)
            .ok_or_else(|| Error::invalid(format!("data product {name} could not be opened")))
    }

    /// Forgets an opened product.
    pub(crate) async fn forget(&self, name: &ProductName) {
        self.catalog.tables().forget(name).await;
    }
}

/// The statement without its `PARTITIONED BY (…)`, and the columns it names (`CREATE TABLE …
/// PARTITIONED BY (…) AS SELECT`; types, as Hive writes them, are not needed and not read).
fn take_partitioning(stmt: DfStatement) -> Result<(DfStatement, Vec<String>)> {
    use datafusion::sql::sqlparser::ast::{HiveDistributionStyle, Statement as Sql};
    let DfStatement::Statement(mut sql) = stmt else {
        return Ok((stmt, Vec::new()));
    };
    let Sql::CreateTable(create) = sql.as_mut() else {
        return Ok((DfStatement::Statement(sql), Vec::new()));
    };
    let HiveDistributionStyle::PARTITIONED { columns } =
        std::mem::replace(&mut create.hive_distribution, HiveDistributionStyle::NONE)
    else {
        return Ok((DfStatement::Statement(sql), Vec::new()));
    };
    if create.query.is_none() {
        return Err(Error::invalid(
            "PARTITIONED BY goes with CREATE TABLE domain.name PARTITIONED BY (column, …) AS \
             SELECT …: a data product is made from a query",
        ));
    }
    // an unquoted name is folded to lower case, as the query's columns are
    let names = columns
        .iter()
        .map(|c| match c.name.quote_style {
            Some(_) => c.name.value.clone(),
            None => c.name.value.to_lowercase(),
        })
        .collect();
    Ok((DfStatement::Statement(sql), names))
}

/// The one statement of a prepared statement.
fn one_statement(mut statements: Vec<ParsedStatement>) -> Result<ParsedStatement> {
    if statements.len() != 1 {
        return Err(Error::invalid(format!(
            "a prepared statement holds one statement, not {}",
            statements.len()
        )));
    }
    Ok(statements.remove(0))
}

/// The audit log keeps a statement's first 64 KiB of text.
fn truncated(text: String) -> String {
    const KEEP: usize = 64 * 1024;
    if text.len() <= KEEP {
        return text;
    }
    let mut end = KEEP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} … ({} bytes in all)", &text[..end], text.len())
}

/// True when a table reference names `meta.audit_log` or a view over it.
fn reads_audit_log(r: &TableReference) -> bool {
    matches!(r.table(), "audit_log" | "product_usage")
}

/// True for `CREATE TABLE` and `INSERT`.
fn writes_a_product(stmt: &DfStatement) -> bool {
    use datafusion::sql::sqlparser::ast::Statement as Sql;
    matches!(stmt, DfStatement::Statement(s) if matches!(s.as_ref(), Sql::CreateTable(_) | Sql::Insert(_)))
}

/// True when `r` is the table a `CREATE TABLE … AS` statement creates (it need not exist).
fn is_write_target(stmt: &DfStatement, r: &TableReference) -> bool {
    use datafusion::sql::sqlparser::ast::Statement as Sql;
    match stmt {
        DfStatement::Statement(s) => match s.as_ref() {
            Sql::CreateTable(c) => c.name.to_string().eq_ignore_ascii_case(&r.to_string()),
            Sql::Insert(i) => i.table.to_string().eq_ignore_ascii_case(&r.to_string()),
            _ => false,
        },
        _ => false,
    }
}

/// A product declared from SQL rather than by a contract: no SLA, checks or contract, read in
/// batch, stamped now by `by`. The caller fills in where it lives and who owns it.
pub(crate) fn declared_product(name: &ProductName, columns: Vec<Column>, by: &str) -> DataProduct {
    let now = now_micros();
    DataProduct {
        domain: name.domain.clone(),
        name: name.name.clone(),
        access_patterns: vec!["batch".into()],
        schema_hash: crate::contracts::schema_hash(&columns),
        columns,
        created_at: now,
        updated_at: now,
        updated_by: by.to_string(),
        ..DataProduct::default()
    }
}

/// Product columns from an Arrow schema.
pub(crate) fn columns_of(schema: &Schema) -> Vec<Column> {
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f): (usize, &Arc<Field>)| Column {
            name: f.name().clone(),
            data_type: crate::contracts::type_name(f.data_type()),
            nullable: f.is_nullable(),
            ordinal: i as i32,
            ..Column::default()
        })
        .collect()
}
