//! Plain types of the data-mesh model: no I/O here.

mod bound;
mod check_kind;
mod data_product;
mod domain;
mod governance;
mod lineage;
mod principal;
mod product;
mod statement_depth;
mod time_travel;

pub use bound::{Bound, bound, number};
pub use check_kind::{is_column_metric, metric_kind};
pub use data_product::{OdpsProduct, PortRow};
pub use domain::Domain;
pub use governance::{
    AccessRequest, AuditEvent, ColumnMaskRule, DefaultAccess, Grant, GranteeKind, MaskKind,
    MaskRule, Member, Policy, RequestStatus, RowFilterRule, SELECT, SELECT_UNMASKED, Team,
    default_mask,
};
pub use lineage::{LineageEdge, edge_kind};
pub use principal::Principal;
pub use product::{Check, Column, DataFormat, DataProduct, ProductKind, ProductName, Sla};
pub use statement_depth::{MAX_STATEMENT_DEPTH, check_sql_depth, check_statement_depth};
pub use time_travel::{
    AsOf, engine_names, mark_versions, parse_statements, parse_timestamp, restore_versions,
};

/// Microseconds since the Unix epoch, UTC: how every timestamp of the system tables is kept.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// A time (microseconds since the epoch, UTC) as people read it: `2027-01-31T12:00:00Z`.
pub fn format_timestamp(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| micros.to_string())
}

/// Schemas of lakemeta's own, which no domain may be named.
pub const RESERVED_SCHEMAS: [&str; 2] = ["meta", "information_schema"];

/// Checks that a domain or product name is a plain SQL identifier: lowercase letters, digits and
/// `_`, starting with a letter, at most 63 characters.
pub fn validate_name(kind: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok && kind == "domain" && RESERVED_SCHEMAS.contains(&name) {
        return Err(format!(
            "'{name}' cannot be a domain: it is a schema of lakemeta's own (meta holds the system \
             tables, information_schema the SQL catalog); choose another name"
        ));
    }
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid {kind} name '{name}': use lowercase letters, digits and '_', starting with \
             a letter (at most 63 characters)"
        ))
    }
}
