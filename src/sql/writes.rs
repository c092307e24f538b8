//! Statements that write a data product's rows: `CREATE TABLE … AS`, `INSERT INTO` and bulk
//! ingest. Each checks first that its principal may write the product (its domain's owner team
//! or an admin), records the lineage it makes, and reads its source through the access gate.

use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::logical_expr::dml::InsertOp;

use super::bound_plan::{BatchCheck, Tally};
use super::once_stream::OnceStream;
use super::output::Output;
use super::session::{IfExists, Planned, Session, columns_of, declared_product};
use crate::catalog::{ChangeSummary, ProductChange};
use crate::error::{Error, Result};
use crate::lineage::{Captured, capture};
use crate::model::{DataProduct, ProductName};
use crate::storage::{DeltaWrite, TableLayout, WriteInput};

impl Session {
    /// The work of [`Session::ingest`], audited there.
    pub(crate) async fn load(
        &self,
        name: ProductName,
        rows: SendableRecordBatchStream,
        if_exists: IfExists,
        create: bool,
    ) -> Result<Output> {
        self.install(std::slice::from_ref(&name), false).await?;
        let state = self.catalog().state();
        state.domain(&name.domain)?;
        let table = StreamingTable::try_new(rows.schema(), vec![Arc::new(OnceStream::new(rows))])?;
        let input = self
            .context()
            .read_table(Arc::new(table))?
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
                self.create_table_as(name, input, (false, true), Vec::new(), &statement)
                    .await
            }
            (false, _) if create => {
                self.create_table_as(name, input, (false, false), Vec::new(), &statement)
                    .await
            }
            (false, _) => Err(state.product(&name).unwrap_err()),
        }
    }

    /// `CREATE [OR REPLACE] TABLE [IF NOT EXISTS] name [PARTITIONED BY (partition_by)] AS
    /// input`: the rows stream into a new table of the product's own (or replace a managed
    /// product's), which becomes the product when the catalog commits it.
    pub(crate) async fn create_table_as(
        &self,
        name: ProductName,
        input: LogicalPlan,
        (if_not_exists, or_replace): (bool, bool),
        partition_by: Vec<String>,
        statement: &str,
    ) -> Result<Output> {
        crate::model::validate_name("product", &name.name).map_err(Error::Invalid)?;
        let state = self.catalog().state();
        let existing = state.products.get(&name).map(|p| DataProduct::clone(p));
        let who = &self.principal().name;
        match &existing {
            Some(_) => state.check_write_product(who, &name)?,
            None => state.check_write_domain(who, &name.domain)?,
        }
        self.caller().record_write(&name.to_string());
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
        let (url, mode) = match &existing {
            Some(p) => (wh.data().resolve(&p.location)?, DeltaWrite::Replace),
            None => (
                wh.new_product_location(&name.domain, &name.name)?,
                DeltaWrite::Create,
            ),
        };
        let first = self.physical(input.clone()).await?;
        // the columns as the plan makes them (the types of a UNION's columns, say, are settled
        // by the physical plan); nullable, as CREATE TABLE … AS makes them in SQL databases: a
        // later INSERT may leave a value out (a contract that requires one says so, and checks it)
        let schema = nullable(&first.schema());
        let captured = capture(&input, &|r| self.product_of(r));
        // a replaced product keeps what its columns were said to be; a copy keeps the
        // sensitivity of what it was made from (and, like it, no value of a PII column in the
        // statistics of its Delta log)
        let mut columns = kept_column_metadata(columns_of(&schema), existing.as_ref());
        inherit_classification(&mut columns, &captured, &state);
        let policy = state.governance.policy();
        let domain = state.domain(&name.domain)?;
        let partition_by = match &existing {
            // a replaced table keeps its partitioning, which only a new table can change
            Some(p) => {
                let kept = p.partition_by.clone().unwrap_or_default();
                if !partition_by.is_empty() && partition_by != kept {
                    return Err(Error::invalid(format!(
                        "{name} is {}; a table's partitioning is set when it is created: leave \
                         PARTITIONED BY out, or DROP DATA PRODUCT {name} first",
                        if kept.is_empty() {
                            "not partitioned".to_string()
                        } else {
                            format!("partitioned by {}", kept.join(", "))
                        }
                    )));
                }
                kept
            }
            None => partition_by,
        };
        let layout = TableLayout {
            partition_by: partition_by.clone(),
            private: columns
                .iter()
                .filter(|c| policy.column_mask(c).is_some())
                .map(|c| c.name.clone())
                .collect(),
            retention_days: existing
                .as_ref()
                .and_then(|p| p.retention_days)
                .or(domain.retention_days),
            target_file_size: existing
                .as_ref()
                .and_then(|p| p.target_file_size)
                .or(domain.target_file_size),
        };
        let tally = Arc::new(Tally::default());
        let rows = self.write_input(input, first, Arc::clone(&schema), None, &tally);
        let written = wh
            .data()
            .write_delta(&url, &rows, mode, &self.principal().name, &layout)
            .await;
        let written = match written {
            Ok(w) => w,
            Err(e) => {
                if mode == DeltaWrite::Create {
                    // the new table's location is this statement's alone
                    let _ = wh.data().delete_tree(&url).await;
                }
                return Err(tally.take_failure().unwrap_or(e));
            }
        };
        let _writing = self.catalog().begin_write();
        let mut tags: Vec<String> = existing
            .as_ref()
            .map(|p| p.tags.clone())
            .unwrap_or_default();
        for t in self.inherited_tags(&name) {
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        let product = DataProduct {
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
            tags,
            partition_by: (!partition_by.is_empty()).then_some(partition_by),
            retention_days: existing.as_ref().and_then(|p| p.retention_days),
            target_file_size: existing.as_ref().and_then(|p| p.target_file_size),
            file_count: written.live.and_then(|l| i64::try_from(l.count).ok()),
            size_bytes: written.live.and_then(|l| i64::try_from(l.bytes).ok()),
            last_maintained: existing.as_ref().and_then(|p| p.last_maintained),
            ..declared_product(&name, columns, &self.principal().name)
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
        if let Err(e) = self.catalog().commit(&changes, self.principal()).await {
            if mode != DeltaWrite::Create {
                return Err(e);
            }
            // a commit can fail after the product landed (its reload, say): the new table goes
            // only when the catalog, read again, surely does not hold it
            let holder = match self.catalog().refresh().await {
                Ok(_) => self
                    .catalog()
                    .state()
                    .products
                    .get(&name)
                    .map(|p| p.location.clone()),
                Err(_) => return Err(e),
            };
            if holder.as_deref() == Some(url.as_str()) {
                return Err(e);
            }
            let _ = wh.data().delete_tree(&url).await;
            return Err(match holder {
                // two creations of one name: the other one's commit came first
                Some(_) => Error::AlreadyExists {
                    what: format!("data product {name} (created by another statement meanwhile)"),
                    hint: "use CREATE OR REPLACE TABLE or INSERT INTO, or choose another name; \
                           nothing of this statement was kept"
                        .into(),
                },
                None => e,
            });
        }
        self.forget(&name).await;
        let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let note = self
            .record_captured(&name, &captured, &columns, statement, true)
            .await;
        let mut out = Output::message(format!(
            "CREATE TABLE {name} (managed Delta, version {}, {} rows){note}",
            written.version,
            tally.rows()
        ));
        out.rows_written = Some(tally.rows());
        Ok(out)
    }

    pub(crate) async fn insert_into(
        &self,
        name: ProductName,
        input: LogicalPlan,
        op: InsertOp,
        statement: &str,
    ) -> Result<Output> {
        let state = self.catalog().state();
        let product = state.product(&name)?;
        state.check_write_product(&self.principal().name, &name)?;
        self.caller().record_write(&name.to_string());
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
        // DataFusion types an INSERT's VALUES by the target's columns, NOT NULL included, and
        // would refuse a NULL there with Arrow's own words; the check below names the column
        let input = nullable_values(input)?;
        let first = self.physical(input.clone()).await?;
        let schema = first.schema();
        // the rows keep the sensitivity of their sources: the target must carry it already
        // (what the statement reads is known once it is planned)
        let target_tags = state.governance.sensitive_tags(product);
        let missing: Vec<String> = self
            .inherited_tags(&name)
            .into_iter()
            .filter(|t| !target_tags.contains(t))
            .collect();
        if !missing.is_empty() {
            return Err(Error::PermissionDenied(format!(
                "the INSERT copies rows tagged {} into {name}, which is not: tag {name} so \
                 (in its contract) first, so its readers need the access the rows' source \
                 needs; nothing was written",
                missing.join(", ")
            )));
        }
        // the rows come in the product's column order: a required column must have its values
        let check = (schema.fields().len() == product.columns.len())
            .then(|| required_columns(&name, product));
        let tally = Arc::new(Tally::default());
        let rows = self.write_input(input, first, schema, check, &tally);
        let version = self
            .warehouse()
            .data()
            .write_delta(
                &url,
                &rows,
                if overwrite {
                    DeltaWrite::Overwrite
                } else {
                    DeltaWrite::Append
                },
                &self.principal().name,
                &TableLayout::default(),
            )
            .await
            .map_err(|e| tally.take_failure().unwrap_or(e))?
            .version;
        let rows = tally.rows();
        let _writing = self.catalog().begin_write();
        self.forget(&name).await;
        let note = self
            .record_captured(&name, &captured, &columns, statement, overwrite)
            .await;
        let mut out = Output::message(format!(
            "INSERT INTO {name}: {rows} rows (version {version}){note}"
        ));
        out.rows_written = Some(rows);
        Ok(out)
    }

    /// The sensitive tags of the products the statement read (other than `target`): what a copy
    /// of their rows must carry.
    fn inherited_tags(&self, target: &ProductName) -> Vec<String> {
        let state = self.catalog().state();
        let target = target.to_string();
        let mut tags: Vec<String> = self
            .caller()
            .ledger_snapshot()
            .products_read
            .iter()
            .filter(|p| **p != target)
            .filter_map(|p| p.parse::<ProductName>().ok())
            .filter_map(|n| state.products.get(&n))
            .flat_map(|p| state.governance.sensitive_tags(p))
            .collect();
        tags.sort();
        tags.dedup();
        tags
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
        // everyone reads lineage: no literal compared with a PII column goes into it
        let state = self.catalog().state();
        let policy = state.governance.policy();
        let classified: std::collections::BTreeSet<String> = captured
            .products
            .iter()
            .filter_map(|n| state.products.get(n))
            .flat_map(|p| &p.columns)
            .filter(|c| policy.column_mask(c).is_some())
            .map(|c| c.name.to_lowercase())
            .collect();
        let statement = crate::governance::redact_pii_literals(statement, &classified);
        let edges = captured.edges(target, columns, &statement, &self.principal().name);
        match self
            .catalog()
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

    /// The rows of `plan` for a Delta write, labelled `schema`, checked by `check` and counted
    /// in `tally`: `first` (planned already, so its reads passed the gate and were recorded
    /// before anything is written) for the write's first attempt, a new plan for each later one.
    fn write_input<'a>(
        &'a self,
        plan: LogicalPlan,
        first: Planned,
        schema: SchemaRef,
        check: Option<BatchCheck>,
        tally: &Arc<Tally>,
    ) -> WriteInput<'a> {
        let first = Mutex::new(Some(first));
        let tally = Arc::clone(tally);
        let columns = Arc::clone(&schema);
        WriteInput {
            plan: Box::new(move || {
                let first = first.lock().unwrap_or_else(|p| p.into_inner()).take();
                let (plan, schema, check, tally) = (
                    plan.clone(),
                    Arc::clone(&columns),
                    check.clone(),
                    Arc::clone(&tally),
                );
                Box::pin(async move {
                    let planned = match first {
                        Some(p) => p,
                        None => self.physical(plan).await?,
                    };
                    tally.restart();
                    Ok(planned.bind(schema, check, tally))
                })
            }),
            schema,
            runtime: self.context().runtime_env(),
        }
    }
}

/// The check that the rows of an INSERT give every required column of `product` a value.
fn required_columns(name: &ProductName, product: &DataProduct) -> BatchCheck {
    let required: Vec<(usize, String)> = product
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.nullable)
        .map(|(i, c)| (i, c.name.clone()))
        .collect();
    let contract = if product.contract_spec.is_empty() {
        ""
    } else {
        ", as its contract says"
    };
    let name = name.clone();
    Arc::new(move |batch: &RecordBatch| {
        for (i, column) in &required {
            let missing = batch.column(*i).null_count();
            if missing > 0 {
                return Err(Error::invalid(format!(
                    "column '{column}' of data product {name} is required (NOT NULL{contract}), \
                     but {missing} row(s) of the INSERT leave it NULL: give every row a value; \
                     nothing was written"
                )));
            }
        }
        Ok(())
    })
}

/// New columns with the description, tags and classification of the same-named columns of
/// the product they replace.
fn kept_column_metadata(
    mut columns: Vec<crate::model::Column>,
    before: Option<&DataProduct>,
) -> Vec<crate::model::Column> {
    let Some(before) = before else {
        return columns;
    };
    for c in &mut columns {
        if let Some(old) = before.columns.iter().find(|o| o.name == c.name) {
            c.description = old.description.clone();
            c.tags = old.tags.clone();
            c.classification = old.classification.clone();
        }
    }
    columns
}

/// A column made from a PII-classified column (a copy of `email`, `upper(email)`) is classified
/// as its source (the first, by name, when several are), so the copy is masked for its readers
/// as the source is; a column with a PII type already keeps it.
fn inherit_classification(
    columns: &mut [crate::model::Column],
    captured: &Captured,
    state: &crate::catalog::CatalogState,
) {
    let policy = state.governance.policy();
    for (c, sources) in columns.iter_mut().zip(&captured.outputs) {
        // a PII column keeps its type; a copy of one is PII whatever else it was classified
        if policy.pii_type_of(c).is_some() {
            continue;
        }
        let inherited = sources.iter().find_map(|s| {
            state
                .products
                .get(&s.product)?
                .columns
                .iter()
                .find(|sc| sc.name == s.column)
                .and_then(|sc| policy.pii_type_of(sc))
        });
        if let Some(k) = inherited {
            c.classification = k;
        }
    }
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

/// `plan` with the `VALUES` lists in it typed nullable, and the schemas above them recomputed:
/// rows are checked against the product's required columns after they are collected.
fn nullable_values(plan: LogicalPlan) -> Result<LogicalPlan> {
    use datafusion::common::DFSchema;
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::logical_expr::Values;
    let rewritten = plan.transform_up(|node| match node {
        LogicalPlan::Values(Values { schema, values }) => {
            let fields = schema
                .iter()
                .map(|(q, f)| (q.cloned(), Arc::new(f.as_ref().clone().with_nullable(true))))
                .collect();
            let schema = DFSchema::new_with_metadata(fields, schema.metadata().clone())?;
            Ok(Transformed::yes(LogicalPlan::Values(Values {
                schema: Arc::new(schema),
                values,
            })))
        }
        other => Ok(Transformed::yes(other.recompute_schema()?)),
    })?;
    Ok(rewritten.data)
}
