//! `explain_access('domain.product')`: what the caller reads of a product and why — whether it
//! may read the rows (and by which grant), which rows (the row filters of the policy and of the
//! contract), and each column raw or through which mask — decided exactly as a query's read is,
//! from one policy version.

use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::plan_err;
use datafusion::execution::context::SessionState;

use super::computed::{Computed, Rows};
use super::run_checks::string_arg;
use crate::catalog::{Catalog, CatalogState};
use crate::governance::{Caller, ReadAccess};
use crate::model::{ProductName, format_timestamp, now_micros};

/// The `explain_access` table function.
#[derive(Debug)]
pub struct ExplainAccessFunction {
    catalog: Arc<Catalog>,
    caller: Arc<Caller>,
}

impl ExplainAccessFunction {
    /// The function over a catalog, for the principal of `caller`.
    pub fn new(catalog: Arc<Catalog>, caller: Arc<Caller>) -> Self {
        Self { catalog, caller }
    }
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("item", DataType::Utf8, false),
        Field::new("decision", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
    ]))
}

impl TableFunctionImpl for ExplainAccessFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        let usage = "explain_access takes a product: explain_access('domain.product')";
        if exprs.len() != 1 {
            return plan_err!("{usage}");
        }
        let Some(name) = string_arg("explain_access", exprs, 0, "the product, 'domain.product'")?
        else {
            return plan_err!("{usage}");
        };
        let name: ProductName = match name.parse() {
            Ok(n) => n,
            Err(e) => return plan_err!("{e}"),
        };
        let state = self.catalog.state();
        state.product(&name)?;
        Ok(Arc::new(Computed(AccessRows {
            state,
            name,
            caller: Arc::clone(&self.caller),
        })))
    }
}

#[derive(Debug)]
struct AccessRows {
    state: Arc<CatalogState>,
    name: ProductName,
    caller: Arc<Caller>,
}

#[async_trait]
impl Rows for AccessRows {
    fn function(&self) -> &'static str {
        "explain_access"
    }

    fn schema(&self) -> SchemaRef {
        schema()
    }

    async fn rows(&self, _session: &SessionState) -> datafusion::common::Result<RecordBatch> {
        let g = &self.state.governance;
        let who = &self.caller.principal().name;
        let now = now_micros();
        let product = self.state.product(&self.name)?;
        let mut rows: Vec<(String, String, String)> = Vec::new();
        let version = g.policy().version;
        rows.push((
            "policy".into(),
            format!("version {version}"),
            if version == 0 {
                "the built-in default policy".into()
            } else {
                format!("applied by {}", g.policy().updated_by)
            },
        ));
        let access = match self.state.domains.get(&product.domain) {
            Some(d) => g.read_access(who, product, d, now),
            None => Err(crate::error::Error::invalid(
                "the product's domain is missing",
            )),
        };
        let access = match access {
            Ok(a) => a,
            Err(e) => {
                rows.push(("rows".into(), "none".into(), e.to_string()));
                return batch(rows);
            }
        };
        let why = match &access {
            ReadAccess::Ungoverned => "no Teams spec: governance is off".to_string(),
            ReadAccess::Admin => format!("{who} is a platform admin"),
            ReadAccess::Owner => format!("{who} is a member of the owner team"),
            ReadAccess::Granted { grant_id, until } => {
                format!("grant {grant_id}, until {}", format_timestamp(*until))
            }
            ReadAccess::Open => "no sensitive tag, and the policy opens such products".into(),
            ReadAccess::Masked => {
                "sensitive only by its PII columns, which the policy lets everyone read masked"
                    .into()
            }
        };
        let protection = g.protection(who, product, &access, now);
        let qualified = self.name.to_string();
        let set = g.row_filters_of(product);
        let from_policy = g.policy().row_filter_for(&qualified).is_some();
        let whose = match (from_policy, set.len() > usize::from(from_policy)) {
            (true, true) => "the policy's and its contract's row filters",
            (true, false) => "the policy's row filter on this product",
            _ => "its contract's row filter",
        };
        let rows_why = match (&protection.row_filter, set.is_empty()) {
            (Some(f), _) if g.is_admin(who) => format!("{whose}: {}", f.predicate),
            (Some(_), _) => whose.to_string(),
            (None, false) => "the row filter exempts the owner team and admins".into(),
            (None, true) => "no row filter".into(),
        };
        rows.push((
            "rows".into(),
            if protection.row_filter.is_some() {
                "filtered".into()
            } else {
                "all".into()
            },
            format!("{why}; {rows_why}"),
        ));
        let unmasked = g.live_unmasked_grant(who, &qualified, now);
        for c in &product.columns {
            let (decision, reason) = match protection.masks.iter().find(|m| m.column == c.name) {
                Some(m) => (
                    format!("masked ({})", m.rule.kind_name()),
                    format!(
                        "classified {}, a PII type; raw values need the owner team, an admin or \
                         a SELECT UNMASKED grant (REQUEST UNMASKED ACCESS TO {qualified} \
                         BECAUSE '…')",
                        m.classification
                    ),
                ),
                None => match g.policy().pii_type_of(c) {
                    Some(kind) => (
                        "raw".into(),
                        match unmasked {
                            Some(grant) => format!(
                                "classified {kind}; grant {} (SELECT UNMASKED) until {}",
                                grant.grant_id,
                                format_timestamp(grant.expires_at)
                            ),
                            None => format!("classified {kind}; {why}"),
                        },
                    ),
                    None => ("raw".into(), "not classified as a PII type".into()),
                },
            };
            rows.push((format!("column {}", c.name), decision, reason));
        }
        batch(rows)
    }
}

fn batch(rows: Vec<(String, String, String)>) -> datafusion::common::Result<RecordBatch> {
    let col = |f: fn(&(String, String, String)) -> &str| {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f))) as _
    };
    Ok(RecordBatch::try_new(
        schema(),
        vec![col(|r| &r.0), col(|r| &r.1), col(|r| &r.2)],
    )?)
}
