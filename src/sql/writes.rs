//! Statements that write a data product's rows: `CREATE TABLE … AS`, `INSERT INTO` and bulk
//! ingest. Each checks first that its principal may write the product (its domain's owner team
//! or an admin), records the lineage it makes, and reads its source through the access gate.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use datafusion::logical_expr::LogicalPlan;
use datafusion::logical_expr::dml::InsertOp;

use super::output::Output;
use super::session::{IfExists, Session, columns_of, declared_product};
use crate::catalog::{ChangeSummary, ProductChange};
use crate::error::{Error, Result};
use crate::lineage::{Captured, capture};
use crate::model::{DataProduct, ProductName};
use crate::storage::DeltaWrite;

impl Session {
    /// The work of [`Session::ingest`], audited there.
    pub(crate) async fn load(
        &self,
        name: ProductName,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        if_exists: IfExists,
        create: bool,
    ) -> Result<Output> {
        self.install(std::slice::from_ref(&name), false).await?;
        let state = self.catalog().state();
        state.domain(&name.domain)?;
        let input = if batches.is_empty() {
            self.context().read_batch(RecordBatch::new_empty(schema))?
        } else {
            self.context().read_batches(batches)?
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
    }

    pub(crate) async fn create_table_as(
        &self,
        name: ProductName,
        input: LogicalPlan,
        if_not_exists: bool,
        or_replace: bool,
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
        let url = match &existing {
            Some(p) => wh.data().resolve(&p.location)?,
            None => wh.managed_location(&name.domain, &name.name)?,
        };
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
        let _writing = self.catalog().begin_write();
        let version = wh
            .data()
            // a new product replaces what its location may hold: rows of a creation that was
            // interrupted before the catalog took it, which no one can read — never added to
            .write_delta(
                &url,
                &schema,
                batches,
                DeltaWrite::Replace,
                &self.principal().name,
            )
            .await?;
        let domain = state.domain(&name.domain)?;
        // a replaced product keeps what its columns were said to be; a copy keeps the
        // sensitivity of what it was made from
        let mut columns = kept_column_metadata(columns_of(&schema), existing.as_ref());
        inherit_classification(&mut columns, &captured, &state);
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
            // a commit can fail after the product landed (its reload, say): the rows of a new
            // table go only when the catalog, read again, surely does not hold it
            let registered = match self.catalog().refresh().await {
                Ok(_) => self.catalog().state().products.contains_key(&name),
                Err(_) => true,
            };
            if version == 0 && !registered {
                let _ = wh.data().delete_tree(&url).await;
            }
            return Err(e);
        }
        self.forget(&name).await;
        let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let note = self
            .record_captured(&name, &captured, &columns, statement, true)
            .await;
        Ok(Output::message(format!(
            "CREATE TABLE {name} (managed Delta, version {version}){note}"
        )))
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
        let schema = Arc::new(input.schema().as_arrow().clone());
        // DataFusion types an INSERT's VALUES by the target's columns, NOT NULL included, and
        // would refuse a NULL there with Arrow's own words; the check below names the column
        let batches = self.collect(nullable_values(input)?).await?;
        // the rows keep the sensitivity of their sources: the target must carry it already
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
        let _writing = self.catalog().begin_write();
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
                &self.principal().name,
            )
            .await?;
        self.forget(&name).await;
        let note = self
            .record_captured(&name, &captured, &columns, statement, overwrite)
            .await;
        let mut out = Output::message(format!(
            "INSERT INTO {name}: {rows} rows (version {version}){note}"
        ));
        out.rows_written = Some(rows as u64);
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

    /// Runs a plan to completion, through the access gate. The Delta write that follows takes
    /// record batches: deltalake's plan-input path needs its own query planner, which this
    /// session does not have.
    async fn collect(&self, plan: LogicalPlan) -> Result<Vec<RecordBatch>> {
        Ok(self.physical(plan).await?.collect().await?.batches)
    }
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
