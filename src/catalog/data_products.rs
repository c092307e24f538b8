//! Changes to `meta.data_products`: ODPS data products as applied.

use crate::model::{OdpsProduct, PortRow};
use crate::storage::{Keyed, RowChange};

impl Keyed for OdpsProduct {
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// A change to one ODPS data product.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // a handful per operation; boxing buys nothing
pub enum DataProductChange {
    /// A data product applied for the first time.
    Create(OdpsProduct),
    /// A data product applied again, changed.
    Update {
        /// As it is now.
        before: OdpsProduct,
        /// As it will be.
        after: OdpsProduct,
    },
    /// A data product removed (with its domain).
    Delete(OdpsProduct),
}

impl DataProductChange {
    /// The data product as it will be (as it was, for a removal).
    pub fn after(&self) -> &OdpsProduct {
        match self {
            DataProductChange::Create(p)
            | DataProductChange::Update { after: p, .. }
            | DataProductChange::Delete(p) => p,
        }
    }

    /// The plan's line for the change.
    pub fn line(&self) -> String {
        match self {
            DataProductChange::Create(p) => format!(
                "+ data product {} ({}{}, {}, {} input port{}, {} output port{})",
                p.id,
                p.name,
                if p.version.is_empty() {
                    String::new()
                } else {
                    format!(" {}", p.version)
                },
                p.status,
                p.input_ports.len(),
                plural(p.input_ports.len()),
                p.output_ports.len(),
                plural(p.output_ports.len()),
            ),
            DataProductChange::Update { before, after } => {
                let mut d: Vec<String> = Vec::new();
                for (what, a, b) in [
                    ("name", &before.name, &after.name),
                    ("version", &before.version, &after.version),
                    ("status", &before.status, &after.status),
                    ("domain", &before.domain, &after.domain),
                    ("owner team", &before.owner_team, &after.owner_team),
                ] {
                    if a != b {
                        d.push(format!("{what} {a} -> {b}"));
                    }
                }
                if before.input_ports != after.input_ports {
                    d.push(format!("input ports [{}]", labels(&after.input_ports)));
                }
                if before.output_ports != after.output_ports {
                    d.push(format!("output ports [{}]", labels(&after.output_ports)));
                }
                if d.is_empty() {
                    d.push("metadata".into());
                }
                format!("~ data product {}: {}", after.id, d.join(", "))
            }
            DataProductChange::Delete(p) => format!("- data product {}", p.id),
        }
    }

    /// The row change that commits it, stamped `now` by `who`.
    pub(crate) fn row_change(&self, now: i64, who: &str) -> RowChange<OdpsProduct> {
        let (before, after) = match self {
            DataProductChange::Create(p) => (None, p),
            DataProductChange::Update { before, after } => (Some(before), after),
            DataProductChange::Delete(p) => {
                return RowChange::Delete {
                    expected: p.clone(),
                };
            }
        };
        RowChange::Upsert {
            expected: before.cloned(),
            row: OdpsProduct {
                created_at: before.map_or(now, |b| b.created_at),
                updated_at: now,
                updated_by: who.to_string(),
                ..after.clone()
            },
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn labels(ports: &[PortRow]) -> String {
    ports
        .iter()
        .map(|p| match &p.contract_id {
            Some(c) => format!("{}: {c}", p.name),
            None => p.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
