//! lakemeta: a SQL-queryable lakehouse metadata engine.
pub mod catalog;
pub mod cli;
pub mod contracts;
pub mod error;
pub mod governance;
pub mod jobs;
pub mod lineage;
pub mod model;
pub mod quality;
pub mod repl;
pub mod server;
pub mod sql;
pub mod storage;

pub use error::{Error, Result};
