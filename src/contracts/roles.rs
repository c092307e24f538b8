//! Who approves access to a product, from its ODCS v3 contract's `roles`: each role's
//! `firstLevelApprovers` — a name, a comma-separated list or a YAML list of users or teams.

use serde_norway::Value;

/// The first-level approvers a contract's `roles` name (users or teams), without repeats; none
/// when the contract has no roles or does not parse.
pub fn approvers(contract_spec: &str) -> Vec<String> {
    let Ok(doc) = serde_norway::from_str::<Value>(contract_spec) else {
        return Vec::new();
    };
    let Some(roles) = doc.get("roles").and_then(Value::as_sequence) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for role in roles {
        let names: Vec<String> = match role.get("firstLevelApprovers") {
            Some(Value::String(s)) => s.split(',').map(|n| n.trim().to_string()).collect(),
            Some(Value::Sequence(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(|n| n.trim().to_string())
                .collect(),
            _ => Vec::new(),
        };
        for n in names {
            if !n.is_empty() && !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::approvers;

    #[test]
    fn approvers_come_from_every_role() {
        let spec = "roles:\n  - role: analyst_read\n    access: read\n    firstLevelApprovers: \
                    growth-team, erin\n  - role: ops\n    firstLevelApprovers: [frank, erin]\n";
        assert_eq!(approvers(spec), vec!["growth-team", "erin", "frank"]);
        assert!(approvers("kind: DataContract\n").is_empty());
        assert!(approvers(": not yaml :").is_empty());
    }
}
