use super::output::Output;
use super::session::{Session, columns_of, declared_product};
use super::statements::LakeStatement;
use crate::catalog::{ChangeSummary, DataProductChange, DomainChange, ProductChange};
use crate::error::{Error, Result};
use crate::model::{DataProduct, Domain, ProductName};
use crate::storage::VacuumOptions;

impl Session {
    /// Runs one of lakemeta's own statements (the catalog was refreshed when it began).
    pub(crate) async fn run_lake(&self, stmt: LakeStatement) -> Result<Output> {
        match stmt {
            LakeStatement::CreateDomain {
                name,
                owner,
                description,
                if_not_exists,
            } => {
                self.create_domain(name, owner, description, if_not_exists)
                    .await
            }
            LakeStatement::DropDomain {
                name,
                if_exists,
                cascade,
            } => self.drop_domain(&name, if_exists, cascade).await,
            LakeStatement::CreateProduct {
                name,
                location,
                format,
                owner,
                description,
                tags,
                if_not_exists,
            } => {
                let state = self.catalog().state();
                let domain = state.domain(&name.domain)?.clone();
                state.check_write_domain(&self.principal().name, &name.domain)?;
                self.caller().record_write(&name.to_string());
                if state.products.contains_key(&name) {
                    if if_not_exists {
                        return Ok(Output::message(format!(
                            "data product {name} exists; nothing done"
                        )));
                    }
                    return Err(Error::AlreadyExists {
                        what: format!("data product {name}"),
                        hint: "DROP DATA PRODUCT it first, or use IF NOT EXISTS".into(),
                    });
                }
                let data = self.warehouse().data();
                let url = data.resolve(&location)?;
                self.caller().check_location(&url)?;
                state.check_external_location(&url, self.warehouse().url(), &name)?;
                let opened = data.open(url.as_str(), format, &self.state()).await?;
                let columns = columns_of(&opened.schema());
                let product = DataProduct {
                    kind: "external".into(),
                    location: url.to_string(),
                    format: format.as_str().into(),
                    owner: owner.unwrap_or(domain.owner_team),
                    description,
                    tags,
                    ..declared_product(&name, columns, &self.principal().name)
                };
                let n = product.columns.len();
                self.commit_products(vec![ProductChange::Create(product)])
                    .await?;
                Ok(Output::message(format!(
                    "CREATE DATA PRODUCT {name} ({} at {url}, {n} columns)",
                    format.as_str()
                )))
            }
            LakeStatement::DropProduct { name, if_exists } => {
                let state = self.catalog().state();
                let Some(p) = state.products.get(&name).map(|p| DataProduct::clone(p)) else {
                    if if_exists {
                        return Ok(Output::message(format!(
                            "data product {name} does not exist; nothing done"
                        )));
                    }
                    return Err(state.product(&name).unwrap_err());
                };
                state.check_write_product(&self.principal().name, &name)?;
                self.caller().record_write(&name.to_string());
                self.commit_products(vec![ProductChange::Delete(p.clone())])
                    .await?;
                self.remove_dropped(&[p]).await;
                Ok(Output::message(format!("DROP DATA PRODUCT {name}")))
            }
            LakeStatement::ShowDomains => {
                self.query(
                    "SELECT d.name AS domain, d.owner_team, count(p.name) AS products, \
                     d.description FROM meta.domains d LEFT JOIN meta.products p ON p.domain = \
                     d.name GROUP BY d.name, d.owner_team, d.description ORDER BY d.name",
                )
                .await
            }
            LakeStatement::ShowProducts { domain } => {
                let filter = match &domain {
                    Some(d) => {
                        self.catalog().state().domain(d)?;
                        format!("WHERE domain = '{d}' ")
                    }
                    None => String::new(),
                };
                self.query(&format!(
                    "SELECT domain || '.' || name AS product, kind, format, owner, \
                     contract_version, array_to_string(tags, ', ') AS tags, description \
                     FROM meta.products {filter}ORDER BY domain, name"
                ))
                .await
            }
            LakeStatement::ShowHistory { name, limit } => self.show_history(&name, limit).await,
            LakeStatement::Optimize { name, zorder } => self.optimize(&name, &zorder).await,
            LakeStatement::Maintain { target } => {
                self.maintain(&target, &|row| {
                    tracing::info!(
                        "maintained {}: {} files compacted into {}, {} deleted{}",
                        row.table,
                        row.optimized.files_removed,
                        row.optimized.files_added,
                        row.vacuumed.files.len(),
                        row.error
                            .as_ref()
                            .map(|e| format!(", failed: {e}"))
                            .unwrap_or_default()
                    )
                })
                .await
            }
            LakeStatement::Vacuum {
                name,
                retain_hours,
                dry_run,
                force,
            } => {
                let options = VacuumOptions {
                    retain_hours,
                    force,
                    dry_run,
                };
                self.vacuum(&name, options).await
            }
            LakeStatement::DescribeProduct { name } => self.describe_product(&name).await,
            LakeStatement::RunChecks { target } => self.run_checks(&target).await,
            LakeStatement::CreateLineage { source, target } => {
                self.create_lineage(source, target).await
            }
            LakeStatement::DropLineage {
                source,
                target,
                if_exists,
            } => self.drop_lineage(source, target, if_exists).await,
            LakeStatement::Grant {
                product,
                unmasked,
                grantee,
                until,
            } => self.grant(&product, unmasked, &grantee, until).await,
            LakeStatement::Revoke {
                product,
                unmasked,
                grantee,
            } => self.revoke(&product, unmasked, &grantee).await,
            LakeStatement::RequestAccess {
                product,
                unmasked,
                reason,
                days,
            } => self.request_access(&product, unmasked, &reason, days).await,
            LakeStatement::ApproveRequest { id, until } => self.approve_request(&id, until).await,
            LakeStatement::DenyRequest { id, reason } => self.deny_request(&id, &reason).await,
            LakeStatement::ShowGrants { product } => self.show_grants(product.as_ref()).await,
            LakeStatement::ShowRequests => self.show_requests().await,
        }
    }

    /// Runs an internal query within the current statement (through the gate, not audited on
    /// its own).
    pub(crate) async fn query(&self, sql: &str) -> Result<Output> {
        crate::model::check_sql_depth(sql)?;
        let mut stmts = datafusion::sql::parser::DFParser::parse_sql(sql)?;
        let stmt = stmts
            .pop_front()
            .ok_or_else(|| Error::invalid("internal query is empty"))?;
        self.run_df(stmt).await
    }

    async fn commit_products(&self, changes: Vec<ProductChange>) -> Result<()> {
        let summary = ChangeSummary {
            products: changes,
            ..Default::default()
        };
        self.catalog().commit(&summary, self.principal()).await
    }

    /// After a drop: the products' lineage edges and managed data go too.
    async fn remove_dropped(&self, products: &[DataProduct]) {
        let names: Vec<String> = products
            .iter()
            .map(|p| p.qualified_name().to_string())
            .collect();
        if let Err(e) = self.catalog().remove_lineage_of(&names).await {
            tracing::warn!(
                "could not remove the lineage of {}: {e}; DROP LINEAGE removes it",
                names.join(", ")
            );
        }
        for p in products.iter().filter(|p| p.kind == "managed") {
            self.forget(&p.qualified_name()).await;
            match self.warehouse().data().resolve(&p.location) {
                Ok(url) => {
                    if let Err(e) = self.warehouse().data().delete_tree(&url).await {
                        tracing::warn!("could not delete the data of {}.{}: {e}", p.domain, p.name);
                    }
                }
                Err(e) => tracing::warn!("{e}"),
            }
        }
    }

    async fn create_domain(
        &self,
        name: String,
        owner: String,
        description: String,
        if_not_exists: bool,
    ) -> Result<Output> {
        let state = self.catalog().state();
        if state.domains.contains_key(&name) {
            if if_not_exists {
                return Ok(Output::message(format!(
                    "domain {name} exists; nothing done"
                )));
            }
            return Err(Error::AlreadyExists {
                what: format!("domain '{name}'"),
                hint: "use IF NOT EXISTS, or DROP DOMAIN it first".into(),
            });
        }
        if owner.trim().is_empty() {
            return Err(Error::invalid(
                "OWNER must name a team, e.g. OWNER 'checkout-team'",
            ));
        }
        let domain = Domain {
            name: name.clone(),
            owner_team: owner,
            description,
            upstream: Vec::new(),
            downstream: Vec::new(),
            created_at: 0,
            updated_at: 0,
            updated_by: String::new(),
            retention_days: None,
            target_file_size: None,
        };
        let summary = ChangeSummary {
            domains: vec![DomainChange::Create(domain)],
            ..Default::default()
        };
        self.catalog().commit(&summary, self.principal()).await?;
        Ok(Output::message(format!("CREATE DOMAIN {name}")))
    }

    async fn drop_domain(&self, name: &str, if_exists: bool, cascade: bool) -> Result<Output> {
        let state = self.catalog().state();
        let Some(domain) = state.domains.get(name).cloned() else {
            if if_exists {
                return Ok(Output::message(format!(
                    "domain {name} does not exist; nothing done"
                )));
            }
            return Err(state.domain(name).unwrap_err());
        };
        let products: Vec<DataProduct> = state.products_in(name).cloned().collect();
        state.check_write_domain(&self.principal().name, name)?;
        for p in &products {
            self.caller().record_write(&p.qualified_name().to_string());
        }
        let odps: Vec<_> = state
            .data_products
            .values()
            .filter(|p| p.domain == name)
            .cloned()
            .collect();
        let holds_some = !products.is_empty() || !odps.is_empty();
        if holds_some && !cascade {
            let names: Vec<String> = products
                .iter()
                .map(|p| p.name.clone())
                .chain(odps.iter().map(|p| format!("ODPS data product {}", p.id)))
                .collect();
            return Err(Error::invalid(format!(
                "domain '{name}' still has {} data product(s) ({}); drop them first or use DROP \
                 DOMAIN {name} CASCADE",
                names.len(),
                names.join(", ")
            )));
        }
        let summary = ChangeSummary {
            domains: vec![DomainChange::Delete(domain)],
            products: products
                .iter()
                .cloned()
                .map(ProductChange::Delete)
                .collect(),
            data_products: odps.into_iter().map(DataProductChange::Delete).collect(),
            ..Default::default()
        };
        self.catalog().commit(&summary, self.principal()).await?;
        self.remove_dropped(&products).await;
        Ok(Output::message(format!(
            "DROP DOMAIN {name}{}",
            if products.is_empty() {
                String::new()
            } else {
                format!(" ({} data products dropped)", products.len())
            }
        )))
    }

    async fn describe_product(&self, name: &ProductName) -> Result<Output> {
        let state = self.catalog().state();
        let p = state.product(name)?.clone();
        let version = match self.open_product(name).await {
            Ok((_, version)) => {
                version.map_or_else(|| "(plain files)".to_string(), |v| v.to_string())
            }
            Err(e) => format!("unreadable: {e}"),
        };
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let mut rows = vec![
            ("product".into(), name.to_string()),
            ("kind".into(), p.kind.clone()),
            ("location".into(), p.location.clone()),
            ("format".into(), p.format.clone()),
            ("data_version".into(), version),
            ("storage".into(), storage_text(&p)),
            ("owner".into(), p.owner.clone()),
            ("description".into(), p.description.clone()),
            ("tags".into(), p.tags.join(", ")),
            ("access_patterns".into(), p.access_patterns.join(", ")),
            (
                "contract".into(),
                if p.contract_version.is_empty() {
                    "none".into()
                } else {
                    format!("{} version {}", p.contract_id, p.contract_version)
                },
            ),
            (
                "sla_freshness".into(),
                opt(p.sla_freshness_minutes.map(|m| format!("{m} minutes"))),
            ),
            (
                "sla_availability".into(),
                opt(p.sla_availability_percent.map(|v| format!("{v} %"))),
            ),
            (
                "sla_completeness".into(),
                opt(p.sla_completeness_percent.map(|v| format!("{v} %"))),
            ),
            (
                "checks".into(),
                p.checks
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        ];
        // what only some products have: the name as written, the ODPS data product's port
        if let Some(d) = &p.display_name {
            rows.push(("display_name".into(), d.clone()));
        }
        if let Some(d) = &p.data_product {
            rows.push(("data_product".into(), d.clone()));
            rows.push(("output_port".into(), opt(p.output_port.clone())));
            rows.push((
                "input_ports".into(),
                opt(p.input_ports.as_ref().map(|i| i.join(", "))),
            ));
        }
        // what the caller reads of it: the access, the masks, the row filter
        let g = &state.governance;
        let who = &self.principal().name;
        let now = crate::model::now_micros();
        let mut protection = crate::governance::Protection::default();
        if let Some(domain) = state.domains.get(&p.domain) {
            let access = match g.read_access(who, &p, domain, now) {
                Ok(a) => {
                    protection = g.protection(who, &p, &a, now);
                    let mut what = vec![a.reason().to_string()];
                    if !protection.masks.is_empty() {
                        what.push(format!(
                            "{} column{} masked",
                            protection.masks.len(),
                            if protection.masks.len() == 1 { "" } else { "s" }
                        ));
                    }
                    if protection.row_filter.is_some() {
                        what.push("rows filtered by a row filter".into());
                    }
                    if !protection.is_none() {
                        what.push(format!("policy v{}", protection.policy_version));
                    }
                    what.join(", ")
                }
                Err(e) => format!("none ({e})"),
            };
            rows.push(("your_access".into(), access));
        }
        for c in &p.columns {
            let mut attrs = vec![c.data_type.clone()];
            let mask = protection.masks.iter().find(|m| m.column == c.name);
            if !c.nullable {
                // a masked column reads as nullable (a mask may give NULL), whatever is stored
                attrs.push(if mask.is_some() {
                    "not null as stored, nullable as you read it".into()
                } else {
                    "not null".into()
                });
            }
            if c.primary_key {
                attrs.push("primary key".into());
            } else if c.unique {
                attrs.push("unique".into());
            }
            if !c.accepted_values.is_empty() {
                attrs.push(format!("one of {}", c.accepted_values.join("/")));
            }
            if !c.tags.is_empty() {
                attrs.push(format!("tags {}", c.tags.join("/")));
            }
            if !c.classification.is_empty() {
                attrs.push(format!("classified {}", c.classification));
            }
            if let Some(m) = mask {
                attrs.push(format!("masked for you ({})", m.rule.kind_name()));
            }
            if !c.description.is_empty() {
                attrs.push(c.description.clone());
            }
            rows.push((format!("column {}", c.name), attrs.join(", ")));
        }
        Output::properties(rows)
    }
}

/// What lakemeta last measured of a managed product's table, for `DESCRIBE PRODUCT`: `3 files,
/// 12.4 KiB (at creation)`, `… (maintained 2027-01-31T03:00:00Z)`; `-` when never measured.
fn storage_text(p: &DataProduct) -> String {
    let (Some(files), Some(bytes)) = (p.file_count, p.size_bytes) else {
        return "-".into();
    };
    let when = p.last_maintained.map_or_else(
        || "at creation".to_string(),
        |t| format!("maintained {}", crate::model::format_timestamp(t)),
    );
    format!(
        "{files} file{}, {} ({when})",
        if files == 1 { "" } else { "s" },
        bytesize::ByteSize::b(bytes.unsigned_abs()).display().iec()
    )
}
