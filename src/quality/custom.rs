//! Custom SQL checks: a query over the product that returns its failing rows, or one metric
//! compared with the check's bound.

use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext, SessionState};

use super::fused::{Measured, as_f64};
use crate::model::DataProduct;
use crate::model::{Bound, number};

/// Runs a custom check. The query sees the product as `${object}` (or `{object}`, `${table}`),
/// as `domain.product` and as its bare name, and the check's column as `${property}` (ODCS's
/// name; or `${column}`). Without a bound, the query's rows are the failing
/// rows (it passes when there are none); with one, the first column of the first row is the
/// metric.
pub async fn run_sql_check(
    state: &SessionState,
    product: &DataProduct,
    provider: Arc<dyn TableProvider>,
    query: &str,
    column: &str,
    bound: Option<&Bound>,
) -> Result<Measured, String> {
    let config = SessionConfig::new()
        .with_default_catalog_and_schema("lakemeta", &product.domain)
        .with_create_default_catalog_and_schema(true);
    let scoped = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(Arc::clone(state.runtime_env()))
        .with_default_features()
        .build();
    let ctx = SessionContext::new_with_state(scoped);
    ctx.register_table(product.name.as_str(), provider)
        .map_err(|e| e.to_string())?;
    let qualified = format!("\"{}\".\"{}\"", product.domain, product.name);
    let sql = query
        .replace("${object}", &qualified)
        .replace("{object}", &qualified)
        .replace("${table}", &qualified)
        .replace("{table}", &qualified)
        .replace("${column}", &format!("\"{column}\""))
        .replace("{column}", &format!("\"{column}\""))
        .replace("${property}", &format!("\"{column}\""))
        .replace("{property}", &format!("\"{column}\""));
    let sql = sql.trim().trim_end_matches(';').to_string();
    crate::model::check_sql_depth(&sql)
        .map_err(|e| format!("the check's SQL is not run: {e}; fix the query in the contract"))?;
    // planned as written, so errors point into the check's own query; a query only: no DDL,
    // no COPY or INSERT, no SET — a contract's SQL cannot act on the machine or the catalog
    let query_only = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let df = ctx
        .sql_with_options(&sql, query_only)
        .await
        .map_err(|e| planning_error(&e))?;
    let failed = |e: datafusion::error::DataFusionError| {
        format!("the check's SQL failed: {}", first_line(&e.to_string()))
    };
    if bound.is_none() {
        let n = df.count().await.map_err(failed)? as i64;
        return Ok(Measured {
            value: Some(n as f64),
            text: format!("{n} failing rows"),
            failing: Some(n),
            from_stats: false,
        });
    }
    let batches = df.collect().await.map_err(failed)?;
    let first = batches.iter().find(|b| b.num_rows() > 0);
    let value = match first {
        Some(b) if b.num_columns() > 0 => {
            ScalarValue::try_from_array(b.column(0), 0).map_err(|e| e.to_string())?
        }
        _ => ScalarValue::Null,
    };
    let v = as_f64(&value);
    let text_bound = bound.is_some_and(|b| b.holds_text("").is_some());
    if first.is_some() && v.is_none() && !value.is_null() && !text_bound {
        return Err(format!(
            "the check's SQL returned {value}, not a number: a check with a numeric bound \
             needs a query whose first column is a number (mustBe and mustNotBe also take text)"
        ));
    }
    // text and booleans as themselves (a text bound compares them), numbers as a person
    // writes them
    let text = match (&value, v) {
        (s, _) if s.is_null() => "NULL".into(),
        (ScalarValue::Boolean(Some(b)), _) => b.to_string(),
        (ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)), _)
        | (ScalarValue::Utf8View(Some(s)), _) => s.clone(),
        (_, Some(v)) => number(v),
        (s, None) => s.to_string(),
    };
    Ok(Measured {
        value: v,
        text,
        failing: None,
        from_stats: false,
    })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// Why a check's query could not be planned, in the words of the parser or planner (without
/// the error type's wrapping), and where to fix it.
fn planning_error(e: &datafusion::error::DataFusionError) -> String {
    use datafusion::error::DataFusionError;
    use datafusion::sql::sqlparser::parser::ParserError;
    match e.find_root() {
        DataFusionError::SQL(p, _) => {
            let why = match p.as_ref() {
                ParserError::TokenizerError(m) | ParserError::ParserError(m) => m.clone(),
                other => other.to_string(),
            };
            format!("the check's SQL does not parse: {why}; fix the query in the contract")
        }
        root => format!(
            "the check's SQL does not run: {}; fix the query in the contract",
            first_line(&root.message()).trim_end_matches('.')
        ),
    }
}
