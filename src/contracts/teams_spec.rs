//! lakemeta's `Teams` spec: the teams, their members and which team holds the platform admins.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::source::{SpecSource, yaml_error};
use crate::error::Result;
use crate::model::{Member, Team};

/// The teams of the platform, as code:
///
/// ```yaml
/// apiVersion: lakemeta/v1
/// kind: Teams
/// admins: platform-admins        # the team that holds the platform admins
/// teams:
///   - name: orders-team
///     description: Orders, payments and carts
///     members: [alice]
///   - name: growth-team
///     members:
///       - name: carol
///         attributes: {region: eu}
///   - name: platform-admins
///     members: [admin]
/// ```
///
/// The spec lists every team: applying it again with a team left out removes that team.
#[derive(Debug, Clone)]
pub struct TeamsSpec {
    /// The teams, in the order written (the admin team flagged).
    pub teams: Vec<Team>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Raw {
    api_version: String,
    #[allow(dead_code)] // checked by the dispatcher
    kind: String,
    admins: String,
    teams: Vec<RawTeam>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    members: Vec<RawMember>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawMember {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        attributes: BTreeMap<String, serde_norway::Value>,
    },
}

impl TeamsSpec {
    /// Parses and validates a Teams spec: unique team names that are plain identifiers, member
    /// names without spaces, attribute values that are scalars, and an admin team that is
    /// declared and has members.
    pub fn parse(source: &SpecSource) -> Result<Self> {
        let raw: Raw = serde_norway::from_str(&source.text).map_err(|e| yaml_error(source, &e))?;
        if raw.api_version != "lakemeta/v1" {
            return Err(source.error(
                "apiVersion",
                format!(
                    "unsupported apiVersion '{}': use lakemeta/v1",
                    raw.api_version
                ),
            ));
        }
        if raw.teams.is_empty() {
            return Err(source.error(
                "teams",
                "a Teams spec lists at least the admin team: add it under teams",
            ));
        }
        let mut seen = BTreeSet::new();
        let mut teams = Vec::new();
        for (i, t) in raw.teams.into_iter().enumerate() {
            let at = format!("teams[{i}].name");
            if !is_team_name(&t.name) {
                return Err(source.error(
                    &at,
                    format!(
                        "invalid team name '{}': use lowercase letters, digits, '-' and '_', \
                         starting with a letter (at most 63 characters)",
                        t.name
                    ),
                ));
            }
            if !seen.insert(t.name.clone()) {
                return Err(source.error(&at, format!("team '{}' is declared twice", t.name)));
            }
            let mut members: Vec<Member> = Vec::new();
            for (j, m) in t.members.into_iter().enumerate() {
                let at = format!("teams[{i}].members[{j}]");
                let (name, attributes) = match m {
                    RawMember::Name(n) => (n, BTreeMap::new()),
                    RawMember::Full { name, attributes } => (name, attributes),
                };
                if name.is_empty() || name.chars().any(char::is_whitespace) {
                    return Err(source.error(
                        &at,
                        format!(
                            "invalid member name '{name}': a principal name, as users log in \
                             (no spaces)"
                        ),
                    ));
                }
                if members.iter().any(|k| k.name == name) {
                    return Err(
                        source.error(&at, format!("'{name}' is listed twice in team {}", t.name))
                    );
                }
                let mut attrs = BTreeMap::new();
                for (k, v) in attributes {
                    let value = match v {
                        serde_norway::Value::String(s) => s,
                        serde_norway::Value::Number(n) => n.to_string(),
                        serde_norway::Value::Bool(b) => b.to_string(),
                        _ => {
                            return Err(source.error(
                                &format!("{at}.attributes"),
                                format!(
                                    "attribute '{k}' of {name} must be a text, a number or \
                                     true/false"
                                ),
                            ));
                        }
                    };
                    attrs.insert(k, value);
                }
                members.push(Member {
                    name,
                    attributes: attrs,
                });
            }
            teams.push(Team {
                admin: t.name == raw.admins,
                name: t.name,
                description: t.description,
                members,
                created_at: 0,
                updated_at: 0,
                updated_by: String::new(),
            });
        }
        match teams.iter().find(|t| t.admin) {
            None => Err(source.error(
                "admins",
                format!(
                    "the admin team '{}' is not among the teams ({}): declare it under teams",
                    raw.admins,
                    seen.into_iter().collect::<Vec<_>>().join(", ")
                ),
            )),
            Some(t) if t.members.is_empty() => Err(source.error(
                "admins",
                format!(
                    "the admin team '{}' has no members: without an admin, nobody could change \
                     the teams again",
                    t.name
                ),
            )),
            Some(_) => Ok(Self { teams }),
        }
    }
}

/// A team name: lowercase letters, digits, `-` and `_`, starting with a letter.
pub fn is_team_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TeamsSpec> {
        TeamsSpec::parse(&SpecSource {
            file: "teams.yaml".into(),
            text: text.into(),
        })
    }

    #[test]
    fn members_are_names_or_names_with_attributes() {
        let spec = parse(
            "apiVersion: lakemeta/v1\nkind: Teams\nadmins: platform\nteams:\n  - name: \
             growth-team\n    members:\n      - carol\n      - name: erin\n        attributes: \
             {region: eu, level: 3}\n  - name: platform\n    members: [admin]\n",
        )
        .unwrap();
        assert_eq!(spec.teams.len(), 2);
        assert!(spec.teams[1].admin && !spec.teams[0].admin);
        assert_eq!(spec.teams[0].members[1].attributes["region"], "eu");
        assert_eq!(spec.teams[0].members[1].attributes["level"], "3");
    }

    #[test]
    fn errors_name_the_line_and_the_fix() {
        let e = parse(
            "apiVersion: lakemeta/v1\nkind: Teams\nadmins: platform\nteams:\n  - name: a\n    \
             members: [x]\n  - name: a\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "teams.yaml:7: teams[1].name: team 'a' is declared twice");
        let e = parse("apiVersion: lakemeta/v1\nkind: Teams\nadmins: ops\nteams:\n  - name: a\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("teams.yaml:3: admins: the admin team 'ops' is not among"),
            "{e}"
        );
        let e = parse(
            "apiVersion: lakemeta/v1\nkind: Teams\nadmins: a\nteams:\n  - name: a\n    \
             members: [x]\n    lead: y\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field `lead`"), "{e}");
    }
}
