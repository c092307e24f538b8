//! Loading OpenLineage events into the catalog: their datasets become products, their flows
//! lineage edges of kind `openlineage`.
//!
//! A dataset is a lakemeta product when its namespace is `lakemeta` and its name
//! `domain.product`, or when its location (namespace and name) is a product's location.
//! Any other dataset becomes an external product named after its namespace (the domain) and
//! name, created on first sight and given the columns the events show.

use std::collections::{BTreeMap, HashMap};

use super::{Catalog, ChangeSummary, DomainChange, ProductChange, absent_edges};
use crate::error::Result;
use crate::lineage::{Dataset, DatasetId, LineageEvent};
use crate::model::{
    Column, DataProduct, Domain, LineageEdge, Principal, ProductName, edge_kind, validate_name,
};

/// The namespace of datasets that are lakemeta products, named `domain.product`.
pub const LAKEMETA_NAMESPACE: &str = "lakemeta";

/// Marks the description of a product made from OpenLineage events.
const SEEN_IN: &str = "Seen in OpenLineage events";

/// What loading a file of events did.
#[derive(Debug, Default)]
pub struct IngestReport {
    /// Events that gave lineage.
    pub loaded: usize,
    /// Lines without lineage (blank lines, dataset events, events without inputs or outputs).
    pub skipped: usize,
    /// Events refused: line number and why.
    pub refused: Vec<(usize, String)>,
    /// Edges recorded that were not there before.
    pub new_edges: usize,
    /// External products created for datasets lakemeta did not know.
    pub new_products: Vec<String>,
    /// Domains created for them.
    pub new_domains: Vec<String>,
}

/// The products, domains and edges the events so far add up to.
struct Pending<'a> {
    catalog: &'a super::CatalogState,
    /// The warehouse root, where no dataset of an event may point.
    root: url::Url,
    by_location: HashMap<String, ProductName>,
    domains: BTreeMap<String, Domain>,
    /// Products created or given columns by these events, as they will be.
    products: BTreeMap<ProductName, (DataProduct, bool)>,
    edges: Vec<LineageEdge>,
    /// What the event being added changed, to take back if it is refused: locations learned,
    /// domains made, and products as they were before it touched them.
    learned: Vec<String>,
    made_domains: Vec<String>,
    touched: Vec<(ProductName, Option<(DataProduct, bool)>)>,
}

impl Catalog {
    /// Loads OpenLineage events (with their line numbers): every event is checked on its own,
    /// and one that names a column a product does not have is refused with its line while the
    /// others load. The new products and domains are committed first, then the edges.
    pub async fn ingest_openlineage(
        &self,
        events: &[(usize, LineageEvent)],
        principal: &Principal,
    ) -> Result<IngestReport> {
        self.refresh().await?;
        let state = self.state();
        let mut pending = Pending {
            by_location: state
                .products
                .iter()
                .map(|(n, p)| (normalize(&p.location), n.clone()))
                .collect(),
            catalog: &state,
            root: self.warehouse().url().clone(),
            domains: BTreeMap::new(),
            products: BTreeMap::new(),
            edges: Vec::new(),
            learned: Vec::new(),
            made_domains: Vec::new(),
            touched: Vec::new(),
        };
        let mut report = IngestReport::default();
        for (line, event) in events {
            if event.inputs.is_empty() && event.field_flows.is_empty() || event.outputs.is_empty() {
                report.skipped += 1;
                continue;
            }
            let edges_before = pending.edges.len();
            let added = pending
                .add(event, &principal.name)
                .and_then(|()| pending.authorize(&principal.name, edges_before));
            match added {
                Ok(()) => {
                    pending.learned.clear();
                    pending.made_domains.clear();
                    pending.touched.clear();
                    report.loaded += 1;
                }
                Err(message) => {
                    // a refused event leaves nothing behind
                    pending.edges.truncate(edges_before);
                    pending.take_back();
                    report.refused.push((*line, message));
                }
            }
        }
        let mut changes = ChangeSummary::default();
        for d in pending.domains.into_values() {
            report.new_domains.push(d.name.clone());
            changes.domains.push(DomainChange::Create(d));
        }
        for (name, (p, new)) in pending.products {
            if new {
                report.new_products.push(name.to_string());
                changes.products.push(ProductChange::Create(p));
            } else if let Some(before) = state.products.get(&name) {
                changes.products.push(ProductChange::Update {
                    before: DataProduct::clone(before),
                    after: p,
                });
            }
        }
        self.commit(&changes, principal).await?;
        let now = self.state();
        let near = now
            .graph_near(&super::lineage::sources_of(&pending.edges), &[])
            .await?;
        let new = absent_edges(&near, &pending.edges);
        report.new_edges = new.len();
        self.change_lineage(&now, &[], &new).await?;
        Ok(report)
    }
}

impl Pending<'_> {
    /// Checks what the event being added changes against `who`: a new domain is an admin's to
    /// make, a new product its domain's owners', lineage into (or columns of) an existing
    /// product its owners'.
    fn authorize(&self, who: &str, edges_from: usize) -> std::result::Result<(), String> {
        let g = &self.catalog.governance;
        let denied = |e: crate::error::Error| e.to_string();
        for d in &self.made_domains {
            if let Some(domain) = self.domains.get(d) {
                g.may_create_domain(who, d, &domain.owner_team)
                    .map_err(denied)?;
            }
        }
        let mut targets: Vec<ProductName> =
            self.touched.iter().map(|(name, _)| name.clone()).collect();
        for e in &self.edges[edges_from.min(self.edges.len())..] {
            if let Ok(name) = e.target.parse::<ProductName>() {
                targets.push(name);
            }
        }
        for name in targets {
            match (
                self.catalog.products.get(&name),
                self.catalog.domains.get(&name.domain),
            ) {
                (Some(p), Some(d)) => g.may_write_product(who, p, d).map_err(denied)?,
                (None, Some(d)) => g.may_write_domain(who, d).map_err(denied)?,
                // in a domain this ingest makes: authorized with the domain
                _ => {}
            }
        }
        Ok(())
    }

    /// Undoes what the event being added changed.
    fn take_back(&mut self) {
        for location in self.learned.drain(..) {
            self.by_location.remove(&location);
        }
        for domain in self.made_domains.drain(..) {
            self.domains.remove(&domain);
        }
        while let Some((name, before)) = self.touched.pop() {
            match before {
                Some(p) => self.products.insert(name, p),
                None => self.products.remove(&name),
            };
        }
    }

    /// Sets a product as these events make it, remembering what it was.
    fn put(&mut self, name: ProductName, product: DataProduct, new: bool) {
        let before = self.products.insert(name.clone(), (product, new));
        self.touched.push((name, before));
    }

    fn add(&mut self, event: &LineageEvent, who: &str) -> std::result::Result<(), String> {
        let statement = match &event.run_id {
            Some(run) => format!("OpenLineage job {}, run {run}", event.job),
            None => format!("OpenLineage job {}", event.job),
        };
        let edge =
            |source: &ProductName, target: &ProductName, sc: Option<String>, tc| LineageEdge {
                source: source.to_string(),
                target: target.to_string(),
                source_column: sc,
                target_column: tc,
                kind: edge_kind::OPENLINEAGE.into(),
                statement: Some(statement.clone()),
                created_at: event.event_time,
                created_by: who.to_string(),
            };
        // with governance on, what an event brings in is the admins' until they hand it over
        let owner = match self.catalog.governance.admin_team() {
            Some(admins) if self.catalog.governance.enabled() => admins,
            _ => event.job.split('.').next().unwrap_or("openlineage"),
        };
        let mut outputs = Vec::new();
        for o in &event.outputs {
            outputs.push((o.id.clone(), self.product(o, owner)?));
        }
        for i in &event.inputs {
            let source = self.product(i, owner)?;
            for (_, target) in &outputs {
                if &source != target {
                    self.edges.push(edge(&source, target, None, None));
                }
            }
        }
        for flow in &event.field_flows {
            let bare = |id: &DatasetId| Dataset {
                id: id.clone(),
                fields: Vec::new(),
                file_format: None,
            };
            let source = self.product(&bare(&flow.from), owner)?;
            let target = self.product(&bare(&flow.to), owner)?;
            let from = self.column(&source, &flow.from, &flow.from_field)?;
            let to = match &flow.to_field {
                Some(f) => Some(self.column(&target, &flow.to, f)?),
                None => None,
            };
            if source == target && to.as_ref().is_none_or(|t| *t == from) {
                continue;
            }
            self.edges.push(edge(&source, &target, Some(from), to));
        }
        Ok(())
    }

    /// The product a dataset is, made (external) when there is none yet.
    fn product(&mut self, d: &Dataset, owner: &str) -> std::result::Result<ProductName, String> {
        if d.id.namespace.eq_ignore_ascii_case(LAKEMETA_NAMESPACE) {
            let name: ProductName = d.id.name.parse().map_err(|m| {
                format!(
                    "dataset {}: a lakemeta dataset is named domain.product ({m})",
                    d.id
                )
            })?;
            self.catalog
                .product(&name)
                .map_err(|e| format!("dataset {}: {e}", d.id))?;
            return Ok(name);
        }
        let location = location_of(&d.id);
        if let Some(name) = self.by_location.get(&normalize(&location)) {
            let name = name.clone();
            self.learn_columns(&name, d);
            return Ok(name);
        }
        let name = ProductName::new(slug(&d.id.namespace), slug(&d.id.name));
        if let Ok(url) = url::Url::parse(&location) {
            self.catalog
                .check_external_location(&url, &self.root, &name)
                .map_err(|e| format!("dataset {}: {e}", d.id))?;
        }
        if let Some(p) = self.catalog.products.get(&name) {
            return Err(format!(
                "dataset {} would be product {name}, which already exists at {}; rename one",
                d.id, p.location
            ));
        }
        if !self.catalog.domains.contains_key(&name.domain)
            && !self.domains.contains_key(&name.domain)
        {
            self.made_domains.push(name.domain.clone());
            self.domains.insert(
                name.domain.clone(),
                Domain {
                    name: name.domain.clone(),
                    owner_team: owner.to_string(),
                    description: format!("Datasets of {}, {SEEN_IN}", d.id.namespace),
                    upstream: Vec::new(),
                    downstream: Vec::new(),
                    created_at: 0,
                    updated_at: 0,
                    updated_by: String::new(),
                    retention_days: None,
                    target_file_size: None,
                },
            );
        }
        let format = match d.file_format.as_deref() {
            Some(f @ ("parquet" | "csv" | "json")) => f.to_string(),
            _ => "delta".to_string(),
        };
        // a governed product belongs to its domain's owner team
        let owner = match self.catalog.domains.get(&name.domain) {
            Some(domain) if self.catalog.governance.enabled() => domain.owner_team.clone(),
            _ => owner.to_string(),
        };
        self.put(
            name.clone(),
            DataProduct {
                domain: name.domain.clone(),
                name: name.name.clone(),
                kind: "external".into(),
                location: location.clone(),
                format,
                owner,
                description: format!("{SEEN_IN}: {}", d.id),
                ..DataProduct::default()
            },
            true,
        );
        self.by_location.insert(normalize(&location), name.clone());
        self.learned.push(normalize(&location));
        self.learn_columns(&name, d);
        Ok(name)
    }

    /// Gives a product made from events the fields the dataset's schema facet lists.
    fn learn_columns(&mut self, name: &ProductName, d: &Dataset) {
        for (field, ty) in &d.fields {
            let _ = self.ensure_column(name, field, ty);
        }
    }

    /// The product's column `field`, as it spells it; a product made from events gets it.
    fn column(
        &mut self,
        product: &ProductName,
        dataset: &DatasetId,
        field: &str,
    ) -> std::result::Result<String, String> {
        self.ensure_column(product, field, "").map_err(|m| {
            format!("dataset {dataset} is product {product}, which has no column '{field}' ({m})")
        })
    }

    fn ensure_column(
        &mut self,
        product: &ProductName,
        field: &str,
        ty: &str,
    ) -> std::result::Result<String, String> {
        let current = match self.products.get(product) {
            Some((p, _)) => p,
            None => self
                .catalog
                .products
                .get(product)
                .ok_or_else(|| format!("unknown product {product}"))?,
        };
        if let Ok(c) = current.column_named(field) {
            return Ok(c.name.clone());
        }
        if !current.description.starts_with(SEEN_IN) {
            return current.column_named(field).map(|c| c.name.clone());
        }
        let mut p = current.clone();
        let (data_type, note) = column_type(ty);
        p.columns.push(Column {
            name: field.to_string(),
            data_type,
            nullable: true,
            description: note,
            ordinal: p.columns.len() as i32,
            ..Column::default()
        });
        let new = self.products.get(product).is_some_and(|(_, new)| *new);
        self.put(product.clone(), p, new);
        Ok(field.to_string())
    }
}

/// Where a dataset lives, as a URL when its namespace has a scheme (`s3://bucket` and
/// `orders/2026` give `s3://bucket/orders/2026`), else `namespace:name`.
fn location_of(id: &DatasetId) -> String {
    if id.namespace.contains("://") {
        format!(
            "{}/{}",
            id.namespace.trim_end_matches('/'),
            id.name.trim_start_matches('/')
        )
    } else if id.namespace == "file" {
        format!("file://{}", id.name)
    } else {
        format!("{}:{}", id.namespace, id.name)
    }
}

fn normalize(location: &str) -> String {
    location.trim_end_matches('/').to_string()
}

/// A name lakemeta accepts made from any text: lowercase letters, digits and `_`, starting
/// with a letter, at most 63 characters.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let mut out = out.trim_end_matches('_').to_string();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "d_");
    }
    if out.len() > 63 {
        out.truncate(63);
        out = out.trim_end_matches('_').to_string();
    }
    debug_assert!(validate_name("slug", &out).is_ok());
    out
}

/// A column type lakemeta knows for a type an OpenLineage schema facet gives, and a note of the
/// original when it is not one of them.
fn column_type(ty: &str) -> (String, String) {
    let t = ty.trim().to_ascii_lowercase();
    let known = match t.as_str() {
        "" => return ("string".into(), String::new()),
        "string" | "varchar" | "text" | "char" | "character varying" => "string",
        "int" | "integer" | "int4" | "int32" => "int",
        "bigint" | "long" | "int8" | "int64" => "bigint",
        "double" | "float8" | "double precision" | "float64" => "double",
        "float" | "real" | "float4" | "float32" => "float",
        "boolean" | "bool" => "boolean",
        "date" => "date",
        "timestamp" | "timestamptz" | "timestamp with time zone" => "timestamp",
        _ => "",
    };
    if known.is_empty() {
        ("string".into(), format!("type in OpenLineage: {ty}"))
    } else {
        (known.into(), String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_locations_from_datasets() {
        assert_eq!(
            slug("postgres://db.example:5432"),
            "postgres_db_example_5432"
        );
        assert_eq!(slug("Shop.Orders"), "shop_orders");
        assert_eq!(slug("2026/orders"), "d_2026_orders");
        assert_eq!(slug(&"x".repeat(80)).len(), 63);
        let id = |n: &str, m: &str| DatasetId {
            namespace: n.into(),
            name: m.into(),
        };
        assert_eq!(
            location_of(&id("s3://lake/", "/raw/orders")),
            "s3://lake/raw/orders"
        );
        assert_eq!(location_of(&id("file", "/data/x")), "file:///data/x");
        assert_eq!(location_of(&id("kafka", "topic")), "kafka:topic");
        assert_eq!(column_type("VARCHAR"), ("string".into(), String::new()));
        assert_eq!(
            column_type("NUMERIC(10,2)").1,
            "type in OpenLineage: NUMERIC(10,2)"
        );
    }
}
