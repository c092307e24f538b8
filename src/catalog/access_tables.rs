//! `meta.grants`, `meta.access_requests` and `meta.team_members`, served from the snapshot's
//! governance state with what depends on the clock worked out when a statement reads them:
//! a grant's `status` (active, expired, revoked) and a pending request past its time shown as
//! `expired`. Their rows are built at scan time, so a statement that does not read them pays
//! nothing however many grants there are.

use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session as DfSession, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::governance::Governance;
use crate::model::{AccessRequest, now_micros};
use crate::storage::SystemTableKind;

/// Builds a table's one batch when a statement scans it.
type Build = dyn Fn(&Governance, i64) -> Result<RecordBatch> + Send + Sync;

/// A table of the governance state whose rows are built at scan time.
pub(crate) struct GovernanceTable {
    schema: SchemaRef,
    governance: Arc<Governance>,
    build: Box<Build>,
}

impl std::fmt::Debug for GovernanceTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GovernanceTable")
    }
}

#[async_trait]
impl TableProvider for GovernanceTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let batch = (self.build)(&self.governance, now_micros())?;
        let table = MemTable::try_new(Arc::clone(&self.schema), vec![vec![batch]])?;
        table.scan(state, projection, filters, limit).await
    }
}

/// `meta.grants`: the stored columns and `status` (active, expired or revoked, now).
pub(crate) fn grants_table(governance: &Arc<Governance>) -> Arc<dyn TableProvider> {
    let stored = SystemTableKind::Grants.schema();
    let mut fields: Vec<Field> = stored.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("status", DataType::Utf8, false));
    let schema = Arc::new(Schema::new(fields));
    Arc::new(GovernanceTable {
        schema: Arc::clone(&schema),
        governance: Arc::clone(governance),
        build: Box::new(move |g, now| {
            let grants: Vec<_> = g.grants().values().cloned().collect();
            let batch = SystemTableKind::Grants.to_batch(&grants)?;
            let status: StringArray = grants.iter().map(|r| Some(r.status(now))).collect();
            let mut columns = batch.columns().to_vec();
            columns.push(Arc::new(status));
            Ok(RecordBatch::try_new(Arc::clone(&schema), columns)?)
        }),
    })
}

/// `meta.access_requests`: the stored rows the reader may see (`visible`), a pending request
/// past its time as `expired`.
pub(crate) fn requests_table(
    governance: &Arc<Governance>,
    visible: impl Fn(&AccessRequest) -> bool + Send + Sync + 'static,
) -> Arc<dyn TableProvider> {
    Arc::new(GovernanceTable {
        schema: SystemTableKind::AccessRequests.schema(),
        governance: Arc::clone(governance),
        build: Box::new(move |g, now| {
            SystemTableKind::AccessRequests.to_batch(&g.requests_as_of(now, &visible))
        }),
    })
}

#[derive(Serialize)]
struct MemberRow<'a> {
    team: &'a str,
    member: &'a str,
    admin: bool,
    attributes: &'a std::collections::BTreeMap<String, String>,
}

/// `meta.team_members`: one row per member of a team (unnested from `meta.teams`).
pub(crate) fn team_members_table(governance: &Arc<Governance>) -> Arc<dyn TableProvider> {
    let attributes = SystemTableKind::Teams
        .schema()
        .field_with_name("members")
        .ok()
        .and_then(|f| match f.data_type() {
            DataType::List(item) => match item.data_type() {
                DataType::Struct(fields) => fields.find("attributes").map(|(_, f)| f.clone()),
                _ => None,
            },
            _ => None,
        });
    let mut fields = vec![
        Field::new("team", DataType::Utf8, false),
        Field::new("member", DataType::Utf8, false),
        Field::new("admin", DataType::Boolean, false),
    ];
    fields.extend(attributes.map(|f| f.as_ref().clone()));
    let schema = Arc::new(Schema::new(Fields::from(fields)));
    Arc::new(GovernanceTable {
        schema: Arc::clone(&schema),
        governance: Arc::clone(governance),
        build: Box::new(move |g, _| {
            let rows: Vec<MemberRow> = g
                .teams()
                .values()
                .flat_map(|t| {
                    t.members.iter().map(move |m| MemberRow {
                        team: &t.name,
                        member: &m.name,
                        admin: t.admin,
                        attributes: &m.attributes,
                    })
                })
                .collect();
            serde_arrow::to_record_batch(schema.fields(), &rows)
                .map_err(|e| Error::invalid(format!("building meta.team_members: {e}")))
        }),
    })
}
