//! Federated governance: who may read and write what. Teams and the access policy are specs
//! (`lakemeta apply`); grants and access requests are made in SQL; every decision is made from
//! the snapshot a statement runs on, and every statement is audited.
//!
//! Reads are decided below the planner: every table a statement can name is a
//! [`GovernedTable`], whose scan refuses a principal without access and marks what it reads;
//! [`verify_plan`] then refuses any physical plan that reads stored data without that mark.

mod audit;
mod caller;
mod masks;
mod redact;
mod secure_scan;
mod state;
mod verify;

pub use audit::{AuditLog, AuditSpan, BATCH_WINDOW};
pub use caller::{Caller, Channel, Ledger};
pub use masks::{REDACTED, mask_array, mask_email, mask_last4};
pub use redact::redact_pii_literals;
pub use secure_scan::{GovernedScanExec, GovernedTable};
pub use state::{ColumnMask, Governance, Protection, ReadAccess};
pub use verify::verify_plan;
