//! Declarative specs: ODCS v3 data contracts for data products and lakemeta's own domain spec,
//! parsed with file and line for every error, and applied idempotently.

mod apply;
mod diff;
mod domain_spec;
mod export;
mod odcs;
mod relationships;
mod source;
mod sources;
mod types;

pub use apply::{ApplyReport, apply_specs, plan_specs};
pub use diff::{ContractChange, check_version_bump, diff_products, major_version, widens};
pub use domain_spec::DomainSpec;
pub use export::{EXPORT_API_VERSION, export_contract};
pub use odcs::{ProductSpec, SourceDecl};
pub use relationships::{ForeignKey, ForeignKeyDecl, foreign_keys};
pub use source::{Spec, SpecSource, load_path, parse_spec};
pub use types::{arrow_type, check_schema, schema_hash, type_name};
