//! The SQL surface: lakemeta's own statements parsed by extending DataFusion's parser, and the
//! session that runs every statement as a principal.

mod checks;
mod commands;
pub mod functions;
mod interrupt;
mod lineage;
mod output;
mod parser;
mod session;
mod views;

pub use interrupt::interruptible;
pub use output::Output;
pub use parser::{CheckTarget, LakeStatement, LineageEnd, ParsedStatement, parse_sql};
pub use session::{Answer, CATALOG_NAME, IfExists, Session, SessionOptions};
