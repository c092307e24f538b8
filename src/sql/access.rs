//! Grants and access requests in SQL: `GRANT`, `REVOKE`, `REQUEST ACCESS`, `APPROVE REQUEST`,
//! `DENY REQUEST`, `SHOW GRANTS` and `SHOW REQUESTS`. Every refusal says who may and how to ask;
//! a refused statement changes nothing.

use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use super::output::Output;
use super::session::Session;
use super::statements::Grantee;
use crate::catalog::CatalogState;
use crate::contracts::approvers;
use crate::error::{Error, Result};
use crate::governance::{Governance, ReadAccess};
use crate::model::{
    AccessRequest, DataProduct, Domain, Grant, GranteeKind, ProductName, RequestStatus, SELECT,
    SELECT_UNMASKED, format_timestamp, now_micros,
};
use crate::storage::{RowChange, SystemTableKind};

/// Microseconds in a day.
const DAY: i64 = 86_400_000_000;

impl Session {
    /// `GRANT SELECT [UNMASKED] ON product TO USER u | TEAM t [UNTIL ts]`.
    pub(crate) async fn grant(
        &self,
        name: &ProductName,
        unmasked: bool,
        grantee: &Grantee,
        until: Option<i64>,
    ) -> Result<Output> {
        let state = self.catalog().state();
        let g = governed(&state)?;
        let who = &self.principal().name;
        let (product, domain) = decided_by(&state, who, name)?;
        check_grantee(g, grantee)?;
        // an approver decides others' access, not its own: nobody approves their own request
        let for_self = match grantee.kind {
            GranteeKind::User => grantee.name == *who,
            GranteeKind::Team => g.is_member(who, &grantee.name),
        };
        if for_self && !g.is_admin(who) && !g.owns(who, product, domain) {
            return Err(Error::PermissionDenied(format!(
                "{who} may not grant {name} to {grantee}, which includes {who}: a grant to \
                 oneself is the owner team's or an admin's to make; ask with REQUEST ACCESS TO \
                 {name} BECAUSE '…'"
            )));
        }
        let now = now_micros();
        let expires_at = grant_end(g, now, until, None)?;
        let grant = Grant {
            grant_id: new_id("grant"),
            product: name.to_string(),
            grantee: grantee.name.clone(),
            grantee_kind: grantee.kind,
            privilege: if unmasked { SELECT_UNMASKED } else { SELECT }.into(),
            granted_by: who.clone(),
            granted_at: now,
            expires_at,
            request_id: None,
            revoked_at: None,
            revoked_by: None,
        };
        self.catalog()
            .commit_access(
                &[],
                &[RowChange::Upsert {
                    expected: None,
                    row: grant.clone(),
                }],
            )
            .await?;
        Ok(Output::message(format!(
            "GRANT {}: {grantee} may read {name}{} until {}",
            grant.grant_id,
            pii_words(unmasked),
            format_timestamp(expires_at)
        )))
    }

    /// `REVOKE SELECT ON product FROM USER u | TEAM t`: ends every live grant of the grantee;
    /// `REVOKE SELECT UNMASKED …` only those of raw values (the grantee keeps reading masked
    /// values if it holds a plain grant).
    pub(crate) async fn revoke(
        &self,
        name: &ProductName,
        unmasked: bool,
        grantee: &Grantee,
    ) -> Result<Output> {
        let state = self.catalog().state();
        let g = governed(&state)?;
        let who = &self.principal().name;
        decided_by(&state, who, name)?;
        let now = now_micros();
        let live: Vec<&Grant> = g
            .grants()
            .values()
            .filter(|r| {
                r.product == name.to_string()
                    && r.grantee == grantee.name
                    && r.grantee_kind == grantee.kind
                    && r.is_live(now)
                    && (!unmasked || r.unmasked())
            })
            .collect();
        if live.is_empty() {
            return Err(Error::invalid(format!(
                "{grantee} holds no live {}grant on {name}, so there is nothing to revoke; SHOW \
                 GRANTS ON {name} lists the grants in force",
                if unmasked { "SELECT UNMASKED " } else { "" }
            )));
        }
        let changes: Vec<RowChange<Grant>> = live
            .iter()
            .map(|r| RowChange::Upsert {
                expected: Some((*r).clone()),
                row: Grant {
                    revoked_at: Some(now),
                    revoked_by: Some(who.clone()),
                    ..(*r).clone()
                },
            })
            .collect();
        let ids: Vec<String> = live.iter().map(|r| r.grant_id.clone()).collect();
        self.catalog().commit_access(&[], &changes).await?;
        let mut message = format!("REVOKE: ended {} of {grantee} on {name}", ids.join(", "));
        if grantee.kind == GranteeKind::User {
            let now_state = self.catalog().state();
            if let Ok((p, d)) = product_and_domain(&now_state, name)
                && let Ok(access) = now_state.governance.read_access(&grantee.name, p, d, now)
            {
                message.push_str(&format!(
                    "; {} still reads it ({})",
                    grantee.name,
                    already(&access)
                ));
            }
        }
        Ok(Output::message(message))
    }

    /// `REQUEST [UNMASKED] ACCESS TO product BECAUSE 'reason' [FOR n DAYS]`: answers with the
    /// request id.
    pub(crate) async fn request_access(
        &self,
        name: &ProductName,
        unmasked: bool,
        reason: &str,
        days: Option<i64>,
    ) -> Result<Output> {
        let state = self.catalog().state();
        let g = governed(&state)?;
        let who = &self.principal().name;
        let (product, domain) = product_and_domain(&state, name)?;
        if reason.trim().is_empty() {
            return Err(Error::invalid(format!(
                "a request needs a reason: REQUEST ACCESS TO {name} BECAUSE 'what you need the \
                 data for'"
            )));
        }
        let max = g.policy().max_grant_days;
        if let Some(d) = days
            && !(1..=max).contains(&d)
        {
            return Err(Error::invalid(format!(
                "FOR {d} DAYS: ask for 1 to {max} days (the longest grant the policy allows)"
            )));
        }
        let now = now_micros();
        if let Ok(access) = g.read_access(who, product, domain, now) {
            let masked = !g.protection(who, product, &access, now).masks.is_empty();
            if !unmasked || !masked {
                let hint = if masked {
                    format!("; for raw PII values ask with REQUEST UNMASKED ACCESS TO {name}")
                } else {
                    String::new()
                };
                return Err(Error::invalid(format!(
                    "{who} can already read {name} ({}){hint}; no request is needed",
                    already(&access)
                )));
            }
        }
        if let Some(r) = g.pending_request(who, &name.to_string(), now) {
            return Err(Error::invalid(format!(
                "{who} asked for {name} already: request {} has been waiting since {}; it \
                 lapses on {}",
                r.request_id,
                format_timestamp(r.requested_at),
                format_timestamp(r.expires_at)
            )));
        }
        let request = AccessRequest {
            request_id: new_id("req"),
            product: name.to_string(),
            requester: who.clone(),
            reason: reason.trim().to_string(),
            privilege: if unmasked { SELECT_UNMASKED } else { SELECT }.into(),
            days,
            status: RequestStatus::Pending,
            requested_at: now,
            expires_at: now.saturating_add(g.policy().request_ttl_days.saturating_mul(DAY)),
            decided_by: None,
            decided_at: None,
            decision_reason: None,
            grant_id: None,
        };
        self.catalog()
            .commit_access(
                &[RowChange::Upsert {
                    expected: None,
                    row: request.clone(),
                }],
                &[],
            )
            .await?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("request_id", DataType::Utf8, false),
            Field::new("product", DataType::Utf8, false),
            Field::new("status", DataType::Utf8, false),
            Field::new("expires_at", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from(vec![request.request_id.clone()])),
                Arc::new(StringArray::from(vec![name.to_string()])),
                Arc::new(StringArray::from(vec!["pending"])),
                Arc::new(StringArray::from(vec![format_timestamp(
                    request.expires_at,
                )])),
            ],
        )?;
        let mut out = Output::rows(schema, vec![batch]);
        out.message = Some(format!(
            "REQUEST {}: waiting for {} to decide; it lapses on {}",
            request.request_id,
            deciders(product, domain),
            format_timestamp(request.expires_at)
        ));
        Ok(out)
    }

    /// `APPROVE REQUEST id [UNTIL ts]`: makes the grant the request asked for.
    pub(crate) async fn approve_request(&self, id: &str, until: Option<i64>) -> Result<Output> {
        let state = self.catalog().state();
        let g = governed(&state)?;
        let who = &self.principal().name;
        let request = find_request(g, id)?;
        let name: ProductName = request.product.parse().map_err(Error::Invalid)?;
        let (product, domain) = product_and_domain(&state, &name)?;
        let now = now_micros();
        let repair = match request.status_at(now) {
            RequestStatus::Pending => false,
            // approved, but the grant it made is not there (a crash between the two commits):
            // approving again makes it
            RequestStatus::Approved
                if request
                    .grant_id
                    .as_ref()
                    .is_some_and(|gid| !g.grants().contains_key(gid)) =>
            {
                true
            }
            _ => return Err(decided(request)),
        };
        if request.requester == *who {
            return Err(Error::PermissionDenied(format!(
                "nobody approves their own request: {id} is {who}'s; {} decides it",
                deciders(product, domain)
            )));
        }
        decided_by(&state, who, &name)?;
        let expires_at = grant_end(g, now, until, request.days)?;
        let grant_id = match (&request.grant_id, repair) {
            (Some(gid), true) => gid.clone(),
            _ => new_id("grant"),
        };
        let decided = AccessRequest {
            status: RequestStatus::Approved,
            decided_by: Some(who.clone()),
            decided_at: Some(now),
            grant_id: Some(grant_id.clone()),
            ..request.clone()
        };
        let requests = if repair {
            Vec::new()
        } else {
            vec![RowChange::Upsert {
                expected: Some(request.clone()),
                row: decided,
            }]
        };
        let grant = Grant {
            grant_id: grant_id.clone(),
            product: request.product.clone(),
            grantee: request.requester.clone(),
            grantee_kind: GranteeKind::User,
            privilege: request.privilege().to_string(),
            granted_by: who.clone(),
            granted_at: now,
            expires_at,
            request_id: Some(request.request_id.clone()),
            revoked_at: None,
            revoked_by: None,
        };
        self.catalog()
            .commit_access(
                &requests,
                &[RowChange::Upsert {
                    expected: None,
                    row: grant,
                }],
            )
            .await?;
        Ok(Output::message(format!(
            "APPROVE {id}: {} may read {}{} until {} (grant {grant_id})",
            request.requester,
            request.product,
            pii_words(request.privilege() == SELECT_UNMASKED),
            format_timestamp(expires_at)
        )))
    }

    /// `DENY REQUEST id BECAUSE 'reason'`.
    pub(crate) async fn deny_request(&self, id: &str, reason: &str) -> Result<Output> {
        let state = self.catalog().state();
        let g = governed(&state)?;
        let who = &self.principal().name;
        let request = find_request(g, id)?;
        let name: ProductName = request.product.parse().map_err(Error::Invalid)?;
        product_and_domain(&state, &name)?;
        if request.status_at(now_micros()) != RequestStatus::Pending {
            return Err(decided(request));
        }
        if reason.trim().is_empty() {
            return Err(Error::invalid(format!(
                "a denial needs a reason the requester can act on: DENY REQUEST {id} BECAUSE '…'"
            )));
        }
        decided_by(&state, who, &name)?;
        let denied = AccessRequest {
            status: RequestStatus::Denied,
            decided_by: Some(who.clone()),
            decided_at: Some(now_micros()),
            decision_reason: Some(reason.trim().to_string()),
            ..request.clone()
        };
        self.catalog()
            .commit_access(
                &[RowChange::Upsert {
                    expected: Some(request.clone()),
                    row: denied,
                }],
                &[],
            )
            .await?;
        Ok(Output::message(format!(
            "DENY {id}: {} may not read {}",
            request.requester, request.product
        )))
    }

    /// `SHOW GRANTS [ON product]`: the grants in force.
    pub(crate) async fn show_grants(&self, product: Option<&ProductName>) -> Result<Output> {
        let filter = match product {
            Some(p) => {
                self.catalog().state().product(p)?;
                format!(" AND product = '{p}'")
            }
            None => String::new(),
        };
        self.query(&format!(
            "SELECT grant_id, product, grantee, grantee_kind, privilege, granted_by, granted_at, \
             expires_at, request_id FROM meta.grants WHERE status = 'active'{filter} ORDER BY product, \
             grantee, grant_id"
        ))
        .await
    }

    /// `SHOW REQUESTS`: the requests the principal made, and those it may decide.
    pub(crate) async fn show_requests(&self) -> Result<Output> {
        let state = self.catalog().state();
        let g = &state.governance;
        let who = &self.principal().name;
        let now = now_micros();
        let visible = request_visibility(&state, who);
        let mut rows = g.requests_as_of(now, visible);
        // waiting ones first, then the newest
        rows.sort_by_key(|r| (r.status != RequestStatus::Pending, -r.requested_at));
        let batch = SystemTableKind::AccessRequests.to_batch(&rows)?;
        Ok(Output::rows(batch.schema(), vec![batch]))
    }
}

/// Which access requests `who` sees (their reasons may be private): its own, those it may
/// decide, every one for an admin or while governance is off. What it may decide is worked out
/// on the first call (when a statement reads the requests), not before.
pub(crate) fn request_visibility(
    state: &Arc<CatalogState>,
    who: &str,
) -> impl Fn(&AccessRequest) -> bool + Send + Sync + use<> {
    let state = Arc::clone(state);
    let who = who.to_string();
    let decides: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    move |r: &AccessRequest| {
        let g = &state.governance;
        if r.requester == who || g.is_admin(&who) {
            return true;
        }
        decides
            .get_or_init(|| {
                // the contracts' approvers are parsed once per product
                let mut products = std::collections::HashSet::new();
                for r in g.requests().values() {
                    if products.contains(&r.product) {
                        continue;
                    }
                    if let Ok(n) = r.product.parse::<ProductName>()
                        && let Ok((p, d)) = product_and_domain(&state, &n)
                        && g.may_decide(&who, p, d, &approvers(&p.contract_spec))
                            .is_ok()
                    {
                        products.insert(r.product.clone());
                    }
                }
                products
            })
            .contains(&r.product)
    }
}

/// The governance state, or an error when no Teams spec turns governance on.
fn governed(state: &CatalogState) -> Result<&Governance> {
    let g = state.governance.as_ref();
    if g.enabled() {
        Ok(g)
    } else {
        Err(Error::invalid(
            "governance is off in this warehouse (no Teams spec has been applied), so every \
             principal reads every product and there is nothing to grant or request; apply a \
             Teams spec with lakemeta apply to turn it on",
        ))
    }
}

/// The product and its domain, once `who` is known to decide access to it (its owner team, its
/// contract's approvers, an admin).
fn decided_by<'a>(
    state: &'a CatalogState,
    who: &str,
    name: &ProductName,
) -> Result<(&'a DataProduct, &'a Domain)> {
    let (product, domain) = product_and_domain(state, name)?;
    state
        .governance
        .may_decide(who, product, domain, &approvers(&product.contract_spec))?;
    Ok((product, domain))
}

fn product_and_domain<'a>(
    state: &'a CatalogState,
    name: &ProductName,
) -> Result<(&'a DataProduct, &'a Domain)> {
    Ok((state.product(name)?, state.domain(&name.domain)?))
}

/// The grantee must be a team of the Teams spec, or a principal lakemeta knows: a member of a
/// team, or someone who asked for access.
fn check_grantee(g: &Governance, grantee: &Grantee) -> Result<()> {
    match grantee.kind {
        GranteeKind::Team => g.team(&grantee.name).map(|_| ()),
        GranteeKind::User => {
            let known = !g.teams_of(&grantee.name).is_empty()
                || g.requests().values().any(|r| r.requester == grantee.name);
            if known {
                Ok(())
            } else {
                Err(Error::invalid(format!(
                    "unknown user '{}': lakemeta knows the members of the Teams spec's teams and \
                     the principals who asked for access; check the name, add the user to a \
                     team, or let them ask with REQUEST ACCESS",
                    grantee.name
                )))
            }
        }
    }
}

/// When a grant made now ends: `until` if given, else after the days asked for, else after the
/// longest grant the policy allows — never later than that.
fn grant_end(g: &Governance, now: i64, until: Option<i64>, days: Option<i64>) -> Result<i64> {
    let max_days = g.policy().max_grant_days;
    let latest = now.saturating_add(max_days.saturating_mul(DAY));
    let end = match (until, days) {
        (Some(u), _) => u,
        (None, Some(d)) => now.saturating_add(d.saturating_mul(DAY)),
        (None, None) => latest,
    };
    if end <= now {
        return Err(Error::invalid(format!(
            "UNTIL {} is in the past: give a time after now",
            format_timestamp(end)
        )));
    }
    if end > latest {
        return Err(Error::invalid(format!(
            "UNTIL {} is beyond the longest grant the policy allows ({max_days} days, until \
             {}); choose an earlier time, or ask an admin to raise the policy's maxGrantDays",
            format_timestamp(end),
            format_timestamp(latest)
        )));
    }
    Ok(end)
}

fn find_request<'a>(g: &'a Governance, id: &str) -> Result<&'a AccessRequest> {
    g.requests().get(id).ok_or_else(|| {
        Error::invalid(format!(
            "no access request '{id}': SHOW REQUESTS lists the requests you made or may decide"
        ))
    })
}

/// Why a request that is not pending cannot be decided again.
fn decided(r: &AccessRequest) -> Error {
    let by = |at: Option<i64>| {
        format!(
            "by {} on {}",
            r.decided_by.as_deref().unwrap_or("?"),
            at.map(format_timestamp).unwrap_or_default()
        )
    };
    Error::invalid(match r.status_at(now_micros()) {
        RequestStatus::Approved => format!(
            "request {} was approved already {} (grant {})",
            r.request_id,
            by(r.decided_at),
            r.grant_id.as_deref().unwrap_or("?")
        ),
        RequestStatus::Denied => format!(
            "request {} was denied {}: {}",
            r.request_id,
            by(r.decided_at),
            r.decision_reason.as_deref().unwrap_or("")
        ),
        _ => format!(
            "request {} expired on {} without a decision; {} may ask again with REQUEST ACCESS \
             TO {} BECAUSE '…'",
            r.request_id,
            format_timestamp(r.expires_at),
            r.requester,
            r.product
        ),
    })
}

/// Who decides requests for a product, as messages name them.
fn deciders(product: &DataProduct, domain: &Domain) -> String {
    let mut teams = vec![domain.owner_team.clone()];
    if !product.owner.is_empty() && product.owner != domain.owner_team {
        teams.push(product.owner.clone());
    }
    for a in approvers(&product.contract_spec) {
        if !teams.contains(&a) {
            teams.push(a);
        }
    }
    format!("{} (or a platform admin)", teams.join(", "))
}

/// How a principal can already read a product, in words.
fn already(access: &ReadAccess) -> String {
    match access {
        ReadAccess::Admin => "as a platform admin".into(),
        ReadAccess::Owner => "as a member of its owner team".into(),
        ReadAccess::Granted { grant_id, until } => {
            format!("grant {grant_id}, until {}", format_timestamp(*until))
        }
        ReadAccess::Open | ReadAccess::Ungoverned => {
            "it is open to every authenticated principal".into()
        }
        ReadAccess::Masked => {
            "the policy opens it to every authenticated principal with its PII masked".into()
        }
    }
}

/// What a grant's privilege adds to "may read …".
fn pii_words(unmasked: bool) -> &'static str {
    if unmasked { " with raw PII values" } else { "" }
}

/// A new id: `prefix_` and eight hex digits.
fn new_id(prefix: &str) -> String {
    format!("{prefix}_{:08x}", rand::random::<u32>())
}
