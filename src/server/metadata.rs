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
/// products with the columns their catalog entries give (no product is opened), as the caller
/// reads them (a column masked for them is nullable).
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
    let who = &session.principal().name;
    let now = crate::model::now_micros();
    for p in state.products.values() {
        // as the caller reads it: a masked column may read NULL, as a query's schema says
        let policy = state.governance.policy();
        let masked: Vec<String> = if p.columns.iter().any(|c| policy.column_mask(c).is_some()) {
            state
                .governance
                .protection_of(who, p, state.domains.get(&p.domain), now)
                .masks
                .into_iter()
                .map(|m| m.column)
                .collect()
        } else {
            Vec::new()
        };
        let fields: Vec<Field> = p
            .columns
            .iter()
            .map(|c| {
                Field::new(
                    &c.name,
                    arrow_type(&c.data_type).unwrap_or(arrow::datatypes::DataType::Utf8),
                    c.nullable || masked.contains(&c.name),
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

/// The schema of a `GetPrimaryKeys` answer.
pub fn primary_keys_schema() -> SchemaRef {
    use arrow::datatypes::DataType;
    Arc::new(Schema::new(vec![
        Field::new("catalog_name", DataType::Utf8, true),
        Field::new("db_schema_name", DataType::Utf8, true),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("column_name", DataType::Utf8, false),
        Field::new("key_name", DataType::Utf8, true),
        Field::new("key_sequence", DataType::Int32, false),
    ]))
}

/// The primary key of a product (`schema` = its domain), as its contract declares it
/// (`primaryKey: true` on columns, in column order); none for an unknown table.
pub fn primary_keys(
    session: &Session,
    catalog: Option<&str>,
    schema: Option<&str>,
    table: &str,
) -> Result<arrow::array::RecordBatch> {
    use arrow::array::{Int32Array, StringArray};
    let state = session.catalog().state();
    let wanted_catalog = catalog.is_none_or(|c| c == CATALOG_NAME);
    let mut columns: Vec<(String, String)> = Vec::new();
    if wanted_catalog {
        for p in state.products.values() {
            if p.name == table && schema.is_none_or(|s| s == p.domain) {
                columns.extend(
                    p.columns
                        .iter()
                        .filter(|c| c.primary_key)
                        .map(|c| (p.domain.clone(), c.name.clone())),
                );
            }
        }
    }
    let n = columns.len();
    Ok(arrow::array::RecordBatch::try_new(
        primary_keys_schema(),
        vec![
            Arc::new(StringArray::from(vec![Some(CATALOG_NAME); n])),
            Arc::new(StringArray::from_iter_values(
                columns.iter().map(|(d, _)| d.as_str()),
            )),
            Arc::new(StringArray::from(vec![table; n])),
            Arc::new(StringArray::from_iter_values(
                columns.iter().map(|(_, c)| c.as_str()),
            )),
            Arc::new(StringArray::from(vec![None::<&str>; n])),
            Arc::new(Int32Array::from_iter_values(1..=n as i32)),
        ],
    )?)
}

/// The schema of a `GetImportedKeys`, `GetExportedKeys` or `GetCrossReference` answer.
pub fn foreign_keys_schema() -> SchemaRef {
    use arrow::datatypes::DataType;
    let utf8 = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        utf8("pk_catalog_name", true),
        utf8("pk_db_schema_name", true),
        utf8("pk_table_name", false),
        utf8("pk_column_name", false),
        utf8("fk_catalog_name", true),
        utf8("fk_db_schema_name", true),
        utf8("fk_table_name", false),
        utf8("fk_column_name", false),
        Field::new("key_sequence", DataType::Int32, false),
        utf8("fk_key_name", true),
        utf8("pk_key_name", true),
        Field::new("update_rule", DataType::UInt8, false),
        Field::new("delete_rule", DataType::UInt8, false),
    ]))
}

/// A table as a metadata command names it: catalog and schema optional (`None`: any).
pub struct TableRef<'a> {
    /// The catalog, when given.
    pub catalog: Option<&'a str>,
    /// The schema (domain), when given.
    pub schema: Option<&'a str>,
    /// The table (product).
    pub table: &'a str,
}

impl<'a> TableRef<'a> {
    /// The table a command names, from its optional catalog and schema.
    pub fn new(catalog: &'a Option<String>, schema: &'a Option<String>, table: &'a str) -> Self {
        Self {
            catalog: catalog.as_deref(),
            schema: schema.as_deref(),
            table,
        }
    }

    fn matches(&self, name: &crate::model::ProductName) -> bool {
        self.catalog.is_none_or(|c| c == CATALOG_NAME)
            && self.schema.is_none_or(|s| s == name.domain)
            && self.table == name.name
    }
}

/// The foreign keys the contracts declare, one row per column pair, ordered as Flight SQL
/// asks (by the referenced table, then the key's column order). `referencing` keeps the keys
/// held by that table (imported keys), `referenced` those that point at it (exported keys);
/// both: the keys between the two (cross reference). A key cannot be enforced by Delta, so
/// its update and delete rules are NO ACTION.
pub fn foreign_keys(
    session: &Session,
    referencing: Option<&TableRef<'_>>,
    referenced: Option<&TableRef<'_>>,
) -> Result<arrow::array::RecordBatch> {
    use arrow::array::{Int32Array, StringArray, UInt8Array};
    use arrow_flight::sql::UpdateDeleteRules;
    let state = session.catalog().state();
    let lookup = |n: &crate::model::ProductName| state.products.get(n).map(|p| &***p);
    let mut by_name: std::collections::HashMap<&str, Vec<crate::model::ProductName>> =
        std::collections::HashMap::new();
    for n in state.products.keys() {
        by_name.entry(n.name.as_str()).or_default().push(n.clone());
    }
    let named = |n: &str| by_name.get(n).cloned().unwrap_or_default();
    let mut keys: Vec<crate::contracts::ForeignKey> = Vec::new();
    for p in state.products.values() {
        if referencing.is_some_and(|t| !t.matches(&p.qualified_name())) {
            continue;
        }
        keys.extend(
            crate::contracts::foreign_keys(p, lookup, named)
                .into_iter()
                .filter(|k| referenced.is_none_or(|t| t.matches(&k.references))),
        );
    }
    keys.sort_by(|a, b| {
        (&a.references, &a.product, &a.columns).cmp(&(&b.references, &b.product, &b.columns))
    });
    // one row per column pair
    let rows: Vec<(&crate::contracts::ForeignKey, usize)> = keys
        .iter()
        .flat_map(|k| (0..k.columns.len()).map(move |i| (k, i)))
        .collect();
    let n = rows.len();
    let text = |f: &dyn Fn(&(&crate::contracts::ForeignKey, usize)) -> String| {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f))) as arrow::array::ArrayRef
    };
    let no_action = UpdateDeleteRules::NoAction as u8;
    Ok(arrow::array::RecordBatch::try_new(
        foreign_keys_schema(),
        vec![
            Arc::new(StringArray::from(vec![Some(CATALOG_NAME); n])),
            text(&|(k, _)| k.references.domain.clone()),
            text(&|(k, _)| k.references.name.clone()),
            text(&|(k, i)| k.referenced_columns[*i].clone()),
            Arc::new(StringArray::from(vec![Some(CATALOG_NAME); n])),
            text(&|(k, _)| k.product.domain.clone()),
            text(&|(k, _)| k.product.name.clone()),
            text(&|(k, i)| k.columns[*i].clone()),
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|(_, i)| *i as i32 + 1),
            )),
            text(&|(k, _)| format!("{}_{}_fkey", k.product.name, k.columns.join("_"))),
            Arc::new(StringArray::from(vec![None::<&str>; n])),
            Arc::new(UInt8Array::from(vec![no_action; n])),
            Arc::new(UInt8Array::from(vec![no_action; n])),
        ],
    )?)
}
