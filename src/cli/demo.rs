use crate::contracts::{Spec, SpecSource, apply_specs, parse_spec};
use crate::error::Result;
use crate::repl::{self, PrintFormat, ReplOptions};
use std::sync::Arc;

use crate::model::Principal;
use crate::sql::{Session, SessionOptions, interruptible};

/// The example mesh, built into the binary so `lakemeta demo` works from any directory: its
/// teams and access policy, domains and contracts.
const SPECS: &[(&str, &str)] = &[
    (
        "examples/mesh/governance/teams.yaml",
        include_str!("../../examples/mesh/governance/teams.yaml"),
    ),
    (
        "examples/mesh/governance/policy.yaml",
        include_str!("../../examples/mesh/governance/policy.yaml"),
    ),
    (
        "examples/mesh/domains/orders.yaml",
        include_str!("../../examples/mesh/domains/orders.yaml"),
    ),
    (
        "examples/mesh/domains/users.yaml",
        include_str!("../../examples/mesh/domains/users.yaml"),
    ),
    (
        "examples/mesh/domains/inventory.yaml",
        include_str!("../../examples/mesh/domains/inventory.yaml"),
    ),
    (
        "examples/mesh/contracts/orders_fact.yaml",
        include_str!("../../examples/mesh/contracts/orders_fact.yaml"),
    ),
    (
        "examples/mesh/contracts/payments_fact.yaml",
        include_str!("../../examples/mesh/contracts/payments_fact.yaml"),
    ),
    (
        "examples/mesh/contracts/cart_events.yaml",
        include_str!("../../examples/mesh/contracts/cart_events.yaml"),
    ),
    (
        "examples/mesh/contracts/user_profiles.yaml",
        include_str!("../../examples/mesh/contracts/user_profiles.yaml"),
    ),
    (
        "examples/mesh/contracts/user_segments.yaml",
        include_str!("../../examples/mesh/contracts/user_segments.yaml"),
    ),
    (
        "examples/mesh/contracts/user_events.yaml",
        include_str!("../../examples/mesh/contracts/user_events.yaml"),
    ),
    (
        "examples/mesh/contracts/stock_levels.yaml",
        include_str!("../../examples/mesh/contracts/stock_levels.yaml"),
    ),
    (
        "examples/mesh/contracts/supplier_data.yaml",
        include_str!("../../examples/mesh/contracts/supplier_data.yaml"),
    ),
    (
        "examples/mesh/contracts/warehouse_events.yaml",
        include_str!("../../examples/mesh/contracts/warehouse_events.yaml"),
    ),
];

/// The deterministic data generator of the example mesh.
pub const DATA_SQL: &str = include_str!("../../examples/mesh/data.sql");

/// The declared lineage of the example mesh.
pub const LINEAGE_SQL: &str = include_str!("../../examples/mesh/lineage.sql");

/// Builds the example mesh into the session's warehouse: applies its specs and, if the
/// products are still empty, fills them with generated data. Safe to run again.
pub async fn build_example_mesh(session: &Session) -> Result<Vec<String>> {
    let specs = SPECS
        .iter()
        .map(|(file, text)| {
            parse_spec(SpecSource {
                file: (*file).to_string(),
                text: (*text).to_string(),
            })
        })
        .collect::<Result<Vec<Vec<Spec>>>>()?
        .into_iter()
        .flatten()
        .collect::<Vec<Spec>>();
    let report = apply_specs(
        session.catalog(),
        &specs,
        &session.state(),
        session.principal(),
    )
    .await?;
    let mut lines = report.lines();
    let count = session
        .sql("SELECT count(*) AS n FROM orders.orders_fact")
        .await?;
    let empty = count
        .first()
        .and_then(|o| o.batches.first())
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .map(|a| a.value(0) == 0)
        })
        .unwrap_or(true);
    if empty {
        session.sql(DATA_SQL).await?;
        lines.push("+ example data in all nine products".into());
        lines.push("+ declared lineage between them (examples/mesh/lineage.sql)".into());
    }
    // declaring an edge again changes nothing: a mesh built before gets it too
    session.sql(LINEAGE_SQL).await?;
    Ok(lines)
}

/// The example mesh's platform admin (a member of its `platform-admins` team), who builds it.
pub const ADMIN: &str = "admin";

/// `lakemeta demo`: builds the mesh in `admin`'s session, then opens the REPL as `viewer`.
pub(super) async fn run(admin: &Session, viewer: Principal, format: PrintFormat) -> Result<bool> {
    let lines = interruptible(admin.catalog(), build_example_mesh(admin)).await?;
    for line in lines {
        println!("{line}");
    }
    let repl_session;
    let session = if viewer == *admin.principal() {
        admin
    } else {
        repl_session =
            Session::with_catalog(Arc::clone(admin.catalog()), SessionOptions::new(viewer)).await?;
        &repl_session
    };
    let who = &session.principal().name;
    println!(
        "Example mesh ready; the REPL runs as {who}{}. Try: SHOW DOMAINS; SHOW PRODUCTS IN \
         orders; DESCRIBE PRODUCT orders.orders_fact; SELECT order_status, count(*) FROM \
         orders.orders_fact GROUP BY 1;",
        if who == ADMIN {
            " (the platform admin; lakemeta --user bob demo runs it as bob)"
        } else {
            ""
        }
    );
    repl::run(
        session,
        ReplOptions {
            format,
            history: super::sql::history_file(),
        },
    )
    .await
}
