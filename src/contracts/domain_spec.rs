use serde::Deserialize;

use super::source::{SpecSource, yaml_error};
use super::storage_policy::{StorageBlock, StoragePolicy};
use crate::error::Result;
use crate::model::validate_name;

/// lakemeta's domain spec:
///
/// ```yaml
/// apiVersion: lakemeta/v1
/// kind: Domain
/// name: orders
/// owner: checkout-team
/// description: Orders, payments and carts
/// upstream: [inventory, users]
/// downstream: [analytics, ml, finance]
/// storage:                # the storage policy of its managed products (each optional)
///   retentionDays: 30
///   targetFileSize: 128MiB
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DomainSpec {
    /// Must be `lakemeta/v1`.
    pub api_version: String,
    /// Must be `Domain`.
    pub kind: String,
    /// Domain name.
    pub name: String,
    /// Owning team.
    pub owner: String,
    /// What the domain is about.
    #[serde(default)]
    pub description: String,
    /// Domains it reads from.
    #[serde(default)]
    pub upstream: Vec<String>,
    /// Domains or consumers that read from it.
    #[serde(default)]
    pub downstream: Vec<String>,
    /// The storage policy of its managed products, as written.
    #[serde(default, rename = "storage")]
    storage_block: StorageBlock,
    /// That policy, read.
    #[serde(skip)]
    pub storage: StoragePolicy,
}

impl DomainSpec {
    /// Parses and validates a domain spec.
    pub fn parse(source: &SpecSource) -> Result<Self> {
        let mut spec: DomainSpec =
            serde_norway::from_str(&source.text).map_err(|e| yaml_error(source, &e))?;
        if spec.api_version != "lakemeta/v1" {
            return Err(source.error(
                "apiVersion",
                format!(
                    "unsupported apiVersion '{}': use lakemeta/v1",
                    spec.api_version
                ),
            ));
        }
        validate_name("domain", &spec.name).map_err(|m| source.error("name", m))?;
        if spec.owner.trim().is_empty() {
            return Err(source.error("owner", "the owner team must not be empty"));
        }
        spec.storage = spec
            .storage_block
            .policy()
            .map_err(|(key, m)| source.error(&format!("storage.{key}"), m))?;
        Ok(spec)
    }
}
