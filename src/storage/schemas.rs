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
    /// One row per ODPS data product, its ports nested.
    DataProducts,
    /// One row per lineage edge.
    Lineage,
    /// One row per check evaluation.
    QualityResults,
    /// One row per run of a scheduled quality job.
    JobRuns,
    /// One row per team, its members nested.
    Teams,
    /// The access policy: one row (none: the built-in default).
    Policy,
    /// One row per grant to read a data product.
    Grants,
    /// One row per access request.
    AccessRequests,
    /// One row per audited statement or Flight call (append-only).
    AuditLog,
}

impl SystemTableKind {
    /// All system tables, in the order an operation that touches several commits them.
    pub const ALL: [SystemTableKind; 12] = [
        SystemTableKind::Teams,
        SystemTableKind::Policy,
        SystemTableKind::Domains,
        SystemTableKind::Contracts,
        SystemTableKind::Products,
        SystemTableKind::DataProducts,
        SystemTableKind::Lineage,
        SystemTableKind::QualityResults,
        SystemTableKind::JobRuns,
        SystemTableKind::Grants,
        SystemTableKind::AccessRequests,
        SystemTableKind::AuditLog,
    ];

    /// The warehouse layout version that introduced the table.
    pub fn since_layout(self) -> u32 {
        match self {
            SystemTableKind::JobRuns => 2,
            SystemTableKind::Teams
            | SystemTableKind::Policy
            | SystemTableKind::Grants
            | SystemTableKind::AccessRequests
            | SystemTableKind::AuditLog => 3,
            SystemTableKind::DataProducts => 5,
            _ => 1,
        }
    }

    /// True for the tables a catalog snapshot is read from (all but the audit log, which only
    /// grows and is read when a statement asks for it).
    pub fn in_snapshot(self) -> bool {
        self != SystemTableKind::AuditLog
    }

    /// The table's name in `meta` and under `_meta/`.
    pub fn name(self) -> &'static str {
        match self {
            SystemTableKind::Domains => "domains",
            SystemTableKind::Products => "products",
            SystemTableKind::Contracts => "contracts",
            SystemTableKind::DataProducts => "data_products",
            SystemTableKind::Lineage => "lineage",
            SystemTableKind::QualityResults => "quality_results",
            SystemTableKind::JobRuns => "job_runs",
            SystemTableKind::Teams => "teams",
            SystemTableKind::Policy => "policy",
            SystemTableKind::Grants => "grants",
            SystemTableKind::AccessRequests => "access_requests",
            SystemTableKind::AuditLog => "audit_log",
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

    /// The size system tables' data files are written and compacted to (their
    /// `delta.targetFileSize`): small, because a change rewrites the files that hold its rows,
    /// and a catalog of 100,000 products is some 20 MB — half a megabyte a file keeps a change
    /// under a megabyte written, in a few dozen files to read.
    pub const FILE_SIZE: std::num::NonZeroU64 = std::num::NonZeroU64::new(512 * 1024).unwrap();

    /// The columns that identify a row of a table written by key in place (see
    /// [`SystemTable::apply_changes`](super::SystemTable::apply_changes) and
    /// [`SystemTable::replace_by_key`](super::SystemTable::replace_by_key)): the row's
    /// [`Keyed::key`](super::Keyed::key) is made of them. Empty for the others.
    pub fn key_columns(self) -> &'static [&'static str] {
        match self {
            SystemTableKind::Lineage => {
                &["source", "source_column", "target", "target_column", "kind"]
            }
            SystemTableKind::Domains | SystemTableKind::Teams => &["name"],
            SystemTableKind::Products => &["domain", "name"],
            // a contract's history row per product, version and text
            SystemTableKind::Contracts => &["product", "version", "spec"],
            SystemTableKind::DataProducts => &["id"],
            SystemTableKind::Grants => &["grant_id"],
            SystemTableKind::AccessRequests => &["request_id"],
            // the policy is one row; results, runs and the audit log are only appended to
            SystemTableKind::Policy
            | SystemTableKind::QualityResults
            | SystemTableKind::JobRuns
            | SystemTableKind::AuditLog => &[],
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
                // added with storage policies
                Field::new("retention_days", DataType::Int64, true),
                Field::new("target_file_size", DataType::Int64, true),
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
                // added with ODPS support: nullable, so tables of earlier layouts gain them
                utf8("data_product", true),
                utf8("output_port", true),
                Field::new(
                    "input_ports",
                    DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))),
                    true,
                ),
                utf8("odps_spec", true),
                utf8("display_name", true),
                // added with contract row filters
                utf8("row_filter", true),
                Field::new("row_filter_applies_to_owners", DataType::Boolean, true),
                // added with storage policies
                Field::new(
                    "partition_by",
                    DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))),
                    true,
                ),
                Field::new("retention_days", DataType::Int64, true),
                Field::new("target_file_size", DataType::Int64, true),
                // added with maintenance: the table as last measured
                Field::new("file_count", DataType::Int64, true),
                Field::new("size_bytes", DataType::Int64, true),
                ts_null("last_maintained"),
            ],
            SystemTableKind::Contracts => vec![
                utf8("product", false),
                utf8("contract_id", false),
                utf8("version", false),
                utf8("spec", false),
                utf8("schema_hash", false),
                ts("created_at"),
                utf8("created_by", false),
                // added with contracts of several tables: every table a version describes
                Field::new(
                    "products",
                    DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))),
                    true,
                ),
            ],
            SystemTableKind::DataProducts => vec![
                utf8("id", false),
                utf8("name", false),
                utf8("version", false),
                utf8("status", false),
                utf8("domain", false),
                utf8("owner_team", false),
                list_of("input_ports", port_struct()),
                list_of("output_ports", port_struct()),
                utf8("spec", false),
                ts("created_at"),
                ts("updated_at"),
                utf8("updated_by", false),
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
            SystemTableKind::Teams => vec![
                utf8("name", false),
                utf8("description", false),
                Field::new("admin", DataType::Boolean, false),
                list_of("members", member_struct()),
                ts("created_at"),
                ts("updated_at"),
                utf8("updated_by", false),
            ],
            SystemTableKind::Policy => vec![
                Field::new("version", DataType::Int64, false),
                list_utf8("sensitive_tags"),
                list_utf8("pii_types"),
                Field::new("max_grant_days", DataType::Int64, false),
                Field::new("request_ttl_days", DataType::Int64, false),
                utf8("default_access", false),
                utf8("spec", false),
                ts("updated_at"),
                utf8("updated_by", false),
                // layout 4
                nullable_list_of(
                    "masks",
                    DataType::Struct(Fields::from(vec![
                        utf8("classification", false),
                        utf8("mask", false),
                        utf8("expression", true),
                    ])),
                ),
                nullable_list_of(
                    "row_filters",
                    DataType::Struct(Fields::from(vec![
                        utf8("product", false),
                        utf8("predicate", false),
                        Field::new("applies_to_owners", DataType::Boolean, false),
                    ])),
                ),
                Field::new("masked_read_without_grant", DataType::Boolean, true),
            ],
            SystemTableKind::Grants => vec![
                utf8("grant_id", false),
                utf8("product", false),
                utf8("grantee", false),
                utf8("grantee_kind", false),
                utf8("privilege", false),
                utf8("granted_by", false),
                ts("granted_at"),
                ts("expires_at"),
                utf8("request_id", true),
                ts_null("revoked_at"),
                utf8("revoked_by", true),
            ],
            SystemTableKind::AccessRequests => vec![
                utf8("request_id", false),
                utf8("product", false),
                utf8("requester", false),
                utf8("reason", false),
                Field::new("days", DataType::Int64, true),
                utf8("status", false),
                ts("requested_at"),
                ts("expires_at"),
                utf8("decided_by", true),
                ts_null("decided_at"),
                utf8("decision_reason", true),
                utf8("grant_id", true),
                // layout 4
                utf8("privilege", true),
            ],
            SystemTableKind::AuditLog => vec![
                ts("at"),
                utf8("statement_id", false),
                utf8("principal", false),
                utf8("client_address", true),
                utf8("channel", false),
                utf8("kind", false),
                utf8("statement", true),
                list_utf8("products_read"),
                list_utf8("columns_read"),
                list_utf8("products_written"),
                utf8("decision", false),
                utf8("reason", true),
                list_utf8("grant_ids"),
                Field::new("policy_version", DataType::Int64, false),
                Field::new("rows", DataType::Int64, true),
                Field::new("bytes", DataType::Int64, true),
                Field::new("duration_ms", DataType::Int64, false),
                utf8("error", true),
                // layout 4
                nullable_list_of("protections", DataType::Utf8),
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

/// Nested struct of one port of an ODPS data product (`data_products.input_ports`).
fn port_struct() -> DataType {
    DataType::Struct(Fields::from(vec![
        utf8("name", false),
        utf8("version", false),
        utf8("contract_id", true),
    ]))
}

/// Nested struct of one team member (`teams.members`): name and attributes.
fn member_struct() -> DataType {
    DataType::Struct(Fields::from(vec![
        utf8("name", false),
        Field::new(
            "attributes",
            DataType::Map(
                Arc::new(Field::new(
                    "entries",
                    DataType::Struct(Fields::from(vec![utf8("key", false), utf8("value", true)])),
                    false,
                )),
                false,
            ),
            false,
        ),
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

fn ts_null(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )
}

fn list_utf8(name: &str) -> Field {
    list_of(name, DataType::Utf8)
}

/// A list column added by a later layout: NULL in the rows written before it.
fn nullable_list_of(name: &str, item: DataType) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("element", item, true))),
        true,
    )
}

fn list_of(name: &str, item: DataType) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("element", item, true))),
        false,
    )
}
