//! Declarative specs: ODCS v3 data contracts for data products, ODPS data products over them,
//! and lakemeta's own domain, teams and policy specs,
//! parsed with file and line for every error, and applied idempotently.

mod apply;
mod diff;
mod domain_spec;
mod export;
mod lint;
mod odcs;
mod odps;
mod odps_export;
mod physical_types;
mod policy_spec;
mod ports;
mod positions;
mod relationships;
mod roles;
mod source;
mod sources;
mod standard;
mod storage_policy;
mod teams_spec;
mod types;

pub use apply::{ApplyReport, apply_specs, plan_specs};
pub use diff::{ContractChange, check_version_bump, diff_products, major_version, widens};
pub use domain_spec::DomainSpec;
pub use export::{EXPORT_API_VERSION, export_contract};
pub use lint::{LintReport, lint};
pub use odcs::{ProductSpec, SourceDecl};
pub use odps::{OdpsSpec, Port};
pub use odps_export::{ODPS_EXPORT_API_VERSION, export_odps};
pub use policy_spec::PolicySpec;
pub use positions::{Position, Positions, field_path, pointer_of};
pub use relationships::{ForeignKey, ForeignKeyDecl, foreign_keys};
pub use roles::approvers;
pub use source::{Spec, SpecSource, fill_defaults, load_path, parse_spec, read_sources};
pub use standard::{api_versions, conform, violations};
pub use storage_policy::StoragePolicy;
pub use teams_spec::{TeamsSpec, is_team_name};
pub use types::{arrow_type, check_schema, schema_hash, type_name};
