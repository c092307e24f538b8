//! What BI tools ask before they query: catalogs, schemas, tables (with their Arrow schemas)
//! and table types, as Flight SQL's metadata commands return them.

use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::datasource::TableType;

use crate::contracts::arrow_type;
use crate::error::Result;
use crate::sql::{CATALOG_NAME, Session};

/// One table a client can query: its schema (`meta` or a domain), name, type and columns.
pub struct Listed {
    /// `meta` or the domain.
    pub schema: String,
    /// The table or product.
    pub name: String,
    /// `TABLE` or `VIEW`.
    pub table_type: &'static str,
    /// Its columns.
    pub columns: SchemaRef,
}

/// The table types lakemeta has.
pub const TABLE_TYPES: [&str; 2] = ["TABLE", "VIEW"];

/// The catalog's name, as clients see it.
pub fn catalog_name() -> &'static str {
    CATALOG_NAME
}

/// The schemas: `meta` and one per domain.
pub fn schemas(session: &Session) -> Vec<String> {
    let state = session.catalog().state();
    let mut out = vec![crate::catalog::META_SCHEMA.to_string()];
    out.extend(state.domains.keys().cloned());
    out
}

/// Every table: the system tables and views of `meta` (as the session has them), and the data
/// products with the columns their catalog entries give (no product is opened).
pub async fn tables(session: &Session) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    if let Some(meta) = session
        .context()
        .catalog(CATALOG_NAME)
        .and_then(|c| c.schema(crate::catalog::META_SCHEMA))
    {
        for name in meta.table_names() {
            if let Some(t) = meta.table(&name).await? {
                out.push(Listed {
                    schema: crate::catalog::META_SCHEMA.to_string(),
                    name,
                    table_type: if t.table_type() == TableType::View {
                        "VIEW"
                    } else {
                        "TABLE"
                    },
                    columns: t.schema(),
                });
            }
        }
    }
    let state = session.catalog().state();
    for p in state.products.values() {
        let fields: Vec<Field> = p
            .columns
            .iter()
            .map(|c| {
                Field::new(
                    &c.name,
                    arrow_type(&c.data_type).unwrap_or(arrow::datatypes::DataType::Utf8),
                    c.nullable,
                )
            })
            .collect();
        out.push(Listed {
            schema: p.domain.clone(),
            name: p.name.clone(),
            table_type: "TABLE",
            columns: Arc::new(Schema::new(fields)),
        });
    }
    Ok(out)
}
