//! `search_catalog('text' [, 'tag,tag'])`: data products ranked by relevance over their names,
//! descriptions, column names and tags, ties broken by quality score. No cap on the number of
//! results: page with LIMIT and OFFSET.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, ListBuilder, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::plan_err;
use datafusion::execution::context::SessionState;

use super::computed::{Computed, Rows};
use super::health::health_of;
use super::run_checks::string_arg;
use crate::catalog::{Catalog, CatalogState, Doc, Hit};
use crate::governance::Caller;
use crate::model::now_micros;

/// The `search_catalog` table function.
#[derive(Debug)]
pub struct SearchCatalogFunction {
    catalog: Arc<Catalog>,
    caller: Arc<Caller>,
}

impl SearchCatalogFunction {
    /// The function over a catalog, for the principal of `caller` (whose access each result
    /// shows).
    pub fn new(catalog: Arc<Catalog>, caller: Arc<Caller>) -> Self {
        Self { catalog, caller }
    }
}

fn search_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("product", DataType::Utf8, false),
        Field::new("domain", DataType::Utf8, false),
        Field::new("owner", DataType::Utf8, false),
        Field::new("description", DataType::Utf8, false),
        Field::new(
            "tags",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
        Field::new("relevance", DataType::Float64, false),
        Field::new("quality_score", DataType::Float64, true),
        Field::new("matched", DataType::Utf8, false),
        Field::new("access", DataType::Utf8, false),
    ]))
}

impl TableFunctionImpl for SearchCatalogFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.is_empty() || exprs.len() > 2 {
            return plan_err!(
                "search_catalog takes the words to look for and optional tags: \
                 search_catalog('text' [, 'tag,tag'])"
            );
        }
        let text =
            string_arg("search_catalog", exprs, 0, "the words to look for")?.unwrap_or_default();
        let tags: Vec<String> = string_arg("search_catalog", exprs, 1, "tags, 'pii,financial'")?
            .unwrap_or_default()
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        if text.trim().is_empty() && tags.is_empty() {
            return plan_err!(
                "search_catalog: give words to look for, or tags to filter by \
                 (search_catalog('', 'pii') lists every product tagged pii)"
            );
        }
        let state = self.catalog.state();
        let hits = state.search_index().search(&text, &tags);
        Ok(Arc::new(Computed(SearchTable {
            state,
            hits,
            caller: Arc::clone(&self.caller),
        })))
    }
}

/// The products a search found; the quality scores that break ties are read when the query
/// runs.
#[derive(Debug)]
struct SearchTable {
    state: Arc<CatalogState>,
    hits: Vec<Hit>,
    caller: Arc<Caller>,
}

#[async_trait]
impl Rows for SearchTable {
    fn function(&self) -> &'static str {
        "search_catalog"
    }

    fn schema(&self) -> SchemaRef {
        search_schema()
    }

    async fn rows(&self, session: &SessionState) -> datafusion::common::Result<RecordBatch> {
        let health = health_of(&self.state, session).await?;
        let index = self.state.search_index();
        let mut hits: Vec<(&Doc, &Hit, Option<f64>)> = self
            .hits
            .iter()
            .map(|h| {
                let doc = index.doc(h);
                (doc, h, health.get(&doc.qualified).and_then(|v| v.1))
            })
            .collect();
        // best match first; among equals, the better quality (unchecked last), then the name
        // (the index's order)
        hits.sort_by(|(_, a, sa), (_, b, sb)| {
            b.relevance
                .total_cmp(&a.relevance)
                .then_with(|| match (sa, sb) {
                    (Some(x), Some(y)) => y.total_cmp(x),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
                .then(a.doc.cmp(&b.doc))
        });
        let mut tags = ListBuilder::new(StringBuilder::new());
        for (d, _, _) in &hits {
            for t in &d.tags {
                tags.values().append_value(t);
            }
            tags.append(true);
        }
        let who = &self.caller.principal().name;
        let now = now_micros();
        let access = StringArray::from_iter_values(hits.iter().map(|(d, _, _)| {
            match (
                self.state.products.get(&d.product),
                self.state.domains.get(&d.product.domain),
            ) {
                (Some(p), Some(domain)) => self.state.governance.access_label(who, p, domain, now),
                _ => "unknown".to_string(),
            }
        }));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                hits.iter().map(|(d, _, _)| d.qualified.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                hits.iter().map(|(d, _, _)| d.product.domain.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                hits.iter().map(|(d, _, _)| d.owner.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                hits.iter().map(|(d, _, _)| d.description.as_str()),
            )),
            Arc::new(tags.finish()),
            Arc::new(Float64Array::from_iter_values(
                hits.iter().map(|(_, h, _)| h.relevance),
            )),
            Arc::new(Float64Array::from_iter(hits.iter().map(|(_, _, s)| *s))),
            Arc::new(StringArray::from_iter_values(
                hits.iter().map(|(_, h, _)| h.matched().join(", ")),
            )),
            Arc::new(access),
        ];
        Ok(RecordBatch::try_new(search_schema(), columns)?)
    }
}
