use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// The Delta tables under `<warehouse>/_meta/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SystemTableKind {
    /// One row per domain.
    Domains,
    /// One row per data product, its columns, checks and current contract nested.
    Products,
    /// One row per contract version (history).
    Contracts,
    /// One row per lineage edge.
    Lineage,
    /// One row per check evaluation.
    QualityResults,
    /// One row per run of a scheduled quality job.
    JobRuns,
}

impl SystemTableKind {
    /// All system tables, in the order an operation that touches several commits them.
    pub const ALL: [SystemTableKind; 6] = [
        SystemTableKind::Domains,
        SystemTableKind::Contracts,
        SystemTableKind::Products,
        SystemTableKind::Lineage,
        SystemTableKind::QualityResults,
        SystemTableKind::JobRuns,
    ];

    /// The warehouse layout version that introduced the table.
    pub fn since_layout(self) -> u32 {
        match self {
            SystemTableKind::JobRuns => 2,
            _ => 1,
        }
    }

    /// The table's name in `meta` and under `_meta/`.
    pub fn name(self) -> &'static str {
        match self {
            SystemTableKind::Domains => "domains",
            SystemTableKind::Products => "products",
            SystemTableKind::Contracts => "contracts",
            SystemTableKind::Lineage => "lineage",
            SystemTableKind::QualityResults => "quality_results",
            SystemTableKind::JobRuns => "job_runs",
        }
    }

    /// Rows as one record batch of the table's schema (for results shaped like the table, e.g.
    /// `run_checks`).
    pub fn to_batch<T: serde::Serialize>(
        self,
        rows: &[T],
    ) -> crate::error::Result<arrow::array::RecordBatch> {
        super::system_table::encode(self, rows)
    }

    /// The columns that identify a row of a table written by key in place (see
    /// [`SystemTable::replace_by_key`](super::SystemTable::replace_by_key)); empty for the
    /// others.
    pub fn key_columns(self) -> &'static [&'static str] {
        match self {
            SystemTableKind::Lineage => {
                &["source", "source_column", "target", "target_column", "kind"]
            }
            _ => &[],
        }
    }

    /// The table's explicit Arrow schema.
    pub fn schema(self) -> SchemaRef {
        let fields = match self {
            SystemTableKind::Domains => vec![
                utf8("name", false),
                utf8("owner_team", false),
                utf8("description", false),
                list_utf8("upstream"),
                list_utf8("downstream"),
                ts("created_at"),
                ts("updated_at"),
                utf8("updated_by", false),
            ],
            SystemTableKind::Products => vec![
                utf8("domain", false),
                utf8("name", false),
                utf8("kind", false),
                utf8("location", false),
                utf8("format", false),
                utf8("owner", false),
                utf8("description", false),
                list_utf8("tags"),
                list_utf8("access_patterns"),
                Field::new("sla_freshness_minutes", DataType::Int64, true),
                Field::new("sla_availability_percent", DataType::Float64, true),
                Field::new("sla_completeness_percent", DataType::Float64, true),
                utf8("contract_id", false),
                utf8("contract_version", false),
                utf8("contract_spec", false),
                utf8("schema_hash", false),
                list_of("columns", column_struct()),
                list_of("checks", check_struct()),
                ts("created_at"),
                ts("updated_at"),
                utf8("updated_by", false),
            ],
            SystemTableKind::Contracts => vec![
                utf8("product", false),
                utf8("contract_id", false),
                utf8("version", false),
                utf8("spec", false),
                utf8("schema_hash", false),
                ts("created_at"),
                utf8("created_by", false),
            ],
            SystemTableKind::Lineage => vec![
                utf8("source", false),
                utf8("target", false),
                utf8("source_column", true),
                utf8("target_column", true),
                utf8("kind", false),
                utf8("statement", true),
                ts("created_at"),
                utf8("created_by", false),
            ],
            SystemTableKind::QualityResults => vec![
                utf8("run_id", false),
                utf8("product", false),
                utf8("check_name", false),
                utf8("kind", false),
                utf8("column_name", true),
                utf8("status", false),
                utf8("observed", true),
                utf8("expected", true),
                Field::new("failing_rows", DataType::Int64, true),
                Field::new("product_version", DataType::Int64, true),
                ts("started_at"),
                Field::new("duration_ms", DataType::Int64, false),
                // added in layout 2
                Field::new("observed_value", DataType::Float64, true),
                utf8("dimension", true),
                utf8("method", true),
                utf8("message", true),
            ],
            SystemTableKind::JobRuns => vec![
                utf8("run_id", false),
                utf8("job", false),
                utf8("file", false),
                ts("started_at"),
                ts("ended_at"),
                utf8("status", false),
                utf8("error", true),
                Field::new("statements", DataType::Int64, false),
                Field::new("checks_run", DataType::Int64, false),
                Field::new("checks_failed", DataType::Int64, false),
                utf8("run_by", false),
            ],
        };
        Arc::new(Schema::new(fields))
    }
}

/// Nested struct of one product column (`products.columns`).
pub(crate) fn column_struct() -> DataType {
    DataType::Struct(Fields::from(vec![
        utf8("name", false),
        utf8("data_type", false),
        Field::new("nullable", DataType::Boolean, false),
        utf8("description", false),
        list_utf8("tags"),
        utf8("classification", false),
        Field::new("primary_key", DataType::Boolean, false),
        Field::new("unique", DataType::Boolean, false),
        list_utf8("accepted_values"),
        Field::new("ordinal", DataType::Int32, false),
    ]))
}

fn check_struct() -> DataType {
    DataType::Struct(Fields::from(vec![
        utf8("name", false),
        utf8("kind", false),
        utf8("column", false),
        utf8("definition", false),
    ]))
}

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn ts(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        false,
    )
}

fn list_utf8(name: &str) -> Field {
    list_of(name, DataType::Utf8)
}

fn list_of(name: &str, item: DataType) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("element", item, true))),
        false,
    )
}
