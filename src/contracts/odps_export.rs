//! A data product as an Open Data Product Standard (ODPS v1.0.0) file: the one applied, as
//! written, or one lakemeta writes from what it knows — the table as the output port (its
//! contract) and the products it is made from as input ports (theirs).

use serde_json::{Map, Value, json};

use super::export::contract_of;
use crate::error::{Error, Result};
use crate::model::DataProduct;

/// The ODPS version `product export --format odps` writes.
pub const ODPS_EXPORT_API_VERSION: &str = "v1.0.0";

/// `p` as an ODPS document: the applied ODPS file whose output port it is, else one written
/// from the product; `upstream` are the products it is made from (its lineage sources).
pub fn export_odps(p: &DataProduct, upstream: &[&DataProduct]) -> Result<String> {
    if let Some(text) = p.odps_spec.as_deref().filter(|t| !t.trim().is_empty()) {
        return Ok(text.to_string());
    }
    let (contract, version) = contract_of(p);
    let mut root = Map::new();
    root.insert("apiVersion".into(), json!(ODPS_EXPORT_API_VERSION));
    root.insert("kind".into(), json!("DataProduct"));
    root.insert("id".into(), json!(format!("{}.{}", p.domain, p.name)));
    root.insert("name".into(), json!(p.name));
    root.insert("version".into(), json!(version));
    root.insert("status".into(), json!("active"));
    root.insert("domain".into(), json!(p.domain));
    if !p.description.is_empty() {
        root.insert("description".into(), json!({ "purpose": p.description }));
    }
    if !p.tags.is_empty() {
        root.insert("tags".into(), json!(p.tags));
    }
    if !upstream.is_empty() {
        let ports: Vec<Value> = upstream
            .iter()
            .map(|u| {
                let (id, version) = contract_of(u);
                json!({"name": format!("{}.{}", u.domain, u.name), "version": version, "contractId": id})
            })
            .collect();
        root.insert("inputPorts".into(), Value::Array(ports));
    }
    root.insert(
        "outputPorts".into(),
        json!([{
            "name": p.name,
            "version": version,
            "type": "tables",
            "contractId": contract,
            "description": format!("The {} table, as its contract describes it", p.name),
        }]),
    );
    if !p.owner.is_empty() {
        root.insert("team".into(), json!({ "name": p.owner }));
    }
    serde_norway::to_string(&Value::Object(root)).map_err(|e| {
        Error::invalid(format!(
            "writing {}.{} as an ODPS data product: {e}",
            p.domain, p.name
        ))
    })
}
