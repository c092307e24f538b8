//! Whether a principal may make a set of catalog changes, and whether the changes name owner
//! teams that exist: checked by `apply` before it writes anything, and again by every commit.

use std::collections::BTreeSet;

use super::operations::{ChangeSummary, DomainChange, ProductChange, TeamChange};
use super::snapshot::CatalogState;
use crate::error::{Error, Result};
use crate::governance::ReadAccess;
use crate::model::{Domain, ProductName, now_micros};
use crate::storage::url_within;

impl CatalogState {
    /// Fails when an external product `name` would read its data from `url` inside the
    /// warehouse `root` (lakemeta's own tables and managed products live there) or where
    /// another product's data is: a location belongs to one product, so registering one cannot
    /// alias data that other rules govern.
    pub fn check_external_location(
        &self,
        url: &url::Url,
        root: &url::Url,
        name: &ProductName,
    ) -> Result<()> {
        if url_within(url, root) || url_within(root, url) {
            return Err(Error::PermissionDenied(format!(
                "LOCATION '{url}' of {name} lies in the warehouse ({root}), which holds lakemeta's \
                 own tables and managed products: register data that lives elsewhere, or write \
                 the product with CREATE TABLE {name} AS SELECT …"
            )));
        }
        for p in self.products.values() {
            if p.domain == name.domain && p.name == name.name {
                continue;
            }
            let Ok(other) = url::Url::parse(&p.location) else {
                continue;
            };
            if url_within(url, &other) || url_within(&other, url) {
                return Err(Error::PermissionDenied(format!(
                    "LOCATION '{url}' of {name} overlaps the data of {}.{} (at {}): a location \
                     belongs to one data product; read that product instead",
                    p.domain, p.name, p.location
                )));
            }
        }
        Ok(())
    }

    /// Whether `who` may read the rows of the product `name` now, and why.
    pub fn read_access(&self, who: &str, name: &ProductName) -> Result<ReadAccess> {
        let product = self.product(name)?;
        let domain = self.domain(&name.domain)?;
        self.governance
            .read_access(who, product, domain, now_micros())
    }

    /// Whether `who` may read every row and raw value of the product `name`, as a quality
    /// check (which sees the whole table, and records what it saw) must: the access, or a
    /// refusal when `who` reads the product through masks or a row filter.
    pub fn read_whole(&self, who: &str, name: &ProductName, what: &str) -> Result<ReadAccess> {
        let access = self.read_access(who, name)?;
        let product = self.product(name)?;
        let protection = self
            .governance
            .protection(who, product, &access, now_micros());
        if protection.is_none() {
            return Ok(access);
        }
        // the checks' results are there for everyone to read
        let results = if what.eq_ignore_ascii_case("run checks") || what == "run_checks" {
            " (the results of the owners' RUN CHECKS are in meta.quality_results)"
        } else {
            ""
        };
        Err(Error::PermissionDenied(format!(
            "{what} reads all of {name} and its raw values, and {who} reads it {}: ask a member \
             of its owner team or a platform admin to run it{results}",
            match (protection.masks.is_empty(), protection.row_filter.is_some()) {
                (false, true) => "masked and row-filtered",
                (false, false) => "masked",
                _ => "row-filtered",
            }
        )))
    }

    /// Fails unless `who` may write the data of the existing product `name` (or change it).
    pub fn check_write_product(&self, who: &str, name: &ProductName) -> Result<()> {
        let product = self.product(name)?;
        let domain = self.domain(&name.domain)?;
        self.governance.may_write_product(who, product, domain)
    }

    /// Fails unless `who` may create products in `domain`.
    pub fn check_write_domain(&self, who: &str, domain: &str) -> Result<()> {
        let domain = self.domain(domain)?;
        self.governance.may_write_domain(who, domain)
    }

    /// Checks that `who` may make every change: teams and the policy are the admins', a new
    /// domain its owner team's (or an admin's), a domain and its products their owner teams'.
    pub fn authorize(&self, changes: &ChangeSummary, who: &str) -> Result<()> {
        let g = &self.governance;
        if !changes.teams.is_empty() {
            g.may_administer(who, "the teams")?;
        }
        if changes.policy.is_some() {
            g.may_administer(who, "the access policy")?;
        }
        for c in &changes.domains {
            self.authorize_domain(c, who)?;
        }
        for c in &changes.products {
            self.authorize_product(c, who, &changes.domains)?;
        }
        for c in &changes.data_products {
            self.authorize_data_product(c, who, &changes.domains)?;
        }
        Ok(())
    }

    /// Checks one ODPS data product change against `who`: it is its domain's, as the domain's
    /// products are (a data product moved to another domain needs both).
    pub fn authorize_data_product(
        &self,
        change: &super::DataProductChange,
        who: &str,
        domains: &[DomainChange],
    ) -> Result<()> {
        let mut affected = vec![change.after().domain.as_str()];
        if let super::DataProductChange::Update { before, .. } = change {
            affected.push(before.domain.as_str());
        }
        for name in affected {
            let created = domains
                .iter()
                .any(|d| matches!(d, DomainChange::Create(new) if new.name == name));
            if !created {
                self.governance.may_write_domain(who, self.domain(name)?)?;
            }
        }
        Ok(())
    }

    /// Checks one domain change against `who`.
    pub fn authorize_domain(&self, change: &DomainChange, who: &str) -> Result<()> {
        let g = &self.governance;
        match change {
            DomainChange::Create(d) => {
                crate::model::validate_name("domain", &d.name).map_err(Error::Invalid)?;
                g.may_create_domain(who, &d.name, &d.owner_team)
            }
            DomainChange::Update { before, .. } | DomainChange::Delete(before) => {
                g.may_write_domain(who, before)
            }
        }
    }

    /// Checks one product change against `who`; `domains` are the domain changes made with it
    /// (a product may go into a domain created by the same operation).
    pub fn authorize_product(
        &self,
        change: &ProductChange,
        who: &str,
        domains: &[DomainChange],
    ) -> Result<()> {
        let g = &self.governance;
        let product = match change {
            ProductChange::Create(p) => p,
            ProductChange::Update { before, .. } | ProductChange::Delete(before) => before,
        };
        let created = domains
            .iter()
            .any(|d| matches!(d, DomainChange::Create(new) if new.name == product.domain));
        if created {
            // its creation was authorized: the same principal fills it
            return Ok(());
        }
        let domain = self.domain(&product.domain)?;
        match change {
            ProductChange::Create(_) => g.may_write_domain(who, domain),
            _ => g.may_write_product(who, product, domain),
        }
    }

    /// Once teams exist (after `changes`), every domain must be owned by a team of the Teams
    /// spec, and every product a change writes too; a team that still owns something cannot
    /// be removed. Refusals name the team and the fix.
    pub fn check_owner_teams(&self, changes: &ChangeSummary) -> Result<()> {
        let mut teams: BTreeSet<&str> =
            self.governance.teams().keys().map(String::as_str).collect();
        for c in &changes.teams {
            match c {
                TeamChange::Create(t) | TeamChange::Update { after: t, .. } => {
                    teams.insert(&t.name);
                }
                TeamChange::Delete(t) => {
                    teams.remove(t.name.as_str());
                }
            }
        }
        if teams.is_empty() {
            return Ok(());
        }
        let known = || {
            let shown: Vec<&str> = teams.iter().copied().take(20).collect();
            match teams.len().saturating_sub(shown.len()) {
                0 => shown.join(", "),
                more => format!("{} and {more} more", shown.join(", ")),
            }
        };
        let mut domains: Vec<&Domain> = self
            .domains
            .values()
            .filter(|d| {
                !changes.domains.iter().any(|c| match c {
                    DomainChange::Create(n) | DomainChange::Update { after: n, .. } => {
                        n.name == d.name
                    }
                    DomainChange::Delete(n) => n.name == d.name,
                })
            })
            .collect();
        for c in &changes.domains {
            if let DomainChange::Create(d) | DomainChange::Update { after: d, .. } = c {
                domains.push(d);
            }
        }
        for d in domains {
            if !teams.contains(d.owner_team.as_str()) {
                return Err(Error::invalid(format!(
                    "domain {} is owned by '{}', which is not a team of the Teams spec (its \
                     teams: {}): add the team to the Teams spec, or give the domain one of \
                     them as owner",
                    d.name,
                    d.owner_team,
                    known()
                )));
            }
        }
        for c in &changes.products {
            if let ProductChange::Create(p) | ProductChange::Update { after: p, .. } = c
                && !teams.contains(p.owner.as_str())
            {
                return Err(Error::invalid(format!(
                    "data product {}.{} names owner '{}', which is not a team of the Teams spec \
                     (its teams: {}): name one of them (a contract's team, or OWNER '…')",
                    p.domain,
                    p.name,
                    p.owner,
                    known()
                )));
            }
        }
        Ok(())
    }
}
