//! The governance state of one catalog snapshot — teams, the policy, grants and requests — and
//! the decisions made from it: who may read a product, who may change a domain or a product,
//! who may decide an access request. No I/O: every decision is a lookup.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};
use crate::model::{
    AccessRequest, DataProduct, Domain, Grant, GranteeKind, MaskRule, Policy, RequestStatus,
    RowFilterRule, Team, format_timestamp,
};

/// Why a principal may read a product's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadAccess {
    /// The warehouse has no teams yet: governance is off and everything is readable.
    Ungoverned,
    /// A platform admin.
    Admin,
    /// A member of the domain's or the product's owner team.
    Owner,
    /// A live grant to the principal or one of its teams.
    Granted {
        /// The grant.
        grant_id: String,
        /// When it ends (microseconds, UTC).
        until: i64,
    },
    /// The product carries no sensitive tag and the policy opens such products to everyone.
    Open,
    /// The product is sensitive only through its PII columns and the policy lets everyone
    /// read such products with the PII masked.
    Masked,
}

impl ReadAccess {
    /// The word the audit log records as the reason.
    pub fn reason(&self) -> &'static str {
        match self {
            ReadAccess::Ungoverned => "ungoverned",
            ReadAccess::Admin => "admin",
            ReadAccess::Owner => "owner",
            ReadAccess::Granted { .. } => "grant",
            ReadAccess::Open => "open",
            ReadAccess::Masked => "masked",
        }
    }
}

/// A column a principal reads through a mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMask {
    /// The column.
    pub column: String,
    /// Its classification (a PII type of the policy).
    pub classification: String,
    /// The mask.
    pub rule: MaskRule,
}

/// What of a product a principal reads beyond whether it may: the columns it reads masked and
/// the rows it sees, decided from one version of the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Protection {
    /// The masked columns, in the product's column order.
    pub masks: Vec<ColumnMask>,
    /// The row filter, if one applies to the principal.
    pub row_filter: Option<RowFilterRule>,
    /// The version of the policy the decision was made from.
    pub policy_version: i64,
    /// Every column classified as a PII type (masked for this principal or not), lowercase:
    /// literals compared with them are redacted from kept statement text.
    pub classified: Vec<String>,
}

impl Protection {
    /// True when the principal reads every row and every raw value.
    pub fn is_none(&self) -> bool {
        self.masks.is_empty() && self.row_filter.is_none()
    }

    /// How the audit log and `EXPLAIN` name it: `email: mask email`, `row filter` (no literals).
    pub fn describe(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .masks
            .iter()
            .map(|m| format!("{}: mask {}", m.column, m.rule.kind_name()))
            .collect();
        if self.row_filter.is_some() {
            out.push("row filter".into());
        }
        out
    }
}

/// Teams, the policy, grants and access requests as of one snapshot.
#[derive(Debug, Clone, Default)]
pub struct Governance {
    teams: BTreeMap<String, Team>,
    /// Principal → the teams it belongs to.
    memberships: HashMap<String, Vec<String>>,
    admin_team: Option<String>,
    policy: Policy,
    grants: BTreeMap<String, Grant>,
    /// (product, grantee kind, grantee) → ids of those grants (live or not).
    grants_by_grantee: HashMap<(String, GranteeKind, String), Vec<String>>,
    requests: BTreeMap<String, AccessRequest>,
    /// (requester, product) → the request stored as pending.
    pending: HashMap<(String, String), String>,
}

impl Governance {
    /// The state from the rows of `meta.teams`, `meta.policy`, `meta.grants` and
    /// `meta.access_requests`.
    pub fn new(
        teams: Vec<Team>,
        policy: Option<Policy>,
        grants: Vec<Grant>,
        requests: Vec<AccessRequest>,
    ) -> Self {
        let mut memberships: HashMap<String, Vec<String>> = HashMap::new();
        let mut admin_team = None;
        for t in &teams {
            if t.admin {
                admin_team = Some(t.name.clone());
            }
            for m in &t.members {
                memberships
                    .entry(m.name.clone())
                    .or_default()
                    .push(t.name.clone());
            }
        }
        let mut grants_by_grantee: HashMap<(String, GranteeKind, String), Vec<String>> =
            HashMap::new();
        for g in &grants {
            grants_by_grantee
                .entry((g.product.clone(), g.grantee_kind, g.grantee.clone()))
                .or_default()
                .push(g.grant_id.clone());
        }
        // a requester may hold several requests stored as pending for one product (an older one
        // lapsed by time, never decided): the one that lapses last is the live one
        let mut pending: HashMap<(String, String), String> = HashMap::new();
        let mut lapses: HashMap<(String, String), i64> = HashMap::new();
        for r in requests
            .iter()
            .filter(|r| r.status == RequestStatus::Pending)
        {
            let key = (r.requester.clone(), r.product.clone());
            if lapses.get(&key).is_none_or(|&at| r.expires_at > at) {
                lapses.insert(key.clone(), r.expires_at);
                pending.insert(key, r.request_id.clone());
            }
        }
        Self {
            pending,
            teams: teams.into_iter().map(|t| (t.name.clone(), t)).collect(),
            memberships,
            admin_team,
            policy: policy.unwrap_or_default(),
            grants: grants
                .into_iter()
                .map(|g| (g.grant_id.clone(), g))
                .collect(),
            grants_by_grantee,
            requests: requests
                .into_iter()
                .map(|r| (r.request_id.clone(), r))
                .collect(),
        }
    }

    /// True once a Teams spec has been applied: from then on every rule holds.
    pub fn enabled(&self) -> bool {
        !self.teams.is_empty()
    }

    /// The teams, by name.
    pub fn teams(&self) -> &BTreeMap<String, Team> {
        &self.teams
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Every grant, by id.
    pub fn grants(&self) -> &BTreeMap<String, Grant> {
        &self.grants
    }

    /// Every access request, by id.
    pub fn requests(&self) -> &BTreeMap<String, AccessRequest> {
        &self.requests
    }

    /// The requests `visible` lets through, each with its status as of `now` (a pending one
    /// past its time reads `expired`).
    pub fn requests_as_of(
        &self,
        now: i64,
        visible: impl Fn(&AccessRequest) -> bool,
    ) -> Vec<AccessRequest> {
        self.requests
            .values()
            .filter(|r| visible(r))
            .map(|r| AccessRequest {
                status: r.status_at(now),
                ..r.clone()
            })
            .collect()
    }

    /// The team that holds the platform admins.
    pub fn admin_team(&self) -> Option<&str> {
        self.admin_team.as_deref()
    }

    /// The teams `who` belongs to.
    pub fn teams_of(&self, who: &str) -> &[String] {
        self.memberships.get(who).map_or(&[], Vec::as_slice)
    }

    /// True when `who` is a member of `team`.
    pub fn is_member(&self, who: &str, team: &str) -> bool {
        self.teams_of(who).iter().any(|t| t == team)
    }

    /// True when `who` is a platform admin (or governance is off, when everyone may do
    /// everything).
    pub fn is_admin(&self, who: &str) -> bool {
        !self.enabled()
            || self
                .admin_team
                .as_deref()
                .is_some_and(|t| self.is_member(who, t))
    }

    /// The named team, or an error that lists the teams there are.
    pub fn team(&self, name: &str) -> Result<&Team> {
        self.teams.get(name).ok_or_else(|| {
            Error::invalid(format!(
                "unknown team '{name}': {}",
                if self.teams.is_empty() {
                    "no Teams spec has been applied yet; apply one with lakemeta apply".to_string()
                } else {
                    let names: Vec<&str> = self.teams.keys().map(String::as_str).collect();
                    let more = names.len().saturating_sub(20);
                    format!(
                        "the Teams spec declares {}{}",
                        names[..names.len().min(20)].join(", "),
                        if more > 0 {
                            format!(" and {more} more (meta.teams lists them)")
                        } else {
                            String::new()
                        }
                    )
                }
            ))
        })
    }

    /// The tags that make `product` sensitive: its own sensitive tags, its columns' sensitive
    /// tags, and `pii` for a column classified as a PII type. Sorted, without repeats.
    pub fn sensitive_tags(&self, product: &DataProduct) -> Vec<String> {
        // tags are compared as the policy writes them: lowercase
        let sensitive = |t: &String| {
            let t = t.to_lowercase();
            self.policy.sensitive_tags.contains(&t).then_some(t)
        };
        let mut tags: Vec<String> = product.tags.iter().filter_map(sensitive).collect();
        for c in &product.columns {
            tags.extend(c.tags.iter().filter_map(sensitive));
            if self.policy.pii_type_of(c).is_some() {
                tags.push("pii".into());
            }
        }
        tags.sort();
        tags.dedup();
        tags
    }

    /// True when every sensitive tag of `product` comes from its PII-classified columns (which
    /// masks cover), none from a tag.
    fn sensitive_only_by_pii(&self, product: &DataProduct) -> bool {
        let sensitive = |t: &String| self.policy.sensitive_tags.contains(&t.to_lowercase());
        !product.tags.iter().any(sensitive)
            && !product.columns.iter().any(|c| c.tags.iter().any(sensitive))
            && product
                .columns
                .iter()
                .any(|c| self.policy.column_mask(c).is_some())
    }

    /// The masks and the row filter `who` reads `product` through, given the access it was
    /// allowed: none while governance is off; no masks for admins, the owner team and holders
    /// of a live `SELECT UNMASKED` grant; the row filters (the policy's and the contract's) for
    /// everyone but admins and the owner team, unless a filter applies to them too.
    pub fn protection(
        &self,
        who: &str,
        product: &DataProduct,
        access: &ReadAccess,
        now: i64,
    ) -> Protection {
        let version = self.policy.version;
        let privileged = match access {
            ReadAccess::Ungoverned => {
                return Protection {
                    policy_version: version,
                    ..Protection::default()
                };
            }
            ReadAccess::Admin | ReadAccess::Owner => true,
            _ => false,
        };
        let name = product.qualified_name().to_string();
        let unmasked = privileged || self.live_unmasked_grant(who, &name, now).is_some();
        let classified = product
            .columns
            .iter()
            .filter(|c| self.policy.column_mask(c).is_some())
            .map(|c| c.name.to_lowercase())
            .collect();
        let masks = if unmasked {
            Vec::new()
        } else {
            product
                .columns
                .iter()
                .filter_map(|c| {
                    self.policy
                        .column_mask(c)
                        .map(|(classification, rule)| ColumnMask {
                            column: c.name.clone(),
                            classification,
                            rule,
                        })
                })
                .collect()
        };
        let applied: Vec<RowFilterRule> = self
            .row_filters_of(product)
            .into_iter()
            .filter(|f| f.applies_to_owners || !privileged)
            .collect();
        let row_filter = match applied.len() {
            0 => None,
            1 => applied.into_iter().next(),
            _ => Some(RowFilterRule {
                product: name.clone(),
                predicate: applied
                    .iter()
                    .map(|f| format!("({})", f.predicate))
                    .collect::<Vec<_>>()
                    .join(" AND "),
                applies_to_owners: applied.iter().all(|f| f.applies_to_owners),
            }),
        };
        Protection {
            masks,
            row_filter,
            policy_version: version,
            classified,
        }
    }

    /// True when `who`, allowed to read `product` with `access`, reads its raw values: governance
    /// is off, or they are an admin, of the owner team, or hold a live `SELECT UNMASKED` grant.
    pub fn reads_raw(
        &self,
        who: &str,
        product: &DataProduct,
        access: &ReadAccess,
        now: i64,
    ) -> bool {
        matches!(
            access,
            ReadAccess::Ungoverned | ReadAccess::Admin | ReadAccess::Owner
        ) || self
            .live_unmasked_grant(who, &product.qualified_name().to_string(), now)
            .is_some()
    }

    /// What `who` reads `product` through as things stand: the protection of the access they
    /// have, or — when they may not read it (or its domain is unknown) — of a plain grant, which
    /// is what asking would give them. For catalog listings, which describe every product.
    pub fn protection_of(
        &self,
        who: &str,
        product: &DataProduct,
        domain: Option<&Domain>,
        now: i64,
    ) -> Protection {
        let access = domain
            .and_then(|d| self.read_access(who, product, d, now).ok())
            .unwrap_or(ReadAccess::Masked);
        self.protection(who, product, &access, now)
    }

    /// The row filters set on `product`: the Policy spec's and its contract's (`rowFilter`), in
    /// that order. A reader they apply to sees only the rows that pass all of them.
    pub fn row_filters_of(&self, product: &DataProduct) -> Vec<RowFilterRule> {
        let name = product.qualified_name().to_string();
        let mut out: Vec<RowFilterRule> = self
            .policy
            .row_filter_for(&name)
            .cloned()
            .into_iter()
            .collect();
        if let Some(predicate) = product.row_filter.as_ref().filter(|p| !p.trim().is_empty()) {
            out.push(RowFilterRule {
                product: name,
                predicate: predicate.clone(),
                applies_to_owners: product.row_filter_applies_to_owners.unwrap_or(false),
            });
        }
        out
    }

    /// The live `SELECT UNMASKED` grant of `who` (or one of its teams) on `product` at `now`.
    pub fn live_unmasked_grant(&self, who: &str, product: &str, now: i64) -> Option<&Grant> {
        self.live_grants(who, product, now)
            .into_iter()
            .filter(|g| g.unmasked())
            .max_by_key(|g| g.expires_at)
    }

    /// The value of attribute `key` of `who` in the Teams spec: from the first of its teams
    /// (by name) that sets it.
    pub fn attribute(&self, who: &str, key: &str) -> Option<&str> {
        let mut teams: Vec<&String> = self.teams_of(who).iter().collect();
        teams.sort();
        teams.into_iter().find_map(|t| {
            self.teams
                .get(t)?
                .members
                .iter()
                .find(|m| m.name == who)?
                .attributes
                .get(key)
                .map(String::as_str)
        })
    }

    /// True when `who` belongs to the team that owns the domain or the product.
    pub fn owns(&self, who: &str, product: &DataProduct, domain: &Domain) -> bool {
        self.is_member(who, &domain.owner_team) || self.is_member(who, &product.owner)
    }

    /// The live grant that lets `who` (or one of its teams) read `product` at `now`, the one
    /// that lasts longest. A lookup per team of `who`, however many grants there are.
    pub fn live_grant(&self, who: &str, product: &str, now: i64) -> Option<&Grant> {
        self.live_grants(who, product, now)
            .into_iter()
            .max_by_key(|g| g.expires_at)
    }

    /// The live grants of `who` and its teams on `product` at `now`.
    fn live_grants<'a>(&'a self, who: &str, product: &str, now: i64) -> Vec<&'a Grant> {
        let key = |kind, name: &str| (product.to_string(), kind, name.to_string());
        std::iter::once(key(GranteeKind::User, who))
            .chain(self.teams_of(who).iter().map(|t| key(GranteeKind::Team, t)))
            .filter_map(|k| self.grants_by_grantee.get(&k))
            .flatten()
            .filter_map(|id| self.grants.get(id))
            .filter(|g| g.is_live(now))
            .collect()
    }

    /// Whether `who` may read the rows of `product` (of `domain`) at `now`, and why; the
    /// refusal says how to ask.
    pub fn read_access(
        &self,
        who: &str,
        product: &DataProduct,
        domain: &Domain,
        now: i64,
    ) -> Result<ReadAccess> {
        if !self.enabled() {
            return Ok(ReadAccess::Ungoverned);
        }
        if self.is_admin(who) {
            return Ok(ReadAccess::Admin);
        }
        if self.owns(who, product, domain) {
            return Ok(ReadAccess::Owner);
        }
        let tags = self.sensitive_tags(product);
        let open = self.policy.default_access == crate::model::DefaultAccess::Open;
        if tags.is_empty() && open {
            return Ok(ReadAccess::Open);
        }
        if open && self.policy.masked_read_without_grant && self.sensitive_only_by_pii(product) {
            return Ok(ReadAccess::Masked);
        }
        let name = product.qualified_name().to_string();
        if let Some(g) = self.live_grant(who, &name, now) {
            return Ok(ReadAccess::Granted {
                grant_id: g.grant_id.clone(),
                until: g.expires_at,
            });
        }
        let ask = format!("ask with REQUEST ACCESS TO {name} BECAUSE '…'");
        if !tags.is_empty() {
            return Err(Error::PermissionDenied(format!(
                "{name} is tagged {} and {who} holds no grant; {ask}",
                tags.join(", ")
            )));
        }
        Err(Error::PermissionDenied(format!(
            "{name} is readable by {} only (the policy closes products to other teams) and \
             {who} holds no grant; {ask}",
            owner_teams(product, domain)
        )))
    }

    /// What `who` may do with `product`'s rows, as `search_catalog` shows it: `owner`,
    /// `admin`, `granted until <time>`, `open`, `requested (<request id>)` or `requestable`.
    pub fn access_label(
        &self,
        who: &str,
        product: &DataProduct,
        domain: &Domain,
        now: i64,
    ) -> String {
        match self.read_access(who, product, domain, now) {
            Ok(ReadAccess::Owner) => "owner".into(),
            Ok(ReadAccess::Admin) => "admin".into(),
            Ok(ReadAccess::Granted { until, .. }) => {
                format!("granted until {}", format_timestamp(until))
            }
            Ok(ReadAccess::Open | ReadAccess::Ungoverned) => "open".into(),
            Ok(ReadAccess::Masked) => "masked".into(),
            Err(_) => {
                let name = product.qualified_name().to_string();
                match self.pending_request(who, &name, now) {
                    Some(r) => format!("requested ({})", r.request_id),
                    None => "requestable".into(),
                }
            }
        }
    }

    /// The request of `who` for `product` that is still waiting for a decision at `now`.
    pub fn pending_request(&self, who: &str, product: &str, now: i64) -> Option<&AccessRequest> {
        self.pending
            .get(&(who.to_string(), product.to_string()))
            .and_then(|id| self.requests.get(id))
            .filter(|r| r.status_at(now) == RequestStatus::Pending)
    }

    /// Whether `who` may change `domain` (its spec, its products): its owner team and admins.
    pub fn may_write_domain(&self, who: &str, domain: &Domain) -> Result<()> {
        if self.is_admin(who) || self.is_member(who, &domain.owner_team) {
            return Ok(());
        }
        Err(not_owner(&domain.name, &domain.owner_team, who))
    }

    /// Whether `who` may change `product` or write its data: the domain's owner team, the
    /// product's owner team, and admins.
    pub fn may_write_product(
        &self,
        who: &str,
        product: &DataProduct,
        domain: &Domain,
    ) -> Result<()> {
        if self.is_admin(who) || self.owns(who, product, domain) {
            return Ok(());
        }
        Err(not_owner(
            &product.qualified_name().to_string(),
            &owner_teams(product, domain),
            who,
        ))
    }

    /// Whether `who` may create a domain owned by `owner`: admins, and members of that team.
    pub fn may_create_domain(&self, who: &str, name: &str, owner: &str) -> Result<()> {
        if self.is_admin(who) || self.is_member(who, owner) {
            return Ok(());
        }
        Err(Error::PermissionDenied(format!(
            "a new domain {name} owned by {owner} can be created by {owner} or a platform admin; \
             {who} is neither: ask a member of {owner} or an admin to create it"
        )))
    }

    /// Whether `who` may decide requests for `product` (grant, revoke, approve, deny): its
    /// owner teams, the contract's approvers (users or teams) and admins.
    pub fn may_decide(
        &self,
        who: &str,
        product: &DataProduct,
        domain: &Domain,
        approvers: &[String],
    ) -> Result<()> {
        if self.is_admin(who)
            || self.owns(who, product, domain)
            || approvers.iter().any(|a| a == who || self.is_member(who, a))
        {
            return Ok(());
        }
        let mut deciders = owner_teams(product, domain);
        if !approvers.is_empty() {
            deciders = format!(
                "{deciders}, the contract's approvers ({})",
                approvers.join(", ")
            );
        }
        Err(Error::PermissionDenied(format!(
            "access to {} is decided by {deciders} or a platform admin; {who} is none of them",
            product.qualified_name()
        )))
    }

    /// Changes to teams and the policy: admins only.
    pub fn may_administer(&self, who: &str, what: &str) -> Result<()> {
        if self.is_admin(who) {
            return Ok(());
        }
        Err(Error::PermissionDenied(format!(
            "{what} can be changed by platform admins ({}) only; {who} is not one",
            self.admin_team
                .as_deref()
                .unwrap_or("no admin team is declared")
        )))
    }
}

/// The owner teams of a product, as a refusal names them.
fn owner_teams(product: &DataProduct, domain: &Domain) -> String {
    if product.owner == domain.owner_team || product.owner.is_empty() {
        domain.owner_team.clone()
    } else {
        format!("{} and {}", domain.owner_team, product.owner)
    }
}

fn not_owner(what: &str, owner: &str, who: &str) -> Error {
    Error::PermissionDenied(format!(
        "{what} is owned by {owner}; {who} is not a member: ask a member of {owner} or a \
         platform admin to make the change"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, Member};

    fn team(name: &str, admin: bool, members: &[&str]) -> Team {
        Team {
            name: name.into(),
            description: String::new(),
            admin,
            members: members
                .iter()
                .map(|m| Member {
                    name: (*m).into(),
                    attributes: Default::default(),
                })
                .collect(),
            created_at: 0,
            updated_at: 0,
            updated_by: String::new(),
        }
    }

    fn domain() -> Domain {
        Domain::new("users", "growth-team")
    }

    fn product(tags: &[&str], classification: &str) -> DataProduct {
        DataProduct {
            domain: "users".into(),
            name: "user_profiles".into(),
            kind: "managed".into(),
            format: "delta".into(),
            owner: "growth-team".into(),
            tags: tags.iter().map(|t| (*t).into()).collect(),
            columns: vec![Column {
                name: "email".into(),
                data_type: "string".into(),
                nullable: true,
                classification: classification.into(),
                ..Column::default()
            }],
            ..DataProduct::default()
        }
    }

    fn grant(id: &str, grantee: &str, kind: GranteeKind, expires_at: i64) -> Grant {
        Grant {
            grant_id: id.into(),
            product: "users.user_profiles".into(),
            grantee: grantee.into(),
            grantee_kind: kind,
            privilege: "select".into(),
            granted_by: "carol".into(),
            granted_at: 0,
            expires_at,
            request_id: None,
            revoked_at: None,
            revoked_by: None,
        }
    }

    fn mesh(grants: Vec<Grant>) -> Governance {
        Governance::new(
            vec![
                team("growth-team", false, &["carol"]),
                team("analysts", false, &["bob"]),
                team("platform", true, &["admin"]),
            ],
            None,
            grants,
            vec![],
        )
    }

    #[test]
    fn without_teams_everything_is_allowed() {
        let g = Governance::default();
        let p = product(&["pii"], "");
        assert_eq!(
            g.read_access("bob", &p, &domain(), 0).unwrap(),
            ReadAccess::Ungoverned
        );
        assert!(g.may_write_domain("bob", &domain()).is_ok());
        assert!(g.may_administer("bob", "the Teams spec").is_ok());
    }

    #[test]
    fn a_classified_column_makes_the_product_pii() {
        let g = mesh(vec![]);
        assert_eq!(g.sensitive_tags(&product(&[], "email")), vec!["pii"]);
        assert!(g.sensitive_tags(&product(&["gold"], "public")).is_empty());
        // tags are compared as the policy writes them
        assert_eq!(
            g.sensitive_tags(&product(&["PII", "Financial"], "")),
            vec!["financial", "pii"]
        );
        let e = g
            .read_access("bob", &product(&[], "email"), &domain(), 0)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "permission denied: users.user_profiles is tagged pii and bob holds no grant; ask \
             with REQUEST ACCESS TO users.user_profiles BECAUSE '…'"
        );
    }

    #[test]
    fn owners_admins_and_grant_holders_read_sensitive_products() {
        let p = product(&["pii"], "");
        let g = mesh(vec![
            grant("g1", "bob", GranteeKind::User, 100),
            grant("g2", "analysts", GranteeKind::Team, 200),
        ]);
        assert_eq!(
            g.read_access("carol", &p, &domain(), 50).unwrap(),
            ReadAccess::Owner
        );
        assert_eq!(
            g.read_access("admin", &p, &domain(), 50).unwrap(),
            ReadAccess::Admin
        );
        // the grant that lasts longest, through the team
        assert_eq!(
            g.read_access("bob", &p, &domain(), 50).unwrap(),
            ReadAccess::Granted {
                grant_id: "g2".into(),
                until: 200
            }
        );
        // expired at 200
        assert!(g.read_access("bob", &p, &domain(), 200).is_err());
        // open products need nothing
        assert_eq!(
            g.read_access("dave", &product(&[], ""), &domain(), 0)
                .unwrap(),
            ReadAccess::Open
        );
    }

    #[test]
    fn only_owners_and_admins_write() {
        let g = mesh(vec![]);
        assert!(g.may_write_domain("carol", &domain()).is_ok());
        assert!(g.may_write_domain("admin", &domain()).is_ok());
        assert_eq!(
            g.may_write_domain("bob", &domain())
                .unwrap_err()
                .to_string(),
            "permission denied: users is owned by growth-team; bob is not a member: ask a member \
             of growth-team or a platform admin to make the change"
        );
        assert!(g.may_create_domain("bob", "x", "growth-team").is_err());
        assert!(g.may_create_domain("bob", "x", "analysts").is_ok());
        assert!(g.may_administer("carol", "the Teams spec").is_err());
    }
}
