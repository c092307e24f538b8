//! The SQL surface: lakemeta's own statements parsed by extending DataFusion's parser, and the
//! session that runs every statement as a principal.

mod access;
mod bound_plan;
mod checks;
mod commands;
pub mod functions;
mod gate;
mod history;
mod interrupt;
mod lineage;
mod maintain;
mod memory;
mod once_stream;
mod output;
mod parser;
mod past;
mod session;
mod statements;
mod views;
mod writes;

pub use interrupt::interruptible;
pub use maintain::MaintainedTable;
pub use memory::QueryPool;
pub use output::Output;
pub use parser::parse_sql;
pub use session::{Answer, CATALOG_NAME, IfExists, Planned, Session, SessionOptions};
pub use statements::{CheckTarget, Grantee, LakeStatement, LineageEnd, ParsedStatement};
