//! Plain types of federated governance: teams, the access policy, grants, access requests and
//! audit events. The rules that use them live in `governance/`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A team: people (principal names) who own domains and data products together. One row of
/// `meta.teams`, its members nested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    /// The team's name, as domain specs and contracts write it (`orders-team`).
    pub name: String,
    /// What the team does.
    pub description: String,
    /// True for the team that holds the platform admins.
    pub admin: bool,
    /// Its members.
    pub members: Vec<Member>,
    /// When the team was first applied (microseconds, UTC).
    pub created_at: i64,
    /// When it last changed (microseconds, UTC).
    pub updated_at: i64,
    /// The principal that made the last change.
    pub updated_by: String,
}

impl Team {
    /// True when the declared fields are equal (timestamps and author ignored).
    pub fn same_definition(&self, other: &Team) -> bool {
        self.name == other.name
            && self.description == other.description
            && self.admin == other.admin
            && self.members == other.members
    }
}

/// A member of a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The principal name (a user of the server, or the user a CLI runs as).
    pub name: String,
    /// Attributes of the member in this team (`region: eu`), for row filters.
    pub attributes: BTreeMap<String, String>,
}

/// Whether products without a sensitive tag are open to every authenticated principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultAccess {
    /// Every authenticated principal reads them (the default).
    Open,
    /// Only owners, admins and grant holders read them.
    Closed,
}

impl DefaultAccess {
    /// The word stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            DefaultAccess::Open => "open",
            DefaultAccess::Closed => "closed",
        }
    }
}

/// The access policy: which tags make a product sensitive and how long grants and requests
/// live. One row of `meta.policy`; without one, [`Policy::default`] (the seed's rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Increases by one with every applied change (0: the built-in default).
    pub version: i64,
    /// Tags that make a product sensitive: reading it needs a grant.
    pub sensitive_tags: Vec<String>,
    /// Column classifications that name a PII type; a column classified so counts as `pii`.
    pub pii_types: Vec<String>,
    /// The longest a grant may run, in days.
    pub max_grant_days: i64,
    /// How long a pending access request lives, in days.
    pub request_ttl_days: i64,
    /// Whether products without a sensitive tag are open (`open`) or need a grant (`closed`).
    pub default_access: DefaultAccess,
    /// The mask each PII type is read through by those who may not see raw values; a PII type
    /// without an entry takes its [`default_mask`].
    #[serde(default, deserialize_with = "null_as_default")]
    pub masks: Vec<ColumnMaskRule>,
    /// Row filters: which rows of a product a principal sees.
    #[serde(default, deserialize_with = "null_as_default")]
    pub row_filters: Vec<RowFilterRule>,
    /// When true, a product that is sensitive only through its PII columns is readable without
    /// a grant, its PII masked; when false (the default) reading it needs a grant.
    #[serde(default, deserialize_with = "null_as_default")]
    pub masked_read_without_grant: bool,
    /// The spec as applied (YAML), empty for the default.
    pub spec: String,
    /// When it was applied (microseconds, UTC); 0 for the default.
    pub updated_at: i64,
    /// Who applied it.
    pub updated_by: String,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            version: 0,
            sensitive_tags: ["pii", "financial", "health", "personal"]
                .map(String::from)
                .to_vec(),
            pii_types: ["email", "phone", "ssn", "credit_card", "address"]
                .map(String::from)
                .to_vec(),
            max_grant_days: 90,
            request_ttl_days: 7,
            default_access: DefaultAccess::Open,
            masks: Vec::new(),
            row_filters: Vec::new(),
            masked_read_without_grant: false,
            spec: String::new(),
            updated_at: 0,
            updated_by: String::new(),
        }
    }
}

impl Policy {
    /// True when the declared fields are equal (version, text, timestamps and author ignored).
    pub fn same_rules(&self, other: &Policy) -> bool {
        self.sensitive_tags == other.sensitive_tags
            && self.pii_types == other.pii_types
            && self.max_grant_days == other.max_grant_days
            && self.request_ttl_days == other.request_ttl_days
            && self.default_access == other.default_access
            && self.masks == other.masks
            && self.row_filters == other.row_filters
            && self.masked_read_without_grant == other.masked_read_without_grant
    }

    /// The mask that applies to a column classified `classification`, `None` when the
    /// classification is not a PII type of the policy.
    pub fn mask_for(&self, classification: &str) -> Option<MaskRule> {
        if classification.is_empty()
            || !self
                .pii_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(classification))
        {
            return None;
        }
        let declared = self
            .masks
            .iter()
            .find(|m| m.classification.eq_ignore_ascii_case(classification));
        Some(match declared {
            Some(m) => m.rule(),
            None => MaskRule::Builtin(default_mask(classification)),
        })
    }

    /// The PII type of `column`: its classification when that is a PII type of the policy,
    /// else the first of its tags that is one (a column tagged `email` is classified `email`).
    /// Lowercase.
    pub fn pii_type_of(&self, column: &crate::model::Column) -> Option<String> {
        let is_pii =
            |t: &String| !t.is_empty() && self.pii_types.iter().any(|p| p.eq_ignore_ascii_case(t));
        std::iter::once(&column.classification)
            .chain(&column.tags)
            .find(|t| is_pii(t))
            .map(|t| t.to_lowercase())
    }

    /// The PII type of `column` and the mask it is read through by those who may not see raw
    /// values; `None` when the column is not PII.
    pub fn column_mask(&self, column: &crate::model::Column) -> Option<(String, MaskRule)> {
        let kind = self.pii_type_of(column)?;
        let rule = self.mask_for(&kind)?;
        Some((kind, rule))
    }

    /// The row filter of `product` (`domain.name`), if the policy sets one.
    pub fn row_filter_for(&self, product: &str) -> Option<&RowFilterRule> {
        self.row_filters.iter().find(|f| f.product == product)
    }
}

/// Reads a NULL (a column added by a later layout, absent from older rows) as the default.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A built-in mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaskKind {
    /// The first character and the domain of an e-mail address: `j***@example.com`.
    Email,
    /// The last four characters: `***6789`.
    Last4,
    /// NULL.
    Null,
    /// The year of a date or timestamp (January 1st of it).
    Year,
    /// `[redacted]` for text, NULL for other types.
    Redact,
    /// A keyed hash (HMAC-SHA-256 with the warehouse's mask key): the same value always gives
    /// the same hash in one warehouse, so masked columns still join and count distinct.
    Hash,
}

impl MaskKind {
    /// Every built-in mask.
    pub const ALL: [MaskKind; 6] = [
        MaskKind::Email,
        MaskKind::Last4,
        MaskKind::Null,
        MaskKind::Year,
        MaskKind::Redact,
        MaskKind::Hash,
    ];

    /// The name a Policy spec writes.
    pub fn as_str(self) -> &'static str {
        match self {
            MaskKind::Email => "email",
            MaskKind::Last4 => "last4",
            MaskKind::Null => "null",
            MaskKind::Year => "year",
            MaskKind::Redact => "redact",
            MaskKind::Hash => "hash",
        }
    }

    /// The built-in mask named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// How a classified column is masked: a built-in, or a SQL expression over `value` (the
/// column's raw value) that returns the column's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MaskRule {
    /// A built-in mask.
    Builtin(MaskKind),
    /// A SQL expression over `value`.
    Sql(String),
}

impl MaskRule {
    /// The built-in's name, or `sql` (without the expression, which may hold literals).
    pub fn kind_name(&self) -> &str {
        match self {
            MaskRule::Builtin(k) => k.as_str(),
            MaskRule::Sql(_) => "sql",
        }
    }

    /// How it is shown: the built-in's name, or `sql: <expression>`.
    pub fn describe(&self) -> String {
        match self {
            MaskRule::Builtin(k) => k.as_str().to_string(),
            MaskRule::Sql(e) => format!("sql: {e}"),
        }
    }
}

/// The mask a PII type gets when the policy declares none: `email` for e-mail addresses,
/// `last4` for phone, social security and card numbers, `redact` for every other type.
pub fn default_mask(classification: &str) -> MaskKind {
    match classification.to_lowercase().as_str() {
        "email" => MaskKind::Email,
        "phone" | "ssn" | "credit_card" => MaskKind::Last4,
        _ => MaskKind::Redact,
    }
}

/// One entry of the policy's `masks`, as stored in `meta.policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMaskRule {
    /// The PII type (a column classification).
    pub classification: String,
    /// A built-in mask's name, or `sql`.
    pub mask: String,
    /// The SQL expression over `value`, for `sql`.
    pub expression: Option<String>,
}

impl ColumnMaskRule {
    /// The rule as the read path applies it (an unknown stored name masks to NULL: a newer
    /// lakemeta's mask read by an older one fails closed).
    pub fn rule(&self) -> MaskRule {
        match (&self.expression, MaskKind::parse(&self.mask)) {
            (Some(e), _) if self.mask == "sql" => MaskRule::Sql(e.clone()),
            (_, Some(k)) => MaskRule::Builtin(k),
            _ => MaskRule::Builtin(MaskKind::Null),
        }
    }
}

/// A row filter of the policy: the rows of `product` a principal sees are those for which
/// `predicate` (SQL over the product's columns, `current_user()`, `is_member('team')` and
/// `principal_attribute('key')`) is true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowFilterRule {
    /// The product, `domain.name`.
    pub product: String,
    /// The predicate.
    pub predicate: String,
    /// Whether the owner team and admins are filtered too (by default they see every row).
    pub applies_to_owners: bool,
}

/// Who a grant is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GranteeKind {
    /// One principal.
    User,
    /// Every member of a team.
    Team,
}

impl GranteeKind {
    /// The word stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            GranteeKind::User => "user",
            GranteeKind::Team => "team",
        }
    }
}

/// A grant to read a data product. One row of `meta.grants`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    /// Its identifier (`grant_…`).
    pub grant_id: String,
    /// The product, `domain.product`.
    pub product: String,
    /// The user or team it is for.
    pub grantee: String,
    /// Whether `grantee` is a user or a team.
    pub grantee_kind: GranteeKind,
    /// What it allows: `select` (masked PII) or `select unmasked` (raw values).
    pub privilege: String,
    /// Who granted it.
    pub granted_by: String,
    /// When (microseconds, UTC).
    pub granted_at: i64,
    /// When it ends (microseconds, UTC).
    pub expires_at: i64,
    /// The access request it answers, if any.
    pub request_id: Option<String>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
}

/// The privilege of a grant to read a product with its PII masked.
pub const SELECT: &str = "select";

/// The privilege of a grant to read a product's raw PII values.
pub const SELECT_UNMASKED: &str = "select unmasked";

impl Grant {
    /// True when it lets the grantee read raw PII values.
    pub fn unmasked(&self) -> bool {
        self.privilege == SELECT_UNMASKED
    }

    /// True while it allows reading: not revoked and not expired at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }

    /// `active`, `expired` or `revoked` at `now`.
    pub fn status(&self, now: i64) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at <= now {
            "expired"
        } else {
            "active"
        }
    }
}

/// The state of an access request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    /// Waiting for a decision.
    Pending,
    /// Approved: a grant was made.
    Approved,
    /// Denied, with a reason.
    Denied,
    /// Not decided in time.
    Expired,
}

impl RequestStatus {
    /// The word stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Denied => "denied",
            RequestStatus::Expired => "expired",
        }
    }
}

/// A request to read a sensitive data product. One row of `meta.access_requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessRequest {
    /// Its identifier (`req_…`), which `APPROVE REQUEST` and `DENY REQUEST` name.
    pub request_id: String,
    /// The product, `domain.product`.
    pub product: String,
    /// Who asks.
    pub requester: String,
    /// Why (required).
    pub reason: String,
    /// What is asked: `select`, or `select unmasked` for raw PII values (NULL in rows written
    /// before layout 4: `select`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub privilege: String,
    /// For how many days access is asked (`None`: as long as the approver or policy allows).
    pub days: Option<i64>,
    /// `pending`, `approved`, `denied` or `expired`.
    pub status: RequestStatus,
    /// When it was made (microseconds, UTC).
    pub requested_at: i64,
    /// A pending request lapses at this time (microseconds, UTC).
    pub expires_at: i64,
    /// Who decided it.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<i64>,
    /// Why it was denied.
    pub decision_reason: Option<String>,
    /// The grant an approval made.
    pub grant_id: Option<String>,
}

impl AccessRequest {
    /// The privilege asked for (`select` for rows written before layout 4).
    pub fn privilege(&self) -> &str {
        if self.privilege.is_empty() {
            SELECT
        } else {
            &self.privilege
        }
    }

    /// The status at `now`: a pending request past its time is `expired`.
    pub fn status_at(&self, now: i64) -> RequestStatus {
        match self.status {
            RequestStatus::Pending if self.expires_at <= now => RequestStatus::Expired,
            other => other,
        }
    }
}

/// One audited statement or Flight call. One row of `meta.audit_log`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it ended (microseconds, UTC).
    pub at: i64,
    /// Its identifier.
    pub statement_id: String,
    /// Who ran it (`(unauthenticated)` for a refused handshake without a name).
    pub principal: String,
    /// The client's network address (Flight SQL), `None` for a local session.
    pub client_address: Option<String>,
    /// How it arrived: `local` (CLI, REPL, jobs) or `flight`.
    pub channel: String,
    /// What it was: `query`, `insert`, `create_table_as`, `grant`, `GetTables`, …
    pub kind: String,
    /// The statement's text (`None` for a Flight call without one).
    pub statement: Option<String>,
    /// Data products whose rows it read (`domain.product`).
    pub products_read: Vec<String>,
    /// Their columns it read (`domain.product.column`).
    pub columns_read: Vec<String>,
    /// Data products it wrote or changed.
    pub products_written: Vec<String>,
    /// `allowed` or `denied`.
    pub decision: String,
    /// Why it was allowed (`owner`, `admin`, `grant`, `open`) or denied.
    pub reason: Option<String>,
    /// The grants that allowed it.
    pub grant_ids: Vec<String>,
    /// The version of the access policy it was decided under.
    pub policy_version: i64,
    /// Rows it returned or wrote.
    pub rows: Option<i64>,
    /// Bytes it returned.
    pub bytes: Option<i64>,
    /// How long it took.
    pub duration_ms: i64,
    /// Its error, if it failed.
    pub error: Option<String>,
    /// The masks and row filters its reads went through, and the policy version they came
    /// from (`crm.customers.email: mask email`, `crm.customers: row filter`, `policy v3`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub protections: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Column;

    fn column(classification: &str, tags: &[&str]) -> Column {
        Column {
            name: "c".into(),
            classification: classification.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..Column::default()
        }
    }

    #[test]
    fn a_column_is_pii_by_its_classification_or_a_tag_naming_a_pii_type() {
        let p = Policy::default();
        assert_eq!(p.pii_type_of(&column("email", &[])), Some("email".into()));
        assert_eq!(
            p.pii_type_of(&column("", &["team", "Phone"])),
            Some("phone".into())
        );
        // a classification that is no PII type does not hide a tag that is one
        assert_eq!(
            p.pii_type_of(&column("internal", &["ssn"])),
            Some("ssn".into())
        );
        assert_eq!(p.pii_type_of(&column("internal", &["pii"])), None);
        assert_eq!(
            p.column_mask(&column("", &["credit_card"])),
            Some(("credit_card".into(), MaskRule::Builtin(MaskKind::Last4)))
        );
        assert_eq!(p.column_mask(&column("public", &[])), None);
    }
}
