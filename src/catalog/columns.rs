use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use serde::Serialize;

use super::snapshot::CatalogState;
use crate::error::{Error, Result};

#[derive(Serialize)]
struct ColumnRow<'a> {
    product: String,
    domain: &'a str,
    product_name: &'a str,
    name: &'a str,
    data_type: &'a str,
    nullable: bool,
    description: &'a str,
    tags: &'a [String],
    classification: &'a str,
    primary_key: bool,
    unique: bool,
    accepted_values: &'a [String],
    ordinal: i32,
}

/// `meta.columns`: one row per product column, unnested from `meta.products.columns` (they are
/// stored in the product's row so that one commit changes a product and its columns at once).
pub(crate) fn columns_table(state: &CatalogState) -> Result<Arc<dyn TableProvider>> {
    let list = |n: &str| {
        Field::new(
            n,
            DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))),
            false,
        )
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("product", DataType::Utf8, false),
        Field::new("domain", DataType::Utf8, false),
        Field::new("product_name", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("data_type", DataType::Utf8, false),
        Field::new("nullable", DataType::Boolean, false),
        Field::new("description", DataType::Utf8, false),
        list("tags"),
        Field::new("classification", DataType::Utf8, false),
        Field::new("primary_key", DataType::Boolean, false),
        Field::new("unique", DataType::Boolean, false),
        list("accepted_values"),
        Field::new("ordinal", DataType::Int32, false),
    ]));
    let rows: Vec<ColumnRow> = state
        .products
        .values()
        .flat_map(|p| {
            p.columns.iter().map(move |c| ColumnRow {
                product: format!("{}.{}", p.domain, p.name),
                domain: &p.domain,
                product_name: &p.name,
                name: &c.name,
                data_type: &c.data_type,
                nullable: c.nullable,
                description: &c.description,
                tags: &c.tags,
                classification: &c.classification,
                primary_key: c.primary_key,
                unique: c.unique,
                accepted_values: &c.accepted_values,
                ordinal: c.ordinal,
            })
        })
        .collect();
    let batch = serde_arrow::to_record_batch(schema.fields(), &rows)
        .map_err(|e| Error::invalid(format!("building meta.columns: {e}")))?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}
