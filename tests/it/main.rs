//! Integration tests: real Delta tables on a local filesystem, the real binary.

mod apply;
mod catalog_writes;
mod cli;
mod concurrency;
mod contracts;
mod faults;
mod flight;
mod governance;
mod hostile;
mod interrupt;
mod jobs;
mod kills;
mod lineage_walks;
mod maintenance;
mod masks;
mod openlineage;
mod outage;
mod peers;
mod products_read;
mod quality;
mod repl;
mod s3;
mod support;
mod time_travel;
mod warehouse;

use std::sync::Arc;

use lakemeta::model::Principal;
use lakemeta::sql::{Session, SessionOptions};
use lakemeta::storage::{Warehouse, WarehouseLocation};

/// A session on a warehouse at `location`, run as `tester`.
pub async fn session(location: &str) -> Session {
    session_as(location, "tester").await
}

/// A session on a warehouse at `location`, run as `principal`.
pub async fn session_as(location: &str, principal: &str) -> Session {
    let wh = Warehouse::open(WarehouseLocation::parse(location).unwrap())
        .await
        .unwrap();
    Session::open(Arc::new(wh), SessionOptions::new(Principal::new(principal)))
        .await
        .unwrap()
}

/// The first column of the first row of a query, as a string.
pub async fn scalar(s: &Session, sql: &str) -> String {
    let out = s.sql(sql).await.unwrap().pop().unwrap();
    let b = &out.batches[0];
    arrow::util::display::array_value_to_string(b.column(0), 0).unwrap()
}

/// A declared lineage edge from product `source` to product `target`, recorded by `tester`.
pub fn declared_edge(source: &str, target: &str) -> lakemeta::model::LineageEdge {
    lakemeta::model::LineageEdge {
        source: source.into(),
        target: target.into(),
        source_column: None,
        target_column: None,
        kind: lakemeta::model::edge_kind::DECLARED.into(),
        statement: None,
        created_at: 0,
        created_by: "tester".into(),
    }
}

/// The lakemeta binary.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_lakemeta"))
}
