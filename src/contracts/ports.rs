//! What applying ODPS data products changes: each output port's contract names the tables
//! (products) that are the port, which then carry the data product's id, the port and the
//! contracts it reads; each input port's contract names the products it reads, which become
//! declared upstream lineage of every output table. The data product owns those edges:
//! applying it again without an input port removes its edges.

use std::collections::BTreeMap;

use super::odcs::ProductSpec;
use super::odps::OdpsSpec;
use super::source::{Spec, SpecSource};
use crate::catalog::{
    CatalogState, ChangeSummary, DataProductChange, DomainChange, ProductChange, absent_edges,
    stale_edges_into,
};
use crate::error::{Error, Result};
use crate::lineage::LineageGraph;
use crate::model::{
    DataProduct, LineageEdge, OdpsProduct, PortRow, ProductName, edge_kind, now_micros,
};

/// The statement of the edges a data product declares starts with this.
const STATEMENT_PREFIX: &str = "data product ";

/// True when `edge` was declared by an ODPS data product's input ports.
pub(crate) fn is_from_data_product(edge: &LineageEdge) -> bool {
    super::sources::declared_by(edge, STATEMENT_PREFIX)
}

/// The products planned by the apply's contracts, by name.
pub(crate) type Planned<'a> = BTreeMap<ProductName, (DataProduct, &'a ProductSpec, &'a SpecSource)>;

/// The lineage the data products add and remove.
#[derive(Default)]
pub(crate) struct PortLineage {
    pub added: Vec<LineageEdge>,
    pub removed: Vec<LineageEdge>,
}

/// Plans the apply's ODPS data products over the products there will be (the current ones and
/// those `planned`): their changes join `changes` (each checked against `who`), and notes say
/// what is kept without effect.
pub(crate) fn plan_data_products(
    current: &CatalogState,
    graph: &LineageGraph,
    specs: &[Spec],
    planned: &mut Planned<'_>,
    changes: &mut ChangeSummary,
    who: &str,
    notes: &mut Vec<String>,
) -> Result<PortLineage> {
    let mut lineage = PortLineage::default();
    let mut seen: BTreeMap<&str, &SpecSource> = BTreeMap::new();
    let mut claimed: BTreeMap<ProductName, String> = BTreeMap::new();
    for spec in specs {
        let Spec::DataProduct(odps, src) = spec else {
            continue;
        };
        if let Some(first) = seen.insert(odps.id.as_str(), src) {
            return Err(src.error(
                "id",
                format!(
                    "data product {} is also described by {}: keep one file per data product",
                    odps.id, first.file
                ),
            ));
        }
        let inputs: Vec<String> = odps
            .input_ports
            .iter()
            .filter_map(|p| p.contract_id.clone())
            .collect();
        let mut targets: Vec<(ProductName, String)> = Vec::new();
        for port in &odps.output_ports {
            let Some(contract) = &port.contract_id else {
                continue;
            };
            let names = with_contract(current, planned, contract);
            if names.is_empty() {
                return Err(src.error(
                    &port.at,
                    format!(
                        "output port {} names contract '{contract}', which no product here has: \
                         apply the contract (with this file, or first)",
                        port.label()
                    ),
                ));
            }
            for name in names {
                if let Some(other) = claimed.insert(name.clone(), odps.id.clone()) {
                    return Err(src.error(
                        &port.at,
                        format!(
                            "{name} is already an output port of data product {other}: a table \
                             is the port of one data product"
                        ),
                    ));
                }
                targets.push((name, port.label()));
            }
        }
        record_data_product(current, changes, who, odps, src, &targets)?;
        // tables that were this data product's ports and are no longer
        let dropped: Vec<ProductName> = current
            .products
            .iter()
            .filter(|(n, p)| {
                p.data_product.as_deref() == Some(odps.id.as_str())
                    && !targets.iter().any(|(t, _)| t == *n)
            })
            .map(|(n, _)| n.clone())
            .collect();
        for name in &dropped {
            set_port(current, planned, changes, who, src, name, None)?;
            lineage.removed.extend(stale_edges_into(
                graph,
                &name.to_string(),
                &[],
                is_from_data_product,
            ));
        }
        let statement = format!(
            "{STATEMENT_PREFIX}{} {} ({})",
            odps.id, odps.version, src.file
        );
        let mut sources: Vec<ProductName> = Vec::new();
        for port in &odps.input_ports {
            let Some(contract) = &port.contract_id else {
                continue;
            };
            let names = with_contract(current, planned, contract);
            if names.is_empty() {
                notes.push(format!(
                    "{}: {}: input port {} names contract '{contract}', which no product here \
                     has: kept, no lineage recorded; apply again once it is here to record it",
                    src.file,
                    port.at,
                    port.label()
                ));
            }
            sources.extend(names);
        }
        for (target, port) in &targets {
            let membership = Membership {
                odps,
                port,
                inputs: &inputs,
                text: &src.text,
            };
            set_port(
                current,
                planned,
                changes,
                who,
                src,
                target,
                Some(membership),
            )?;
            let edges: Vec<LineageEdge> = sources
                .iter()
                .filter(|s| *s != target)
                .map(|s| LineageEdge {
                    source: s.to_string(),
                    target: target.to_string(),
                    source_column: None,
                    target_column: None,
                    kind: edge_kind::DECLARED.into(),
                    statement: Some(statement.clone()),
                    created_at: now_micros(),
                    created_by: String::new(),
                })
                .collect();
            lineage.removed.extend(stale_edges_into(
                graph,
                &target.to_string(),
                &edges,
                is_from_data_product,
            ));
            lineage.added.extend(absent_edges(graph, &edges));
        }
    }
    Ok(lineage)
}

/// Plans the data product's own row of `meta.data_products` (every data product is recorded,
/// with or without tables behind its ports), checked against `who`.
fn record_data_product(
    current: &CatalogState,
    changes: &mut ChangeSummary,
    who: &str,
    odps: &OdpsSpec,
    src: &SpecSource,
    targets: &[(ProductName, String)],
) -> Result<()> {
    let domain = if odps.domain.is_empty() {
        // its tables' domain, when they share one
        let mut of_tables: Vec<&str> = targets.iter().map(|(t, _)| t.domain.as_str()).collect();
        of_tables.sort_unstable();
        of_tables.dedup();
        match of_tables.as_slice() {
            [one] => one.to_string(),
            _ => {
                return Err(src.error(
                    "domain",
                    format!(
                        "data product {} names no domain{}: add `domain:` to the file, or apply \
                         it with --domain D",
                        odps.id,
                        if of_tables.is_empty() {
                            ""
                        } else {
                            " and its tables are in several"
                        }
                    ),
                ));
            }
        }
    } else {
        odps.domain.clone()
    };
    let created = changes.domains.iter().find_map(|d| match d {
        DomainChange::Create(new) if new.name == domain => Some(new.owner_team.clone()),
        _ => None,
    });
    let domain_owner = match (created, current.domains.get(&domain)) {
        (Some(owner), _) => owner,
        (None, Some(d)) => d.owner_team.clone(),
        (None, None) => {
            return Err(src.error(
                "domain",
                format!(
                    "data product {} is in domain {domain}, which does not exist: create it \
                     first (CREATE DOMAIN {domain} OWNER 'team', or apply its Domain spec with \
                     this file)",
                    odps.id
                ),
            ));
        }
    };
    let rows = |ports: &[super::odps::Port]| -> Vec<PortRow> {
        ports
            .iter()
            .map(|p| PortRow {
                name: p.name.clone(),
                version: p.version.clone(),
                contract_id: p.contract_id.clone(),
            })
            .collect()
    };
    let desired = OdpsProduct {
        id: odps.id.clone(),
        name: odps.name.clone(),
        version: odps.version.clone(),
        status: odps.status.clone(),
        domain,
        owner_team: if odps.team.is_empty() {
            domain_owner
        } else {
            odps.team.clone()
        },
        input_ports: rows(&odps.input_ports),
        output_ports: rows(&odps.output_ports),
        spec: src.text.clone(),
        created_at: 0,
        updated_at: 0,
        updated_by: String::new(),
    };
    let change = match current.data_products.get(&odps.id) {
        None => DataProductChange::Create(desired),
        Some(before) if !before.same_definition(&desired) => DataProductChange::Update {
            before: before.clone(),
            after: desired,
        },
        Some(_) => return Ok(()),
    };
    current
        .authorize_data_product(&change, who, &changes.domains)
        .map_err(|e| denied_at(src, "domain", e))?;
    changes.data_products.push(change);
    Ok(())
}

/// The products with contract `id`, as they will be after the apply.
fn with_contract(current: &CatalogState, planned: &Planned<'_>, id: &str) -> Vec<ProductName> {
    let mut names: Vec<ProductName> = planned
        .iter()
        .filter(|(_, (p, _, _))| p.contract_id == id)
        .map(|(n, _)| n.clone())
        .collect();
    names.extend(
        current
            .products
            .iter()
            .filter(|(n, p)| p.contract_id == id && !planned.contains_key(*n))
            .map(|(n, _)| n.clone()),
    );
    names
}

/// What a table records of the data product whose output port it is.
struct Membership<'a> {
    odps: &'a OdpsSpec,
    port: &'a str,
    inputs: &'a [String],
    text: &'a str,
}

/// Makes `name` the port of a data product (or of none), replacing the change the contracts
/// planned for it, and checks the change against `who`.
fn set_port(
    current: &CatalogState,
    planned: &mut Planned<'_>,
    changes: &mut ChangeSummary,
    who: &str,
    src: &SpecSource,
    name: &ProductName,
    membership: Option<Membership<'_>>,
) -> Result<()> {
    let existing = current.products.get(name).map(|p| &***p);
    let mut desired = match planned.get(name).map(|(p, _, _)| p).or(existing) {
        Some(p) => p.clone(),
        None => return Err(Error::invalid(format!("unknown data product {name}"))),
    };
    desired.data_product = membership.as_ref().map(|m| m.odps.id.clone());
    desired.output_port = membership.as_ref().map(|m| m.port.to_string());
    desired.input_ports = membership.as_ref().map(|m| m.inputs.to_vec());
    desired.odps_spec = membership.as_ref().map(|m| m.text.to_string());
    if let Some((p, _, _)) = planned.get_mut(name) {
        *p = desired.clone();
    }
    changes.products.retain(|c| {
        !matches!(c, ProductChange::Create(p) | ProductChange::Update { after: p, .. }
            if p.qualified_name() == *name)
    });
    let change = match existing {
        None => ProductChange::Create(desired),
        Some(before) if !before.same_definition(&desired) => ProductChange::Update {
            before: before.clone(),
            after: desired.measured_as(before),
        },
        Some(_) => return Ok(()),
    };
    current
        .authorize_product(&change, who, &changes.domains)
        .map_err(|e| denied_at(src, "outputPorts", e))?;
    changes.products.push(change);
    Ok(())
}

/// A refusal of the data product's change, placed at `field` of its file; other errors as
/// they are.
fn denied_at(src: &SpecSource, field: &str, e: Error) -> Error {
    match e {
        Error::PermissionDenied(reason) => Error::SpecDenied {
            file: src.file.clone(),
            line: src.line_of(field),
            field: field.into(),
            reason,
        },
        other => other,
    }
}
