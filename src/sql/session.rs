use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema};
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::context::{SessionConfig, SessionContext, SessionState};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{DdlStatement, DmlStatement, LogicalPlan, WriteOp};
use datafusion::sql::parser::Statement as DfStatement;

use super::output::Output;
use super::parser::{ParsedStatement, parse_sql};
use super::views::Views;
use crate::catalog::{
    Catalog, ChangeSummary, LakeCatalog, META_SCHEMA, ProductChange, ProductTables,
};
use crate::contracts::schema_hash;
use crate::error::{Error, Result};
use crate::lineage::{Captured, capture};
use crate::model::{Column, DataProduct, Principal, ProductName, now_micros};
use crate::storage::{DeltaWrite, Warehouse};

/// The name of lakemeta's DataFusion catalog.
pub const CATALOG_NAME: &str = "lakemeta";

/// What a statement run for streaming gives.
pub enum Answer {
    /// It ran: its output (a message, or rows it had to compute to run).
    Done(Output),
    /// A query, planned and ready to stream (`DataFrame::execute_stream`).
    Rows(datafusion::dataframe::DataFrame),
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
}

impl SessionOptions {
    /// Statements run as `principal`, without a memory limit.
    pub fn new(principal: Principal) -> Self {
        Self {
            principal,
            memory_limit: None,
        }
    }
}

/// A SQL session on a warehouse, run as one principal: DataFusion over the system tables and
/// the data products, plus lakemeta's own statements.
pub struct Session {
    catalog: Arc<Catalog>,
    ctx: SessionContext,
    principal: Principal,
    tables: ProductTables,
    views: Views,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("principal", &self.principal)
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
        if let Some(limit) = options.memory_limit {
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(limit)));
        }
        let runtime = runtime.build_arc()?;
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        let wh = catalog.warehouse();
        let (key, store) = wh.data().store_for(wh.url())?;
        ctx.runtime_env().register_object_store(&key, store);
        super::functions::register(&ctx, &catalog);
        let session = Self {
            catalog,
            ctx,
            principal: options.principal,
            tables: ProductTables::default(),
            views: Views::default(),
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
        &self.principal
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
        for stmt in parse_sql(sql)? {
            out.push(self.run(stmt).await?);
        }
        Ok(out)
    }

    /// Runs one parsed statement.
    pub async fn run(&self, stmt: ParsedStatement) -> Result<Output> {
        let result = match stmt {
            ParsedStatement::Lake(s) => self.run_lake(s).await,
            ParsedStatement::DataFusion(s) => self.run_df(*s).await,
        };
        result.map_err(Error::unwrap_df)
    }

    /// Refreshes the catalog and (re)installs the DataFusion catalog with the named products
    /// opened (`all`: every product, skipping those that cannot be opened).
    pub(crate) async fn install(&self, names: &[ProductName], all: bool) -> Result<()> {
        self.catalog.refresh().await?;
        self.register(names, all).await
    }

    /// Installs the DataFusion catalog for the current snapshot (no refresh of the system
    /// tables), with the named products opened.
    async fn register(&self, names: &[ProductName], all: bool) -> Result<()> {
        let state = self.catalog.state();
        let wh = self.warehouse();
        let wanted: Vec<ProductName> = if all {
            state.products.keys().cloned().collect()
        } else {
            names.to_vec()
        };
        for name in &wanted {
            if let Some(p) = state.products.get(name) {
                let url = wh.data().resolve(&p.location)?;
                let (key, store) = wh.data().store_for(&url)?;
                self.ctx.runtime_env().register_object_store(&key, store);
            }
        }
        self.tables
            .prepare(wh, &state, &wanted, &self.ctx.state(), all)
            .await?;
        let mut meta = self.tables.meta_providers(wh, &state).await?;
        let products = self.tables.providers().await;
        let (views, stale) = self.views.current(&state).await;
        if stale {
            // plan the views over this snapshot's system tables, then install them too
            self.ctx.register_catalog(
                CATALOG_NAME,
                Arc::new(LakeCatalog::new(&state, meta.clone(), &products)),
            );
            meta.extend(self.views.plan(&self.ctx, &state).await?);
        } else {
            meta.extend(views);
        }
        self.ctx.register_catalog(
            CATALOG_NAME,
            Arc::new(LakeCatalog::new(&state, meta, &products)),
        );
        Ok(())
    }

    pub(crate) async fn run_df(&self, stmt: DfStatement) -> Result<Output> {
        match self.run_df_lazily(stmt, None).await? {
            Answer::Done(out) => Ok(out),
            Answer::Rows(df) => {
                let schema = Arc::new(df.schema().as_arrow().clone());
                let batches = df.collect().await?;
                Ok(Output::rows(schema, batches))
            }
        }
    }

    /// Runs every statement of `sql`; the last one, if it is a query, is planned but not run:
    /// its rows are read from the returned [`Answer::Rows`] as a stream, batch by batch.
    pub async fn sql_streaming(&self, sql: &str) -> Result<Answer> {
        let mut statements = parse_sql(sql)?;
        let Some(last) = statements.pop() else {
            return Err(Error::invalid("no statement: send one"));
        };
        for stmt in statements {
            self.run(stmt).await?;
        }
        let answer = match last {
            ParsedStatement::Lake(s) => self.run_lake(s).await.map(Answer::Done),
            ParsedStatement::DataFusion(s) => self.run_df_lazily(*s, None).await,
        };
        answer.map_err(Error::unwrap_df)
    }

    /// Runs one statement with values for its parameters (`?` or `$1`, `$2`, …); a query is
    /// planned but not run, as with [`Session::sql_streaming`].
    pub async fn sql_with_params(
        &self,
        sql: &str,
        params: Vec<datafusion::common::ScalarValue>,
    ) -> Result<Answer> {
        let mut statements = parse_sql(sql)?;
        if statements.len() != 1 {
            return Err(Error::invalid(format!(
                "a prepared statement holds one statement, not {}",
                statements.len()
            )));
        }
        match statements.remove(0) {
            ParsedStatement::Lake(s) if params.is_empty() => {
                self.run_lake(s).await.map(Answer::Done)
            }
            ParsedStatement::Lake(_) => Err(Error::invalid(
                "lakemeta's own statements take no parameters: write the values into the statement",
            )),
            ParsedStatement::DataFusion(s) => self.run_df_lazily(*s, Some(params)).await,
        }
        .map_err(Error::unwrap_df)
    }

    /// A bulk load: writes `batches` (of `schema`) into the data product `name` — appended,
    /// or replacing its data, when it exists (`if_exists`); created as a managed Delta product
    /// when it does not and `create` is set.
    pub async fn ingest(
        &self,
        name: ProductName,
        schema: arrow::datatypes::SchemaRef,
        batches: Vec<RecordBatch>,
        if_exists: IfExists,
        create: bool,
    ) -> Result<Output> {
        self.install(std::slice::from_ref(&name), false).await?;
        let state = self.catalog.state();
        state.domain(&name.domain)?;
        let input = if batches.is_empty() {
            self.ctx.read_batch(RecordBatch::new_empty(schema))?
        } else {
            self.ctx.read_batches(batches)?
        }
        .into_unoptimized_plan();
        let exists = state.products.contains_key(&name);
        let statement = format!("bulk ingest into {name}");
        match (exists, if_exists) {
            (true, IfExists::Fail) => Err(Error::AlreadyExists {
                what: format!("data product {name}"),
                hint: "ingest in append or replace mode".into(),
            }),
            (true, IfExists::Append) => {
                self.insert_into(name, input, InsertOp::Append, &statement)
                    .await
            }
            (true, IfExists::Replace) => {
                self.create_table_as(name, input, false, true, &statement)
                    .await
            }
            (false, _) if create => {
                self.create_table_as(name, input, false, false, &statement)
                    .await
            }
            (false, _) => Err(state.product(&name).unwrap_err()),
        }
        .map_err(Error::unwrap_df)
    }

    /// The schema of what a statement returns and of its parameters, without running it
    /// (lakemeta's own statements and DDL return a message: no columns).
    pub async fn describe(&self, sql: &str) -> Result<(Schema, Schema)> {
        let mut statements = parse_sql(sql)?;
        if statements.len() != 1 {
            return Err(Error::invalid(format!(
                "a prepared statement holds one statement, not {}",
                statements.len()
            )));
        }
        let ParsedStatement::DataFusion(stmt) = statements.remove(0) else {
            return Ok((Schema::empty(), Schema::empty()));
        };
        let plan = self.plan_df(*stmt).await.map_err(Error::unwrap_df)?;
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

    /// Registers what a statement names and plans it.
    async fn plan_df(&self, stmt: DfStatement) -> Result<LogicalPlan> {
        self.catalog.refresh().await?;
        let snapshot = self.catalog.state();
        let refs = self.ctx.state().resolve_table_references(&stmt)?;
        let mut names = Vec::new();
        let mut all = false;
        for r in &refs {
            if r.catalog().is_some_and(|c| c != CATALOG_NAME) {
                return Err(Error::invalid(format!(
                    "unknown catalog in '{r}': there is one catalog, {CATALOG_NAME}; write \
                     domain.product or meta.<table>"
                )));
            }
            match r.schema() {
                Some("information_schema") => all = true,
                None | Some(META_SCHEMA) => {}
                Some(schema) => {
                    snapshot.domain(schema)?;
                    let name = ProductName::new(schema, r.table());
                    if !is_write_target(&stmt, r) {
                        snapshot.product(&name)?;
                    }
                    names.push(name);
                }
            }
        }
        if matches!(&stmt, DfStatement::Statement(s) if s.to_string().to_uppercase().starts_with("SHOW TABLES"))
        {
            all = true;
        }
        self.register(&names, all).await?;
        let state = self.ctx.state();
        Ok(state.statement_to_plan(stmt).await?)
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
                    c.if_not_exists,
                    c.or_replace,
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
            plan => Ok(Answer::Rows(self.ctx.execute_logical_plan(plan).await?)),
        }
    }

    /// `domain.name` of a statement's target table; the domain must exist.
    fn domain_table(&self, r: &TableReference) -> Result<ProductName> {
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

    async fn create_table_as(
        &self,
        name: ProductName,
        input: LogicalPlan,
        if_not_exists: bool,
        or_replace: bool,
        statement: &str,
    ) -> Result<Output> {
        crate::model::validate_name("product", &name.name).map_err(Error::Invalid)?;
        let state = self.catalog.state();
        let existing = state.products.get(&name).cloned();
        if let Some(p) = &existing {
            if if_not_exists {
                return Ok(Output::message(format!(
                    "data product {name} exists; nothing done"
                )));
            }
            if !or_replace {
                return Err(Error::AlreadyExists {
                    what: format!("data product {name}"),
                    hint: "use CREATE OR REPLACE TABLE, INSERT INTO, or DROP DATA PRODUCT first"
                        .into(),
                });
            }
            if p.kind != "managed" {
                return Err(Error::invalid(format!(
                    "data product {name} is external (at {}); CREATE OR REPLACE only replaces \
                     managed products",
                    p.location
                )));
            }
        }
        let wh = self.warehouse();
        let url = wh.managed_location(&name.domain, &name.name)?;
        // columns are nullable, as CREATE TABLE … AS makes them in SQL databases: a later
        // INSERT may leave a value out (a contract that requires one says so, and checks it)
        let schema = nullable(input.schema().as_arrow());
        let captured = capture(&input, &|r| self.product_of(r));
        let batches = self
            .collect(input)
            .await?
            .into_iter()
            .map(|b| RecordBatch::try_new(nullable(&b.schema()), b.columns().to_vec()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let _writing = self.catalog.begin_write();
        let version = wh
            .data()
            .write_delta(
                &url,
                &schema,
                batches,
                if existing.is_some() {
                    DeltaWrite::Replace
                } else {
                    DeltaWrite::Append
                },
            )
            .await?;
        let domain = state.domain(&name.domain)?;
        let columns = columns_of(&schema);
        let product = DataProduct {
            domain: name.domain.clone(),
            name: name.name.clone(),
            kind: "managed".into(),
            location: url.to_string(),
            format: "delta".into(),
            owner: existing
                .as_ref()
                .map_or_else(|| domain.owner_team.clone(), |p| p.owner.clone()),
            description: existing
                .as_ref()
                .map(|p| p.description.clone())
                .unwrap_or_default(),
            tags: existing
                .as_ref()
                .map(|p| p.tags.clone())
                .unwrap_or_default(),
            access_patterns: vec!["batch".into()],
            sla_freshness_minutes: None,
            sla_availability_percent: None,
            sla_completeness_percent: None,
            contract_id: String::new(),
            contract_version: String::new(),
            contract_spec: String::new(),
            schema_hash: schema_hash(&columns),
            columns,
            checks: Vec::new(),
            created_at: now_micros(),
            updated_at: now_micros(),
            updated_by: self.principal.name.clone(),
        };
        let change = match existing {
            Some(before) => ProductChange::Update {
                before,
                after: product,
            },
            None => ProductChange::Create(product),
        };
        let changes = ChangeSummary {
            products: vec![change],
            ..Default::default()
        };
        if let Err(e) = self.catalog.commit(&changes, &self.principal).await {
            if version == 0 {
                let _ = wh.data().delete_tree(&url).await;
            }
            return Err(e);
        }
        self.tables.forget(&name).await;
        let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let note = self
            .record_captured(&name, &captured, &columns, statement, true)
            .await;
        Ok(Output::message(format!(
            "CREATE TABLE {name} (managed Delta, version {version}){note}"
        )))
    }

    async fn insert_into(
        &self,
        name: ProductName,
        input: LogicalPlan,
        op: InsertOp,
        statement: &str,
    ) -> Result<Output> {
        let state = self.catalog.state();
        let product = state.product(&name)?;
        if product.format != "delta" {
            return Err(Error::invalid(format!(
                "data product {name} is {} files at {}; INSERT INTO writes Delta products only",
                product.format, product.location
            )));
        }
        let url = self.warehouse().data().resolve(&product.location)?;
        let overwrite = matches!(op, InsertOp::Overwrite | InsertOp::Replace);
        let columns: Vec<String> = product.columns.iter().map(|c| c.name.clone()).collect();
        let captured = capture(&input, &|r| self.product_of(r));
        let schema = Arc::new(input.schema().as_arrow().clone());
        let required = || {
            let names: Vec<&str> = product
                .columns
                .iter()
                .filter(|c| !c.nullable)
                .map(|c| c.name.as_str())
                .collect();
            names.join(", ")
        };
        let batches = self.collect(input).await.map_err(|e| {
            let message = e.to_string();
            if message.contains("declared as non-nullable") {
                Error::invalid(format!(
                    "the INSERT leaves a required (NOT NULL) column of data product {name} \
                     NULL: give every row a value for {}; nothing was written",
                    required()
                ))
            } else {
                e
            }
        })?;
        // the rows come in the product's column order: a required column must have its values
        if schema.fields().len() == product.columns.len() {
            for (i, c) in product.columns.iter().enumerate() {
                let missing: usize = batches.iter().map(|b| b.column(i).null_count()).sum();
                if !c.nullable && missing > 0 {
                    return Err(Error::invalid(format!(
                        "column '{}' of data product {name} is required (NOT NULL{}), but {missing} \
                         row(s) of the INSERT leave it NULL: give every row a value; nothing \
                         was written",
                        c.name,
                        if product.contract_spec.is_empty() {
                            ""
                        } else {
                            ", as its contract says"
                        }
                    )));
                }
            }
        }
        let _writing = self.catalog.begin_write();
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let version = self
            .warehouse()
            .data()
            .write_delta(
                &url,
                &schema,
                batches,
                if overwrite {
                    DeltaWrite::Overwrite
                } else {
                    DeltaWrite::Append
                },
            )
            .await?;
        self.tables.forget(&name).await;
        let note = self
            .record_captured(&name, &captured, &columns, statement, overwrite)
            .await;
        let mut out = Output::message(format!(
            "INSERT INTO {name}: {rows} rows (version {version}){note}"
        ));
        out.rows_written = Some(rows as u64);
        Ok(out)
    }

    /// The data product behind a table a statement reads: a table of a domain's schema, not of
    /// `meta` or `information_schema`.
    fn product_of(&self, r: &TableReference) -> Option<ProductName> {
        match r.schema() {
            None | Some(META_SCHEMA) | Some("information_schema") => None,
            Some(domain) => Some(ProductName::new(domain, r.table())),
        }
    }

    /// Records the lineage a write was seen to make. The data is written by then, so a failure
    /// here does not fail the statement: it comes back as a note to show with its result.
    async fn record_captured(
        &self,
        target: &ProductName,
        captured: &Captured,
        columns: &[String],
        statement: &str,
        replace: bool,
    ) -> String {
        let edges = captured.edges(target, columns, statement, &self.principal.name);
        match self
            .catalog
            .record_captured(&target.to_string(), &edges, replace)
            .await
        {
            Ok(()) => String::new(),
            Err(e) => {
                tracing::warn!(product = %target, error = %e, "lineage not recorded");
                format!("; its lineage was not recorded: {e}")
            }
        }
    }

    /// Runs a plan to completion. The Delta write that follows takes record batches: deltalake's
    /// plan-input path needs its own query planner, which this session does not have.
    async fn collect(&self, plan: LogicalPlan) -> Result<Vec<arrow::array::RecordBatch>> {
        Ok(self.ctx.execute_logical_plan(plan).await?.collect().await?)
    }

    /// Opens a product's data (for DESCRIBE PRODUCT and registration) and returns its provider.
    pub(crate) async fn open_product(&self, name: &ProductName) -> Result<Arc<dyn TableProvider>> {
        self.install(std::slice::from_ref(name), false).await?;
        self.tables
            .providers()
            .await
            .get(name)
            .cloned()
            .ok_or_else(|| Error::invalid(format!("data product {name} could not be opened")))
    }

    /// The Delta version of an opened product.
    pub(crate) async fn product_version(&self, name: &ProductName) -> Option<u64> {
        self.tables.version(name).await
    }

    /// Forgets an opened product.
    pub(crate) async fn forget(&self, name: &ProductName) {
        self.tables.forget(name).await;
    }
}

/// True when `r` is the table a `CREATE TABLE … AS` statement creates (it need not exist).
/// True for `CREATE TABLE` and `INSERT`.
fn writes_a_product(stmt: &DfStatement) -> bool {
    use datafusion::sql::sqlparser::ast::Statement as Sql;
    matches!(stmt, DfStatement::Statement(s) if matches!(s.as_ref(), Sql::CreateTable(_) | Sql::Insert(_)))
}

fn is_write_target(stmt: &DfStatement, r: &TableReference) -> bool {
    use datafusion::sql::sqlparser::ast::Statement as Sql;
    match stmt {
        DfStatement::Statement(s) => match s.as_ref() {
            Sql::CreateTable(c) => c.name.to_string().eq_ignore_ascii_case(&r.to_string()),
            _ => false,
        },
        _ => false,
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
            description: String::new(),
            tags: Vec::new(),
            classification: String::new(),
            primary_key: false,
            unique: false,
            accepted_values: Vec::new(),
            ordinal: i as i32,
        })
        .collect()
}

/// `schema` with every column nullable.
fn nullable(schema: &Schema) -> Arc<Schema> {
    Arc::new(Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    ))
}
