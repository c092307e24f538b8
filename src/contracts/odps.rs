//! Open Data Product Standard (ODPS v0.9, v1.0) data products: a product of the mesh whose
//! output ports are ODCS contracts (the tables lakemeta holds) and whose input ports are the
//! contracts it reads.

use serde::Deserialize;
use serde_norway::Value;

use super::source::{SpecSource, yaml_error};
use super::standard::ODPS;
use crate::error::Result;

/// An ODPS data product as lakemeta reads it; the whole text is kept as written.
#[derive(Debug, Clone)]
pub struct OdpsSpec {
    /// The product's `id`.
    pub id: String,
    /// Its `name` (else its id).
    pub name: String,
    /// Its `version` (empty when it gives none).
    pub version: String,
    /// Its `status`.
    pub status: String,
    /// Its `domain` as written (empty: `apply --domain`).
    pub domain: String,
    /// Its owner team: `team.name`, or the member with role `owner` (v0.9's list).
    pub team: String,
    /// The contracts it reads.
    pub input_ports: Vec<Port>,
    /// The contracts it offers.
    pub output_ports: Vec<Port>,
    /// What lakemeta read differently from how the file says it.
    pub notes: Vec<String>,
}

/// An input or output port: a named, versioned ODCS contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    /// The port's `name`.
    pub name: String,
    /// The port's `version`.
    pub version: String,
    /// The ODCS contract `id` it names (`None`: an output port without a contract).
    pub contract_id: Option<String>,
    /// Where the file says it (`outputPorts[0]`), for errors.
    pub at: String,
}

impl Port {
    /// `name (version)`, or `name` alone without a version.
    pub fn label(&self) -> String {
        if self.version.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.version)
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Odps {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    status: String,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    team: Option<Value>,
    #[serde(default)]
    input_ports: Vec<RawPort>,
    #[serde(default)]
    output_ports: Vec<RawPort>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPort {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    contract_id: Option<String>,
}

impl OdpsSpec {
    /// Parses an ODPS file: the standard's schema for its `apiVersion` (or the other version it
    /// follows) judges it first, every violation reported.
    pub fn parse(source: &SpecSource) -> Result<Self> {
        let read_as = ODPS.conform(source)?;
        let p: Odps = serde_norway::from_str(&source.text).map_err(|e| yaml_error(source, &e))?;
        let ports = |list: Vec<RawPort>, what: &str| -> Vec<Port> {
            list.into_iter()
                .enumerate()
                .map(|(i, r)| Port {
                    name: r.name,
                    version: r.version.unwrap_or_default(),
                    contract_id: r
                        .contract_id
                        .map(|c| c.trim().to_string())
                        .filter(|c| !c.is_empty()),
                    at: format!("{what}[{i}]"),
                })
                .collect()
        };
        let team = super::odcs::team_name(p.team.as_ref());
        let mut notes: Vec<String> = read_as.into_iter().collect();
        let output_ports = ports(p.output_ports, "outputPorts");
        for port in output_ports.iter().filter(|o| o.contract_id.is_none()) {
            notes.push(format!(
                "{}: output port {} names no contract (contractId): kept, no table is attached \
                 to it",
                port.at,
                port.label()
            ));
        }
        Ok(OdpsSpec {
            name: p.name.clone().unwrap_or_else(|| p.id.clone()),
            id: p.id,
            version: p.version.unwrap_or_default(),
            status: p.status,
            domain: p.domain.map(|d| d.trim().to_string()).unwrap_or_default(),
            team,
            input_ports: ports(p.input_ports, "inputPorts"),
            output_ports,
            notes,
        })
    }
}
