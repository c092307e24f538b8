//! Federated governance: who may read and write what. Teams and the access policy are specs
//! (`lakemeta apply`); grants and access requests are made in SQL; every decision is made from
//! the snapshot a statement runs on, and every statement is audited.

mod state;

pub use state::{Governance, ReadAccess};
