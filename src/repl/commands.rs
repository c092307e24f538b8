use std::str::FromStr;

use super::format::PrintFormat;
use crate::error::{Error, Result};

/// The REPL's backslash commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `\q`: quit.
    Quit,
    /// `\?`: help.
    Help,
    /// `\dt`: list tables.
    ListTables,
    /// `\d [name]`: describe a table, or list them.
    Describe(Option<String>),
    /// `\timing`: toggle timing.
    Timing,
    /// `\format FMT`: set the output format.
    Format(PrintFormat),
}

/// Help text for `\?`.
pub const HELP: &str = "\
Statements end with ';' and may span lines. Ctrl-C cancels a running query, Ctrl-D exits.
  \\d [name]      describe a table (domain.product, meta.products, ...), or list tables
  \\dt            list all tables (system tables and data products)
  \\timing        toggle printing how long each statement took
  \\format FMT    output format: table, csv, json, ndjson
  \\?             this help
  \\q             quit
lakemeta statements: CREATE DOMAIN, DROP DOMAIN, CREATE DATA PRODUCT, DROP DATA PRODUCT,
SHOW DOMAINS, SHOW PRODUCTS [IN domain], DESCRIBE PRODUCT domain.name — see the README.";

impl FromStr for Command {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim().trim_end_matches(';');
        let (cmd, arg) = match s.split_once(char::is_whitespace) {
            Some((c, a)) => (c, Some(a.trim()).filter(|a| !a.is_empty())),
            None => (s, None),
        };
        match (cmd, arg) {
            ("\\q", None) | ("\\quit", None) => Ok(Command::Quit),
            ("\\?", None) | ("\\h", None) | ("\\help", None) => Ok(Command::Help),
            ("\\dt", None) => Ok(Command::ListTables),
            ("\\d", a) => Ok(Command::Describe(a.map(str::to_string))),
            ("\\timing", None) => Ok(Command::Timing),
            ("\\format", Some(f)) => Ok(Command::Format(f.parse()?)),
            ("\\format", None) => Err(Error::invalid(
                "\\format needs a format: table, csv, json or ndjson",
            )),
            _ => Err(Error::invalid(format!(
                "unknown command '{s}'; type \\? for the list"
            ))),
        }
    }
}

impl Command {
    /// The SQL a listing command runs, if it is one.
    pub fn to_sql(&self) -> Option<String> {
        match self {
            Command::ListTables | Command::Describe(None) => Some(
                "SELECT table_schema AS schema, table_name AS name, table_type AS type FROM \
                 information_schema.tables WHERE table_schema <> 'information_schema' ORDER BY \
                 table_schema, table_name"
                    .into(),
            ),
            Command::Describe(Some(name)) => {
                let (schema, table) = name.split_once('.').unwrap_or(("meta", name.as_str()));
                let esc = |s: &str| s.replace('\'', "''");
                Some(format!(
                    "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
                     WHERE table_schema = '{}' AND table_name = '{}' ORDER BY ordinal_position",
                    esc(schema),
                    esc(table)
                ))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!("\\q".parse::<Command>().unwrap(), Command::Quit);
        assert_eq!(
            "\\d orders.orders_fact".parse::<Command>().unwrap(),
            Command::Describe(Some("orders.orders_fact".into()))
        );
        assert_eq!(
            "\\format csv".parse::<Command>().unwrap(),
            Command::Format(PrintFormat::Csv)
        );
        assert!("\\format xml".parse::<Command>().is_err());
        assert!("\\x".parse::<Command>().is_err());
    }
}
