//! The latest quality of every checked product, as `meta.product_health` reports it, for the
//! table functions that show it beside their rows.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, TimeUnit};
use datafusion::execution::context::{SessionContext, SessionState};

use crate::catalog::{CatalogState, Health};

/// The latest quality of each product in `state`'s snapshot, read once per snapshot.
pub(crate) async fn health_of(
    state: &CatalogState,
    session: &SessionState,
) -> datafusion::common::Result<Arc<Health>> {
    state.health(|| latest_health(session)).await
}

/// The latest quality of each product: status, score, when (read now).
pub(crate) async fn latest_health(session: &SessionState) -> datafusion::common::Result<Health> {
    read_health(session, None).await
}

/// The latest quality of `products` only, read now: the quality results of other products
/// are not read (a cold walk that reached a few products does not pay for every product's).
/// A snapshot's whole health, once read, answers for any products.
pub(crate) async fn health_of_these(
    state: &CatalogState,
    session: &SessionState,
    products: &[String],
) -> datafusion::common::Result<Arc<Health>> {
    match state.health_if_read() {
        Some(all) => Ok(all),
        None => read_health(session, Some(products)).await.map(Arc::new),
    }
}

async fn read_health(
    session: &SessionState,
    only: Option<&[String]>,
) -> datafusion::common::Result<Health> {
    use arrow::compute::cast;
    use datafusion::prelude::{col, lit};
    let ctx = SessionContext::new_with_state(session.clone());
    let mut frame = ctx
        .sql(
            "SELECT product, CASE WHEN errors > 0 THEN 'error' WHEN failed > 0 THEN 'fail' \
             ELSE 'pass' END, score, checked_at FROM meta.product_health",
        )
        .await?;
    if let Some(products) = only {
        if products.is_empty() {
            return Ok(HashMap::new());
        }
        frame = frame.filter(col("product").in_list(products.iter().map(lit).collect(), false))?;
    }
    let batches = frame.collect().await?;
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let mut out = HashMap::new();
    for b in &batches {
        let product = cast(b.column(0), &DataType::Utf8)?;
        let status = cast(b.column(1), &DataType::Utf8)?;
        let score = cast(b.column(2), &DataType::Float64)?;
        let at = cast(b.column(3), &utc)?;
        let product = product.as_string::<i32>();
        let status = status.as_string::<i32>();
        let score = score.as_primitive::<arrow::datatypes::Float64Type>();
        let at = at.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        for i in 0..b.num_rows() {
            out.insert(
                product.value(i).to_string(),
                (
                    status.value(i).to_string(),
                    (!score.is_null(i)).then(|| score.value(i)),
                    (!at.is_null(i)).then(|| at.value(i)),
                ),
            );
        }
    }
    Ok(out)
}
