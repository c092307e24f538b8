use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::execution::context::SessionState;
use url::Url;

use super::diff::check_version_bump;
use super::odcs::ProductSpec;
use super::relationships::resolve;
use super::source::{Spec, SpecSource};
use super::sources::{declared_edges, is_from_contract};
use super::storage_policy::StoragePolicy;
use super::types::{arrow_type, check_schema};
use crate::catalog::{
    Catalog, CatalogState, ChangeSummary, DomainChange, PolicyChange, ProductChange, TeamChange,
    absent_edges, stale_edges_into,
};
use crate::error::{Error, Result};
use crate::model::{DataProduct, Domain, LineageEdge, Principal, ProductName};
use crate::storage::{TableLayout, attribute_storage_failures, storage_failures};

/// What `apply` did or, with `--dry-run`, would do.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// The changes to the catalog.
    pub changes: ChangeSummary,
    /// Managed products whose (empty) Delta tables are created from their contracts.
    pub new_tables: Vec<String>,
    /// Lineage edges the contracts declare that are not recorded yet.
    pub lineage_added: Vec<LineageEdge>,
    /// Lineage edges earlier versions of the contracts declared that they no longer do.
    pub lineage_removed: Vec<LineageEdge>,
    /// True when the changes were committed.
    pub committed: bool,
    /// What lakemeta read differently from how a contract says it, as `file: note`.
    pub notes: Vec<String>,
}

impl ApplyReport {
    /// The report as lines for the user.
    pub fn lines(&self) -> Vec<String> {
        let mut out = self.changes.lines();
        for t in &self.new_tables {
            out.push(format!("+ table {t} (empty Delta table from its contract)"));
        }
        for (sign, edges) in [("-", &self.lineage_removed), ("+", &self.lineage_added)] {
            out.extend(
                edges
                    .iter()
                    .map(|e| format!("{sign} lineage {}", edge_text(e))),
            );
        }
        if out.is_empty() {
            out.push("no changes".into());
        }
        out.extend(self.notes.iter().map(|n| format!("note: {n}")));
        out
    }
}

/// `a.b.col -> c.d.col`, or `a.b -> c.d` for a product edge.
fn edge_text(e: &LineageEdge) -> String {
    let end = |p: &str, c: &Option<String>| match c {
        Some(c) => format!("{p}.{c}"),
        None => p.to_string(),
    };
    format!(
        "{} -> {}",
        end(&e.source, &e.source_column),
        end(&e.target, &e.target_column)
    )
}

struct NewTable {
    product: ProductName,
    url: Url,
    schema: SchemaRef,
    /// Its partitioning, storage policy and the columns (classified as a PII type) the table
    /// keeps no statistics of.
    layout: TableLayout,
}

/// Works out what applying `specs` as `principal` would change, checking every contract against
/// the table it describes and every change against what the principal may do. Writes nothing.
pub async fn plan_specs(
    catalog: &Catalog,
    specs: &[Spec],
    state: &SessionState,
    principal: &Principal,
) -> Result<ApplyReport> {
    Ok(plan(catalog, specs, state, principal).await?.0)
}

/// A permission refusal or a rule broken by a spec, as an error at the spec's field.
fn at(src: &SpecSource, field: &str, e: Error) -> Error {
    match e {
        Error::PermissionDenied(reason) => Error::SpecDenied {
            file: src.file.clone(),
            line: src.line_of(field),
            field: field.to_string(),
            reason,
        },
        other => src.error(field, other.to_string()),
    }
}

async fn plan(
    catalog: &Catalog,
    specs: &[Spec],
    state: &SessionState,
    principal: &Principal,
) -> Result<(ApplyReport, Vec<NewTable>, Arc<CatalogState>)> {
    catalog.refresh().await?;
    let current = catalog.state();
    let who = principal.name.as_str();
    let warehouse = catalog.warehouse();
    let mut changes = ChangeSummary::default();
    let teams_src = plan_teams(&current, specs, who, &mut changes)?;
    plan_policy(&current, specs, who, &mut changes)?;
    let mut declared: BTreeMap<String, &SpecSource> = BTreeMap::new();
    for spec in specs {
        let Spec::Domain(d, src) = spec else { continue };
        if let Some(first) = declared.insert(d.name.clone(), src) {
            return Err(src.error(
                "name",
                format!("domain '{}' is also declared in {}", d.name, first.file),
            ));
        }
        let desired = Domain {
            name: d.name.clone(),
            owner_team: d.owner.clone(),
            description: d.description.clone(),
            upstream: d.upstream.clone(),
            downstream: d.downstream.clone(),
            created_at: 0,
            updated_at: 0,
            updated_by: String::new(),
            retention_days: d.storage.retention_days,
            target_file_size: d.storage.target_file_size,
        };
        let change = match current.domains.get(&d.name) {
            None => Some(DomainChange::Create(desired)),
            Some(before) if !before.same_definition(&desired) => Some(DomainChange::Update {
                before: before.clone(),
                after: desired,
            }),
            Some(_) => None,
        };
        if let Some(c) = change {
            current
                .authorize_domain(&c, who)
                .map_err(|e| at(src, "name", e))?;
            changes.domains.push(c);
        }
    }
    let mut seen: BTreeMap<ProductName, &SpecSource> = BTreeMap::new();
    let mut new_tables = Vec::new();
    let mut planned: BTreeMap<ProductName, (DataProduct, &ProductSpec, &SpecSource)> =
        BTreeMap::new();
    let mut plan_notes = Vec::new();
    for spec in specs {
        let Spec::Product(p, src) = spec else {
            continue;
        };
        let mut desired: DataProduct = p.product.clone();
        if desired.domain.is_empty() {
            return Err(src.error(
                "domain",
                format!(
                    "the contract of {} names no domain: add 'domain: NAME' to it, or run \
                     lakemeta apply --domain NAME",
                    desired.name
                ),
            ));
        }
        let name = desired.qualified_name();
        if let Some(first) = seen.insert(name.clone(), src) {
            return Err(src.error(
                "dataProduct",
                format!("data product {name} is also described by {}", first.file),
            ));
        }
        if !current.domains.contains_key(&desired.domain) && !declared.contains_key(&desired.domain)
        {
            return Err(src.error(
                "domain",
                format!(
                    "unknown domain '{}': declare it with a Domain spec or CREATE DOMAIN {} \
                     OWNER '…'",
                    desired.domain, desired.domain
                ),
            ));
        }
        let existing = current.products.get(&name);
        if p.metadata_only {
            let Some(before) = existing else {
                return Err(src.error(
                    "dataProduct",
                    format!(
                        "the contract has no schema object, so it is the contract of an \
                         existing product, and {name} does not exist: create it first (CREATE \
                         DATA PRODUCT, or a contract that describes its table in 'schema'), or \
                         describe the table in this contract's 'schema'"
                    ),
                ));
            };
            plan_notes.push(format!(
                "{}: the contract has no schema object: it is the contract of {name}, whose \
                 table, columns and checks stay as they are",
                src.file
            ));
            desired = p.attached_to(before);
        }
        if desired.owner.is_empty() {
            // a contract that names no team is owned by its domain's owner team
            let owner = domain_owner(specs, &current, &desired.domain).unwrap_or_default();
            plan_notes.push(format!(
                "{}: {name} is owned by {owner}, the owner of domain {} (the contract names no \
                 owner team)",
                src.file, desired.domain
            ));
            desired.owner = owner;
        }
        // once teams exist, owners are teams: a contract naming another team (a department, a
        // person of another tool) is owned by --owner, else the owner it had, else the domain's
        let governed = current.governance.enabled()
            || changes
                .teams
                .iter()
                .any(|c| matches!(c, TeamChange::Create(_)));
        if governed && !governed_owner(&current, &changes, &desired.owner) {
            let fallback = [
                (p.owner_flag.clone(), "named by --owner".to_string()),
                (
                    existing.map(|b| b.owner.clone()),
                    format!("the owner {name} has"),
                ),
                (
                    domain_owner(specs, &current, &desired.domain),
                    format!("the owner of domain {}", desired.domain),
                ),
            ]
            .into_iter()
            .find_map(|(o, why)| {
                o.filter(|o| governed_owner(&current, &changes, o))
                    .map(|o| (o, why))
            });
            if let Some((owner, why)) = fallback {
                plan_notes.push(format!(
                    "{}: team '{}' is not a team of the Teams spec: {name} is owned by {owner}, \
                     {why} (name a team of the Teams spec in the contract's team.name, or pass \
                     --owner, to choose)",
                    src.file, desired.owner
                ));
                desired.owner = owner;
            }
        }
        if let Some(before) = existing {
            // the data product whose port it is stays, whatever the contract says
            desired.data_product = before.data_product.clone();
            desired.output_port = before.output_port.clone();
            desired.input_ports = before.input_ports.clone();
            desired.odps_spec = before.odps_spec.clone();
        }
        let url =
            if p.metadata_only {
                Url::parse(&desired.location).map_err(|e| Error::invalid(format!(
                "data product {name} has location '{}', which is not a URL ({e}): register it \
                 again",
                desired.location
            )))?
            } else if p.external {
                let url = warehouse.data().resolve(&desired.location)?;
                current
                    .check_external_location(&url, warehouse.url(), &name)
                    .map_err(|e| at(src, "customProperties", e))?;
                url
            } else {
                // a managed product keeps its table; a new one gets a location of its own
                match existing.filter(|e| e.kind == "managed") {
                    Some(e) => warehouse.data().resolve(&e.location)?,
                    None => warehouse.new_product_location(&desired.domain, &desired.name)?,
                }
            };
        desired.location = url.to_string();
        if let Some(before) = existing
            && before.kind == "managed"
            && !p.external
            && before.partition_by != desired.partition_by
        {
            let shown = |p: &Option<Vec<String>>| match p {
                Some(columns) => format!("by {}", columns.join(", ")),
                None => "not partitioned".to_string(),
            };
            return Err(src.error(
                "schema[0].properties",
                format!(
                    "{name}'s table is {}, and the contract says {}: a table's partitioning is \
                     set when it is created; keep the contract's partitioned properties as the \
                     table has them, or DROP DATA PRODUCT {name} and apply again",
                    shown(&before.partition_by),
                    shown(&desired.partition_by)
                ),
            ));
        }
        let same_data = existing.is_some_and(|e| {
            e.location == desired.location
                && e.format == desired.format
                && e.columns == desired.columns
        });
        if !same_data {
            match warehouse
                .data()
                .open(&desired.location, desired.data_format(), state)
                .await
            {
                Ok(data) => {
                    let diffs = check_schema(&desired.columns, &data.schema());
                    if !diffs.is_empty() {
                        return Err(src.error(
                            "schema[0].properties",
                            format!(
                                "the contract does not match the table at {}: {}; fix the \
                                 contract or the table",
                                desired.location,
                                diffs.join("; ")
                            ),
                        ));
                    }
                }
                Err(e) if p.external => {
                    return Err(src.error(
                        "customProperties",
                        format!("location {}: {e}", desired.location),
                    ));
                }
                Err(_) => new_tables.push(NewTable {
                    product: name.clone(),
                    url: url.clone(),
                    schema: contract_schema(&desired)?,
                    layout: {
                        let storage = domain_storage(specs, &current, &desired.domain);
                        TableLayout {
                            partition_by: desired.partition_by.clone().unwrap_or_default(),
                            private: desired
                                .columns
                                .iter()
                                .filter(|c| {
                                    let policy = changes
                                        .policy
                                        .as_ref()
                                        .map_or(current.governance.policy(), |p| &p.after);
                                    policy.column_mask(c).is_some()
                                })
                                .map(|c| c.name.clone())
                                .collect(),
                            retention_days: desired.retention_days.or(storage.retention_days),
                            target_file_size: desired.target_file_size.or(storage.target_file_size),
                        }
                    },
                }),
            }
        }
        if let Some(before) = existing
            && !before.contract_spec.is_empty()
            && before.contract_spec != desired.contract_spec
        {
            check_version_bump(before, &desired)
                .map_err(|m| src.error("version", format!("contract of {name}: {m}")))?;
        }
        let change = match existing {
            None => Some(ProductChange::Create(desired.clone())),
            Some(before) if !before.same_definition(&desired) => Some(ProductChange::Update {
                before: DataProduct::clone(before),
                after: desired.clone().measured_as(before),
            }),
            Some(_) => None,
        };
        if let Some(c) = change {
            current
                .authorize_product(&c, who, &changes.domains)
                .map_err(|e| at(src, "domain", e))?;
            changes.products.push(c);
        }
        planned.insert(name, (desired, p, src));
    }
    let graph = current.lineage().await?;
    let ports = super::ports::plan_data_products(
        &current,
        &graph,
        specs,
        &mut planned,
        &mut changes,
        who,
        &mut plan_notes,
    )?;
    check_tables_kept(&current, &planned)?;
    check_owners(&current, specs, &changes, teams_src)?;
    check_policy(&current, specs, &planned, state)?;
    let (mut lineage_added, mut lineage_removed) = (Vec::new(), Vec::new());
    for (name, (product, spec, src)) in &planned {
        let lookup = |n: &ProductName| {
            planned
                .get(n)
                .map(|(p, _, _)| p)
                .or_else(|| current.products.get(n).map(|p| &***p))
        };
        let edges = declared_edges(spec, src, product, lookup, "", &mut plan_notes)?;
        for key in &spec.foreign_keys {
            let named = |n: &str| {
                planned
                    .keys()
                    .chain(current.products.keys())
                    .filter(|k| k.name == n)
                    .cloned()
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect()
            };
            if resolve(key, name, lookup, named)
                .map_err(|m| src.error(&key.at, m))?
                .is_none()
            {
                plan_notes.push(format!(
                    "{}: {}: the foreign key references {}, which is no data product here \
                     (yet): kept in the contract, not checked; apply again once it exists to \
                     check it",
                    src.file,
                    key.at,
                    key.to.join(", ")
                ));
            }
        }
        let target = name.to_string();
        lineage_removed.extend(stale_edges_into(&graph, &target, &edges, is_from_contract));
        lineage_added.extend(absent_edges(&graph, &edges));
    }
    lineage_added.extend(ports.added);
    lineage_removed.extend(ports.removed);
    let report = ApplyReport {
        changes,
        new_tables: new_tables.iter().map(|t| t.product.to_string()).collect(),
        lineage_added,
        lineage_removed,
        committed: false,
        notes: specs
            .iter()
            .flat_map(|s| {
                let file = &s.source().file;
                s.notes().iter().map(move |n| format!("{file}: {n}"))
            })
            .chain(plan_notes)
            .collect(),
    };
    Ok((report, new_tables, current))
}

/// Applies specs: plans, creates the Delta tables of new managed products, and commits the
/// catalog changes (see [`Catalog::commit`]). Applying the same specs again changes nothing
/// and commits nothing. If the commit fails, the tables it created are removed again.
pub async fn apply_specs(
    catalog: &Catalog,
    specs: &[Spec],
    state: &SessionState,
    principal: &Principal,
) -> Result<ApplyReport> {
    let failures = storage_failures();
    let applied = apply_planned(catalog, specs, state, principal).await;
    attribute_storage_failures(failures, applied)
}

/// [`apply_specs`], without marking an error that came with a storage failure.
async fn apply_planned(
    catalog: &Catalog,
    specs: &[Spec],
    state: &SessionState,
    principal: &Principal,
) -> Result<ApplyReport> {
    let (mut report, new_tables, seen) = plan(catalog, specs, state, principal).await?;
    let _writing = catalog.begin_write();
    let data = catalog.warehouse().data();
    let mut created = Vec::new();
    for t in &new_tables {
        match data
            .create_delta(&t.url, &t.schema, &t.product.name, &t.layout)
            .await
        {
            Ok(()) => created.push(t.url.clone()),
            // another apply created it since this one planned: not ours to remove on failure
            Err(Error::AlreadyExists { .. }) => {}
            Err(e) => {
                undo(catalog, &created).await;
                return Err(e);
            }
        }
    }
    if let Err(e) = catalog.commit(&report.changes, principal).await {
        // a commit that failed part-way (or whose outcome is unknown) may have registered some
        // products: their tables stay, only the others' go
        let registered: Vec<Url> = match catalog.refresh().await {
            Ok(_) => {
                let state = catalog.state();
                new_tables
                    .iter()
                    .filter(|t| state.products.contains_key(&t.product))
                    .map(|t| t.url.clone())
                    .collect()
            }
            Err(_) => created.clone(),
        };
        created.retain(|u| !registered.contains(u));
        undo(catalog, &created).await;
        return Err(e);
    }
    for e in &mut report.lineage_added {
        e.created_by = principal.name.clone();
    }
    // after the products, whose names the edges use; applying again records what is missing
    catalog
        .change_lineage(&seen, &report.lineage_removed, &report.lineage_added)
        .await?;
    report.committed = !report.changes.is_empty()
        || !created.is_empty()
        || !report.lineage_added.is_empty()
        || !report.lineage_removed.is_empty();
    Ok(report)
}

async fn undo(catalog: &Catalog, created: &[Url]) {
    for url in created {
        if let Err(e) = catalog.warehouse().data().delete_tree(url).await {
            tracing::warn!("could not remove {url} after a failed apply: {e}");
        }
    }
}

/// The Arrow schema of a contract's managed table: the declared types, each as Delta stores
/// it.
pub(crate) fn contract_schema(p: &DataProduct) -> Result<SchemaRef> {
    let fields = p
        .columns
        .iter()
        .map(|c| {
            arrow_type(&c.data_type)
                .map(|t| Field::new(&c.name, crate::storage::delta_type(&t), c.nullable))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "column {} has unknown type {}",
                        c.name, c.data_type
                    ))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// A new version of a contract of several tables describes every table the version before it
/// did: a table leaves a contract by being dropped first, so that nothing disappears silently.
fn check_tables_kept(
    current: &CatalogState,
    planned: &BTreeMap<ProductName, (DataProduct, &ProductSpec, &SpecSource)>,
) -> Result<()> {
    for (name, before) in current.products.iter() {
        if before.contract_spec.is_empty() || planned.contains_key(name) {
            continue;
        }
        let left = planned.iter().find(|(other, (after, _, _))| {
            after.contract_id == before.contract_id
                && after.contract_spec != before.contract_spec
                && current
                    .products
                    .get(*other)
                    .is_some_and(|o| o.contract_spec == before.contract_spec)
        });
        if let Some((_, (after, _, src))) = left {
            return Err(src.error(
                "schema",
                format!(
                    "version {} of contract {} no longer describes table {name}, which version \
                     {} did: drop it first (DROP DATA PRODUCT {name}) if it is to go, or keep \
                     its schema object",
                    after.contract_version, after.contract_id, before.contract_version
                ),
            ));
        }
    }
    Ok(())
}

/// The team changes of the apply's Teams spec (at most one), checked against `who`: the spec
/// lists every team, so a team it leaves out is removed. Returns the spec's source.
fn plan_teams<'a>(
    current: &CatalogState,
    specs: &'a [Spec],
    who: &str,
    changes: &mut ChangeSummary,
) -> Result<Option<&'a SpecSource>> {
    let mut found: Option<&SpecSource> = None;
    for spec in specs {
        let Spec::Teams(t, src) = spec else { continue };
        if let Some(first) = found {
            return Err(src.error(
                "kind",
                format!(
                    "the teams are also declared in {}: keep one Teams spec",
                    first.file
                ),
            ));
        }
        found = Some(src);
        let existing = current.governance.teams();
        for team in &t.teams {
            match existing.get(&team.name) {
                None => changes.teams.push(TeamChange::Create(team.clone())),
                Some(before) if !before.same_definition(team) => {
                    changes.teams.push(TeamChange::Update {
                        before: before.clone(),
                        after: team.clone(),
                    })
                }
                Some(_) => {}
            }
        }
        for (name, before) in existing {
            if !t.teams.iter().any(|k| &k.name == name) {
                changes.teams.push(TeamChange::Delete(before.clone()));
            }
        }
        if !changes.teams.is_empty() {
            current
                .governance
                .may_administer(who, "the teams")
                .map_err(|e| at(src, "teams", e))?;
        }
    }
    Ok(found)
}

/// The policy change of the apply's Policy spec (at most one), checked against `who`.
fn plan_policy(
    current: &CatalogState,
    specs: &[Spec],
    who: &str,
    changes: &mut ChangeSummary,
) -> Result<()> {
    let mut found: Option<&SpecSource> = None;
    for spec in specs {
        let Spec::Policy(p, src) = spec else { continue };
        if let Some(first) = found {
            return Err(src.error(
                "kind",
                format!(
                    "the policy is also declared in {}: keep one Policy spec",
                    first.file
                ),
            ));
        }
        found = Some(src);
        let now = current.governance.policy();
        if now.same_rules(&p.policy) && now.spec == p.policy.spec {
            continue;
        }
        current
            .governance
            .may_administer(who, "the access policy")
            .map_err(|e| at(src, "kind", e))?;
        changes.policy = Some(PolicyChange {
            before: (now.version > 0).then(|| now.clone()),
            after: p.policy.clone(),
        });
    }
    Ok(())
}

/// What of the apply's Policy spec needs the catalog and the SQL engine: a SQL mask must plan
/// and return text (the PII types are text); a row filter must name a product that exists (or
/// that this apply creates) and only its columns.
fn check_policy(
    current: &CatalogState,
    specs: &[Spec],
    planned: &BTreeMap<ProductName, (DataProduct, &ProductSpec, &SpecSource)>,
    state: &SessionState,
) -> Result<()> {
    use arrow::datatypes::DataType;
    use datafusion::common::DFSchema;
    use datafusion::logical_expr::ExprSchemable;
    for (name, (product, _, src)) in planned {
        let Some(predicate) = &product.row_filter else {
            continue;
        };
        if let Some(missing) = unknown_predicate_column(product, predicate) {
            return Err(src.error(
                "customProperties",
                format!(
                    "the rowFilter names column '{missing}', which {name} does not have (it \
                     has {}); name one of its columns, current_user(), is_member('team') or \
                     principal_attribute('key')",
                    column_list(product)
                ),
            ));
        }
    }
    for spec in specs {
        let Spec::Policy(p, src) = spec else { continue };
        let value =
            DFSchema::try_from(Schema::new(vec![Field::new("value", DataType::Utf8, true)]))?;
        for m in &p.policy.masks {
            let Some(sql) = &m.expression else { continue };
            let field = format!("masks.{}", m.classification);
            let expr = state
                .create_logical_expr(sql, &value)
                .map_err(|e| src.error(&field, format!("the mask `{sql}` does not plan: {e}")))?;
            let returns = expr
                .get_type(&value)
                .map_err(|e| src.error(&field, format!("the mask `{sql}` does not plan: {e}")))?;
            if returns != DataType::Utf8 {
                return Err(src.error(
                    &field,
                    format!(
                        "the mask `{sql}` returns {returns}, not text: a mask returns the type \
                         of the column it masks (cast it, e.g. CAST(… AS VARCHAR))"
                    ),
                ));
            }
        }
        for (i, f) in p.policy.row_filters.iter().enumerate() {
            let name: ProductName = f.product.parse().map_err(Error::Invalid)?;
            let product = planned
                .get(&name)
                .map(|(p, _, _)| p)
                .or_else(|| current.products.get(&name).map(|p| &***p));
            let Some(product) = product else {
                return Err(src.error(
                    &format!("rowFilters[{i}].product"),
                    format!(
                        "unknown data product {name}: a row filter names a product that exists \
                         or that this apply creates"
                    ),
                ));
            };
            if let Some(missing) = unknown_predicate_column(product, &f.predicate) {
                return Err(src.error(
                    &format!("rowFilters[{i}].predicate"),
                    format!(
                        "the predicate names column '{missing}', which {name} does not have (it \
                         has {})",
                        column_list(product)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A name `predicate` uses that is not a column of `product` (nor a word like `current_user`).
fn unknown_predicate_column(product: &DataProduct, predicate: &str) -> Option<String> {
    let columns: Vec<String> = product
        .columns
        .iter()
        .map(|c| c.name.to_lowercase())
        .collect();
    super::policy_spec::predicate_columns(predicate)
        .into_iter()
        .find(|c| !columns.contains(c) && !PREDICATE_WORDS.contains(&c.as_str()))
}

/// `product`'s column names, for messages.
fn column_list(product: &DataProduct) -> String {
    product
        .columns
        .iter()
        .map(|c| c.name.to_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Words a predicate may use that parse as names but are not columns.
const PREDICATE_WORDS: [&str; 4] = [
    "current_user",
    "current_date",
    "current_time",
    "current_timestamp",
];

/// Once teams exist, every domain and every product the apply writes is owned by a team of the
/// Teams spec; refusals point at the spec that names the owner (or at the Teams spec when it
/// leaves out a team that still owns something).
fn check_owners(
    current: &CatalogState,
    specs: &[Spec],
    changes: &ChangeSummary,
    teams_src: Option<&SpecSource>,
) -> Result<()> {
    let Err(e) = current.check_owner_teams(changes) else {
        return Ok(());
    };
    for spec in specs {
        match spec {
            Spec::Domain(d, src)
                if changes.domains.iter().any(|c| {
                    matches!(c, DomainChange::Create(n) | DomainChange::Update { after: n, .. }
                        if n.name == d.name)
                }) && !governed_owner(current, changes, &d.owner) =>
            {
                return Err(at(src, "owner", e));
            }
            Spec::Product(p, src)
                if changes.products.iter().any(|c| {
                    matches!(c, ProductChange::Create(n) | ProductChange::Update { after: n, .. }
                        if n.domain == p.product.domain && n.name == p.product.name)
                }) && !governed_owner(current, changes, &p.product.owner) =>
            {
                return Err(at(src, "team", e));
            }
            _ => {}
        }
    }
    Err(match teams_src {
        Some(src) => at(src, "teams", e),
        None => e,
    })
}

/// The owner team of `domain` as the apply leaves it: its spec's in this apply, else the
/// warehouse's.
fn domain_owner(specs: &[Spec], current: &CatalogState, domain: &str) -> Option<String> {
    specs
        .iter()
        .find_map(|s| match s {
            Spec::Domain(d, _) if d.name == domain => Some(d.owner.clone()),
            _ => None,
        })
        .or_else(|| current.domains.get(domain).map(|d| d.owner_team.clone()))
}

/// The storage policy of `domain` once `specs` are applied.
fn domain_storage(specs: &[Spec], current: &CatalogState, domain: &str) -> StoragePolicy {
    specs
        .iter()
        .find_map(|s| match s {
            Spec::Domain(d, _) if d.name == domain => Some(d.storage),
            _ => None,
        })
        .or_else(|| {
            current.domains.get(domain).map(|d| StoragePolicy {
                retention_days: d.retention_days,
                target_file_size: d.target_file_size,
            })
        })
        .unwrap_or_default()
}

/// True when `owner` is a team once `changes` are made.
fn governed_owner(current: &CatalogState, changes: &ChangeSummary, owner: &str) -> bool {
    let created = changes.teams.iter().any(|c| {
        matches!(c, TeamChange::Create(t) | TeamChange::Update { after: t, .. } if t.name == owner)
    });
    let deleted = changes
        .teams
        .iter()
        .any(|c| matches!(c, TeamChange::Delete(t) if t.name == owner));
    created || (current.governance.teams().contains_key(owner) && !deleted)
}
