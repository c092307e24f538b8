//! Who runs a session's statements, how they reach lakemeta, and what the current statement has
//! read and written: the access gate records into it, the audit log reads it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use url::Url;

use super::state::{Governance, Protection, ReadAccess};
use crate::error::{Error, Result};
use crate::model::Principal;
use crate::storage::url_within as within;

/// How a session's statements arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// The CLI, the REPL and jobs: a person or scheduler on the machine that holds the files.
    Local,
    /// A Flight SQL client over the network.
    Flight {
        /// The client's address, when known.
        client: Option<String>,
        /// Where `LOCATION`s may point (the server's `--allow-location` prefixes).
        allowed_locations: Vec<Url>,
    },
}

impl Channel {
    /// `local` or `flight`, as the audit log records it.
    pub fn name(&self) -> &'static str {
        match self {
            Channel::Local => "local",
            Channel::Flight { .. } => "flight",
        }
    }

    /// The client's address, for the audit log.
    pub fn client(&self) -> Option<String> {
        match self {
            Channel::Local => None,
            Channel::Flight { client, .. } => client.clone(),
        }
    }
}

/// What one statement read, wrote and was allowed by.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    /// Products whose rows were read.
    pub products_read: BTreeSet<String>,
    /// Their columns (`domain.product.column`).
    pub columns_read: BTreeSet<String>,
    /// Products written or changed.
    pub products_written: BTreeSet<String>,
    /// Grants that allowed a read.
    pub grant_ids: BTreeSet<String>,
    /// Why reads were allowed (`owner`, `admin`, `grant`, `open`, `masked`).
    pub reasons: BTreeSet<&'static str>,
    /// The masks and row filters applied, and the policy version they came from
    /// (`crm.customers.email: mask email`, `crm.customers: row filter`, `policy v3`).
    pub protections: BTreeSet<String>,
    /// The PII-classified columns of the products read (lowercase names): literals compared
    /// with them are redacted from the statement text the audit log keeps.
    pub classified: BTreeSet<String>,
}

/// The principal of a session and the record of its current statement.
#[derive(Debug)]
pub struct Caller {
    principal: Principal,
    channel: Channel,
    governance: RwLock<Arc<Governance>>,
    ledger: Mutex<Ledger>,
}

impl Caller {
    /// A caller for `principal`, arriving through `channel`.
    pub fn new(principal: Principal, channel: Channel) -> Self {
        Self {
            principal,
            channel,
            governance: RwLock::new(Arc::new(Governance::default())),
            ledger: Mutex::new(Ledger::default()),
        }
    }

    /// Who runs the statements.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// How they arrive.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Starts a statement under `governance`: the rules it is decided by (one version for the
    /// whole statement) and an empty ledger.
    pub fn begin(&self, governance: Arc<Governance>) {
        match self.governance.write() {
            Ok(mut g) => *g = governance,
            Err(poisoned) => *poisoned.into_inner() = governance,
        }
        *self.ledger() = Ledger::default();
    }

    /// The governance the current statement is decided by.
    pub fn governance(&self) -> Arc<Governance> {
        match self.governance.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// True when the principal belongs to `team` (under the current statement's rules).
    pub fn is_member(&self, team: &str) -> bool {
        self.governance().is_member(&self.principal.name, team)
    }

    /// The principal's attribute `key` in the Teams spec (`region`), if set.
    pub fn attribute(&self, key: &str) -> Option<String> {
        self.governance()
            .attribute(&self.principal.name, key)
            .map(String::from)
    }

    /// Records that the statement read `columns` of `product`, allowed by `access`, through
    /// `protection`.
    pub fn record_read(
        &self,
        product: &str,
        columns: &[String],
        access: &ReadAccess,
        protection: &Protection,
    ) {
        let mut l = self.ledger();
        l.classified.extend(protection.classified.iter().cloned());
        if !protection.is_none() {
            for m in &protection.masks {
                if columns.contains(&m.column) {
                    l.protections.insert(format!(
                        "{product}.{}: mask {}",
                        m.column,
                        m.rule.kind_name()
                    ));
                }
            }
            if protection.row_filter.is_some() {
                l.protections.insert(format!("{product}: row filter"));
            }
            l.protections
                .insert(format!("policy v{}", protection.policy_version));
        }
        l.products_read.insert(product.to_string());
        l.columns_read
            .extend(columns.iter().map(|c| format!("{product}.{c}")));
        l.reasons.insert(access.reason());
        if let ReadAccess::Granted { grant_id, .. } = access {
            l.grant_ids.insert(grant_id.clone());
        }
    }

    /// Records that the statement writes or changes `product`.
    pub fn record_write(&self, product: &str) {
        self.ledger().products_written.insert(product.to_string());
    }

    /// Fails for a Flight SQL client naming a location outside the server's allowed roots
    /// (a local caller has the machine's files anyway).
    pub fn check_location(&self, url: &Url) -> Result<()> {
        let Channel::Flight {
            allowed_locations, ..
        } = &self.channel
        else {
            return Ok(());
        };
        if allowed_locations.iter().any(|root| within(url, root)) {
            return Ok(());
        }
        let roots: Vec<&str> = allowed_locations.iter().map(Url::as_str).collect();
        Err(Error::PermissionDenied(format!(
            "LOCATION '{url}' is outside the locations this server lets clients name ({}); \
             whoever runs the server can allow more with lakemeta serve --allow-location PREFIX \
             (LAKEMETA_ALLOW_LOCATION)",
            roots.join(", ")
        )))
    }

    /// What the statement has read and written so far.
    pub fn ledger_snapshot(&self) -> Ledger {
        self.ledger().clone()
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        match self.ledger.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flight_caller_names_allowed_locations_only() {
        let root = Url::parse("file:///data/lake/").unwrap();
        let caller = Caller::new(
            Principal::new("bob"),
            Channel::Flight {
                client: None,
                allowed_locations: vec![root.clone()],
            },
        );
        let e = caller
            .check_location(&Url::parse("file:///etc/passwd").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--allow-location"), "{e}");
        let local = Caller::new(Principal::new("bob"), Channel::Local);
        assert!(
            local
                .check_location(&Url::parse("file:///etc/passwd").unwrap())
                .is_ok()
        );
    }
}
