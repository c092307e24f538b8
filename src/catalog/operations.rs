use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::computed::{Computation, Computed};
use super::snapshot::Catalog;
use crate::error::{Error, Result};
use crate::model::{
    DataProduct, Domain, OdpsProduct, Policy, Principal, ProductName, Team, now_micros,
};
use crate::storage::{Keyed, KnownRows, RowChange, SystemTableKind};

impl Keyed for Domain {
    fn key(&self) -> String {
        self.name.clone()
    }
}

impl Keyed for DataProduct {
    fn key(&self) -> String {
        format!("{}.{}", self.domain, self.name)
    }
}

impl Keyed for Team {
    fn key(&self) -> String {
        self.name.clone()
    }
}

impl Keyed for Policy {
    /// The table holds one policy.
    fn key(&self) -> String {
        "policy".into()
    }
}

impl Keyed for ContractRow {
    /// Product, version and a digest of the spec: every different text of a contract is its
    /// own row, even when its author kept the version.
    fn key(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.spec.as_bytes());
        let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("{}@{}@{short}", self.product, self.version)
    }

    /// A version recorded again by a repeated or resumed apply is the same version.
    fn same_content(&self, other: &Self) -> bool {
        self.contract_id == other.contract_id
            && self.spec == other.spec
            && self.schema_hash == other.schema_hash
    }
}

/// One row of `meta.contracts`: a version of a contract, recorded once however many tables it
/// describes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractRow {
    /// `domain.product`: the table the version describes (the first in name order, for a
    /// contract of several tables).
    pub product: String,
    /// Every table the version describes, in name order (`None` in rows recorded before
    /// contracts of several tables were recorded once).
    #[serde(default)]
    pub products: Option<Vec<String>>,
    /// The contract's `id`.
    pub contract_id: String,
    /// The contract's `version`.
    pub version: String,
    /// The contract text (ODCS YAML).
    pub spec: String,
    /// Hash of the column names, types and nullability (of every table's, for a contract of
    /// several tables).
    pub schema_hash: String,
    /// When it was applied (microseconds, UTC).
    pub created_at: i64,
    /// Who applied it.
    pub created_by: String,
}

/// A change to one domain.
#[derive(Debug, Clone)]
pub enum DomainChange {
    /// A new domain.
    Create(Domain),
    /// A changed domain.
    Update {
        /// As it is now.
        before: Domain,
        /// As it will be.
        after: Domain,
    },
    /// A removed domain.
    Delete(Domain),
}

/// A change to one team.
#[derive(Debug, Clone)]
pub enum TeamChange {
    /// A new team.
    Create(Team),
    /// A changed team.
    Update {
        /// As it is now.
        before: Team,
        /// As it will be.
        after: Team,
    },
    /// A removed team.
    Delete(Team),
}

/// A new access policy.
#[derive(Debug, Clone)]
pub struct PolicyChange {
    /// The policy as stored now (`None`: the built-in default is in force).
    pub before: Option<Policy>,
    /// The policy to store.
    pub after: Policy,
}

/// A change to one data product.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // a handful per operation; boxing buys nothing
pub enum ProductChange {
    /// A new product.
    Create(DataProduct),
    /// A changed product.
    Update {
        /// As it is now.
        before: DataProduct,
        /// As it will be.
        after: DataProduct,
    },
    /// A removed product.
    Delete(DataProduct),
}

/// Everything one operation changes, committed together by [`Catalog::commit`].
#[derive(Debug, Clone, Default)]
pub struct ChangeSummary {
    /// Team changes.
    pub teams: Vec<TeamChange>,
    /// A new access policy.
    pub policy: Option<PolicyChange>,
    /// Domain changes.
    pub domains: Vec<DomainChange>,
    /// Product changes.
    pub products: Vec<ProductChange>,
    /// ODPS data product changes.
    pub data_products: Vec<super::DataProductChange>,
}

impl ChangeSummary {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.teams.is_empty()
            && self.policy.is_none()
            && self.domains.is_empty()
            && self.products.is_empty()
            && self.data_products.is_empty()
    }

    /// One line per change, for `apply` and `--dry-run`.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.teams {
            out.push(match c {
                TeamChange::Create(t) => format!(
                    "+ team {} ({} member{}{})",
                    t.name,
                    t.members.len(),
                    if t.members.len() == 1 { "" } else { "s" },
                    if t.admin { ", platform admins" } else { "" }
                ),
                TeamChange::Update { before, after } => {
                    format!(
                        "~ team {}: {}",
                        after.name,
                        team_diff(before, after).join(", ")
                    )
                }
                TeamChange::Delete(t) => format!("- team {}", t.name),
            });
        }
        if let Some(p) = &self.policy {
            let masks: Vec<String> = p
                .after
                .pii_types
                .iter()
                .filter_map(|t| {
                    p.after
                        .mask_for(t)
                        .map(|m| format!("{t}: {}", m.kind_name()))
                })
                .collect();
            let filters: Vec<&str> = p
                .after
                .row_filters
                .iter()
                .map(|f| f.product.as_str())
                .collect();
            out.push(format!(
                "~ policy: sensitive tags [{}], pii types [{}], grants up to {} days, requests \
                 lapse after {} days, other products {}, masks [{}]{}, row filters on [{}]",
                p.after.sensitive_tags.join(", "),
                p.after.pii_types.join(", "),
                p.after.max_grant_days,
                p.after.request_ttl_days,
                p.after.default_access.as_str(),
                masks.join(", "),
                if p.after.masked_read_without_grant {
                    " (PII-only products readable masked without a grant)"
                } else {
                    ""
                },
                filters.join(", ")
            ));
        }
        for c in &self.domains {
            out.push(match c {
                DomainChange::Create(d) => format!("+ domain {} (owner {})", d.name, d.owner_team),
                DomainChange::Update { before, after } => {
                    format!(
                        "~ domain {}: {}",
                        after.name,
                        domain_diff(before, after).join(", ")
                    )
                }
                DomainChange::Delete(d) => format!("- domain {}", d.name),
            });
        }
        for c in &self.products {
            out.push(match c {
                ProductChange::Create(p) => format!(
                    "+ product {}.{} ({} {}, {} columns{})",
                    p.domain,
                    p.name,
                    p.kind,
                    p.format,
                    p.columns.len(),
                    contract_note(p)
                ),
                ProductChange::Update { before, after } => format!(
                    "~ product {}.{}: {}",
                    after.domain,
                    after.name,
                    product_diff(before, after).join(", ")
                ),
                ProductChange::Delete(p) => format!("- product {}.{}", p.domain, p.name),
            });
        }
        out.extend(self.data_products.iter().map(|c| c.line()));
        out
    }
}

impl fmt::Display for ChangeSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in self.lines() {
            writeln!(f, "{l}")?;
        }
        Ok(())
    }
}

fn contract_note(p: &DataProduct) -> String {
    if p.contract_version.is_empty() {
        String::new()
    } else {
        format!(", contract {}", p.contract_version)
    }
}

fn team_diff(a: &Team, b: &Team) -> Vec<String> {
    let mut d = Vec::new();
    let names = |t: &Team| t.members.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
    let (was, is) = (names(a), names(b));
    let added: Vec<&String> = is.iter().filter(|m| !was.contains(m)).collect();
    let removed: Vec<&String> = was.iter().filter(|m| !is.contains(m)).collect();
    if !added.is_empty() {
        d.push(format!(
            "+ {}",
            added
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !removed.is_empty() {
        d.push(format!(
            "- {}",
            removed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if added.is_empty() && removed.is_empty() && a.members != b.members {
        d.push("member attributes".into());
    }
    if a.admin != b.admin {
        d.push(if b.admin {
            "now the platform admins".into()
        } else {
            "no longer the platform admins".into()
        });
    }
    if a.description != b.description {
        d.push("description".into());
    }
    d
}

fn domain_diff(a: &Domain, b: &Domain) -> Vec<String> {
    let mut d = Vec::new();
    if a.owner_team != b.owner_team {
        d.push(format!("owner {} -> {}", a.owner_team, b.owner_team));
    }
    if a.description != b.description {
        d.push("description".into());
    }
    if a.upstream != b.upstream {
        d.push("upstream".into());
    }
    if a.downstream != b.downstream {
        d.push("downstream".into());
    }
    d
}

fn product_diff(a: &DataProduct, b: &DataProduct) -> Vec<String> {
    let mut d = Vec::new();
    if a.contract_version != b.contract_version {
        d.push(format!(
            "contract {} -> {}",
            if a.contract_version.is_empty() {
                "none"
            } else {
                &a.contract_version
            },
            b.contract_version
        ));
    } else if a.contract_spec != b.contract_spec {
        d.push("contract text".into());
    }
    if a.owner != b.owner {
        d.push(format!("owner {} -> {}", a.owner, b.owner));
    }
    if a.location != b.location || a.format != b.format {
        d.push(format!("location {} ({})", b.location, b.format));
    }
    if a.columns != b.columns {
        d.push("columns".into());
    }
    if a.tags != b.tags {
        d.push(format!("tags [{}]", b.tags.join(", ")));
    }
    if a.description != b.description {
        d.push("description".into());
    }
    if a.sla() != b.sla() {
        d.push("sla".into());
    }
    if a.checks != b.checks {
        d.push("checks".into());
    }
    if a.access_patterns != b.access_patterns {
        d.push("access patterns".into());
    }
    if d.is_empty() && a.same_definition(b) {
        d.push("table measured".into());
    }
    if d.is_empty() {
        d.push("metadata".into());
    }
    d
}

impl Catalog {
    /// Every recorded version of a product's contract, oldest first.
    pub async fn contract_history(&self, product: &ProductName) -> Result<Vec<ContractRow>> {
        let name = product.to_string();
        self.contract_rows(|r| r.describes(&name)).await
    }

    /// Every recorded version of the contract with id `id`, oldest first: one row per version
    /// (rows recorded once per table before are merged into one).
    pub async fn contract_history_by_id(&self, id: &str) -> Result<Vec<ContractRow>> {
        let rows = self.contract_rows(|r| r.contract_id == id).await?;
        let mut merged: Vec<ContractRow> = Vec::new();
        for row in rows {
            match merged
                .iter_mut()
                .find(|m| m.version == row.version && m.spec == row.spec)
            {
                Some(m) => {
                    let mut tables = m.tables();
                    tables.extend(row.tables());
                    tables.sort();
                    tables.dedup();
                    m.products = Some(tables);
                }
                None => merged.push(row),
            }
        }
        Ok(merged)
    }

    async fn contract_rows(&self, keep: impl Fn(&ContractRow) -> bool) -> Result<Vec<ContractRow>> {
        let mut rows: Vec<ContractRow> = self
            .warehouse()
            .table(SystemTableKind::Contracts)
            .read_rows::<ContractRow>()
            .await?
            .into_iter()
            .filter(|r| keep(r))
            .collect();
        rows.sort_by_key(|r| r.created_at);
        Ok(rows)
    }

    /// Commits a set of changes in as few commits as possible: at most one to `domains`, one to
    /// `contracts` and one to `products`. They are ordered so that every state a reader can see
    /// is consistent — a domain exists before its products, a contract version before the
    /// product row that names it, a product is gone before its domain — and the commits run to
    /// completion even if the caller is cancelled (Ctrl-C), so an operation is never left half
    /// done by an interrupt. Each row is checked against the version the operation read; a row
    /// changed by another writer in the meantime ends in [`Error::Conflict`] before anything is
    /// written to that table.
    ///
    /// A commit of products alone whose rows another writer changed only by recording what
    /// maintenance measured of their tables is made again on the rows as they are now.
    pub async fn commit(&self, changes: &ChangeSummary, principal: &Principal) -> Result<()> {
        const ATTEMPTS: usize = 5;
        let mut changes = std::borrow::Cow::Borrowed(changes);
        let mut attempt = 1;
        loop {
            match self.commit_once(&changes, principal).await {
                Err(Error::Conflict { what }) if attempt < ATTEMPTS => {
                    // the failed commit read the catalog again
                    let state = self.state();
                    let Some(rebased) = super::rebase::rebase_on_measurements(&state, &changes)
                    else {
                        return Err(Error::Conflict { what });
                    };
                    changes = std::borrow::Cow::Owned(rebased);
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    /// One attempt of [`Catalog::commit`].
    async fn commit_once(&self, changes: &ChangeSummary, principal: &Principal) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let state = self.state();
        state.authorize(changes, &principal.name)?;
        state.check_owner_teams(changes)?;
        let _writing = self.begin_write();
        let warehouse = std::sync::Arc::clone(self.warehouse());
        let changes = changes.clone();
        let who = principal.name.clone();
        let base = state.versions.clone();
        let seen = std::sync::Arc::clone(&state);
        let task = tokio::spawn(async move {
            let at = |k: SystemTableKind| seen.versions.get(&k).copied();
            let domain_row = |d: &Domain| seen.domains.get(&d.name).cloned();
            let product_row = |p: &DataProduct| {
                seen.products
                    .get(&p.qualified_name())
                    .map(|p| DataProduct::clone(p))
            };
            let data_product_row = |p: &OdpsProduct| seen.data_products.get(&p.id).cloned();
            let now = now_micros();
            let mut team_upserts = Vec::new();
            let mut team_deletes = Vec::new();
            for c in &changes.teams {
                match c {
                    TeamChange::Create(t) => team_upserts.push(RowChange::Upsert {
                        expected: None,
                        row: stamp_team(t, None, now, &who),
                    }),
                    TeamChange::Update { before, after } => team_upserts.push(RowChange::Upsert {
                        expected: Some(before.clone()),
                        row: stamp_team(after, Some(before), now, &who),
                    }),
                    TeamChange::Delete(t) => team_deletes.push(RowChange::Delete {
                        expected: t.clone(),
                    }),
                }
            }
            if let Some(p) = &changes.policy {
                let row = Policy {
                    version: p.before.as_ref().map_or(0, |b| b.version) + 1,
                    updated_at: now,
                    updated_by: who.clone(),
                    ..p.after.clone()
                };
                warehouse
                    .table(SystemTableKind::Policy)
                    .apply_changes(&[RowChange::Upsert {
                        expected: p.before.clone(),
                        row,
                    }])
                    .await?;
            }
            warehouse
                .table(SystemTableKind::Teams)
                .apply_changes(&team_upserts)
                .await?;
            let mut domain_upserts = Vec::new();
            let mut domain_deletes = Vec::new();
            for c in &changes.domains {
                match c {
                    DomainChange::Create(d) => domain_upserts.push(RowChange::Upsert {
                        expected: None,
                        row: stamp_domain(d, None, now, &who),
                    }),
                    DomainChange::Update { before, after } => {
                        domain_upserts.push(RowChange::Upsert {
                            expected: Some(before.clone()),
                            row: stamp_domain(after, Some(before), now, &who),
                        })
                    }
                    DomainChange::Delete(d) => domain_deletes.push(RowChange::Delete {
                        expected: d.clone(),
                    }),
                }
            }
            let mut contract_rows = Vec::new();
            let mut product_changes = Vec::new();
            for c in &changes.products {
                match c {
                    ProductChange::Create(p) => {
                        let row = stamp_product(p, None, now, &who);
                        contract_rows.extend(contract_row(&row, None, now, &who));
                        product_changes.push(RowChange::Upsert {
                            expected: None,
                            row,
                        });
                    }
                    ProductChange::Update { before, after } => {
                        let row = stamp_product(after, Some(before), now, &who);
                        contract_rows.extend(contract_row(&row, Some(before), now, &who));
                        product_changes.push(RowChange::Upsert {
                            expected: Some(before.clone()),
                            row,
                        });
                    }
                    ProductChange::Delete(p) => product_changes.push(RowChange::Delete {
                        expected: p.clone(),
                    }),
                }
            }
            let domains_upserted = warehouse
                .table(SystemTableKind::Domains)
                .apply_changes_known(
                    &domain_upserts,
                    known(at(SystemTableKind::Domains), &domain_row),
                )
                .await?;
            let contract_rows: Vec<_> = one_row_per_version(contract_rows)
                .into_iter()
                .map(|row| RowChange::Ensure { row })
                .collect();
            warehouse
                .table(SystemTableKind::Contracts)
                .apply_changes(&contract_rows)
                .await?;
            let products_changed = warehouse
                .table(SystemTableKind::Products)
                .apply_changes_known(
                    &product_changes,
                    known(at(SystemTableKind::Products), &product_row),
                )
                .await?;
            let data_product_changes: Vec<_> = changes
                .data_products
                .iter()
                .map(|c| c.row_change(now, &who))
                .collect();
            let data_products_changed = warehouse
                .table(SystemTableKind::DataProducts)
                .apply_changes_known(
                    &data_product_changes,
                    known(at(SystemTableKind::DataProducts), &data_product_row),
                )
                .await?;
            let domains_deleted = warehouse
                .table(SystemTableKind::Domains)
                .apply_changes(&domain_deletes)
                .await?;
            warehouse
                .table(SystemTableKind::Teams)
                .apply_changes(&team_deletes)
                .await?;
            let from = |k: SystemTableKind| base.get(&k).copied();
            domain_upserts.extend(domain_deletes);
            Ok::<_, Error>(Computed {
                domains: Computation::new(
                    from(SystemTableKind::Domains),
                    &[domains_upserted, domains_deleted],
                    &domain_upserts,
                    |d| d.name.clone(),
                    Domain::clone,
                ),
                products: Computation::new(
                    from(SystemTableKind::Products),
                    &[products_changed],
                    &product_changes,
                    DataProduct::qualified_name,
                    |p| std::sync::Arc::new(super::StoredProduct::from(p.clone())),
                ),
                data_products: Computation::new(
                    from(SystemTableKind::DataProducts),
                    &[data_products_changed],
                    &data_product_changes,
                    |p| p.id.clone(),
                    OdpsProduct::clone,
                ),
            })
        });
        let result = task
            .await
            .map_err(|e| Error::invalid(format!("the commit task failed: {e}")))?;
        match result {
            // the snapshot follows from the commit: nothing to read back
            Ok(computed) => {
                let started = std::time::Instant::now();
                let reloaded = self.reload_with(computed).await;
                tracing::debug!(elapsed = ?started.elapsed(), "snapshot after the commit");
                reloaded
            }
            Err(e) => {
                self.reload().await?;
                Err(e)
            }
        }
    }
}

/// The rows of a table as a snapshot held them, for a commit that checks its changes against
/// them instead of reading the table (see [`KnownRows`]).
fn known<T>(
    version: Option<u64>,
    row: &(dyn Fn(&T) -> Option<T> + Send + Sync),
) -> Option<KnownRows<'_, T>> {
    version.map(|version| KnownRows { version, row })
}

fn stamp_team(t: &Team, before: Option<&Team>, now: i64, who: &str) -> Team {
    Team {
        created_at: before.map_or(now, |b| b.created_at),
        updated_at: now,
        updated_by: who.to_string(),
        ..t.clone()
    }
}

fn stamp_domain(d: &Domain, before: Option<&Domain>, now: i64, who: &str) -> Domain {
    Domain {
        created_at: before.map_or(now, |b| b.created_at),
        updated_at: now,
        updated_by: who.to_string(),
        ..d.clone()
    }
}

fn stamp_product(
    p: &DataProduct,
    before: Option<&DataProduct>,
    now: i64,
    who: &str,
) -> DataProduct {
    match before {
        // what lakemeta measured of its table changed, not the product
        Some(b) if b.same_definition(p) => DataProduct {
            created_at: b.created_at,
            updated_at: b.updated_at,
            updated_by: b.updated_by.clone(),
            ..p.clone()
        },
        _ => DataProduct {
            created_at: before.map_or(now, |b| b.created_at),
            updated_at: now,
            updated_by: who.to_string(),
            ..p.clone()
        },
    }
}

/// A history row when the product carries a contract that is new or changed.
fn contract_row(
    p: &DataProduct,
    before: Option<&DataProduct>,
    now: i64,
    who: &str,
) -> Option<ContractRow> {
    if p.contract_spec.is_empty() {
        return None;
    }
    if let Some(b) = before
        && b.contract_spec == p.contract_spec
        && b.contract_version == p.contract_version
    {
        return None;
    }
    Some(ContractRow {
        product: format!("{}.{}", p.domain, p.name),
        products: None,
        contract_id: p.contract_id.clone(),
        version: p.contract_version.clone(),
        spec: p.contract_spec.clone(),
        schema_hash: p.schema_hash.clone(),
        created_at: now,
        created_by: who.to_string(),
    })
}

/// The history rows of one commit, one per contract version: the tables of a contract of
/// several tables share its text, so they are recorded once, naming every table, with a hash
/// of every table's schema.
fn one_row_per_version(rows: Vec<ContractRow>) -> Vec<ContractRow> {
    use sha2::{Digest, Sha256};
    let mut groups: BTreeMap<(String, String, String), Vec<ContractRow>> = BTreeMap::new();
    for row in rows {
        groups
            .entry((
                row.contract_id.clone(),
                row.version.clone(),
                row.spec.clone(),
            ))
            .or_default()
            .push(row);
    }
    groups
        .into_values()
        .filter_map(|mut tables| {
            tables.sort_by(|a, b| a.product.cmp(&b.product));
            if tables.len() == 1 {
                return tables.pop();
            }
            let mut hasher = Sha256::new();
            for t in &tables {
                hasher.update(t.product.as_bytes());
                hasher.update(b"=");
                hasher.update(t.schema_hash.as_bytes());
                hasher.update(b";");
            }
            let schema_hash: String = hasher.finalize()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let names: Vec<String> = tables.iter().map(|t| t.product.clone()).collect();
            let first = tables.into_iter().next()?;
            Some(ContractRow {
                products: Some(names),
                schema_hash,
                ..first
            })
        })
        .collect()
}

impl ContractRow {
    /// The tables this version describes.
    pub fn tables(&self) -> Vec<String> {
        self.products
            .clone()
            .unwrap_or_else(|| vec![self.product.clone()])
    }

    /// True when this version describes the table `name` (`domain.product`).
    pub fn describes(&self, name: &str) -> bool {
        self.product == name
            || self
                .products
                .as_ref()
                .is_some_and(|p| p.iter().any(|t| t == name))
    }
}
