use std::path::Path;

use serde_norway::Value;

use super::domain_spec::DomainSpec;
use super::odcs::ProductSpec;
use super::odps::OdpsSpec;
use super::policy_spec::PolicySpec;
use super::positions::{Positions, pointer_of};
use super::teams_spec::TeamsSpec;
use crate::error::{Error, Result, SpecProblem};

/// Where a spec came from: its file and text, for error messages with line numbers.
#[derive(Debug, Clone)]
pub struct SpecSource {
    /// File name as given.
    pub file: String,
    /// The file's text.
    pub text: String,
}

impl SpecSource {
    /// An error at `field`, located at the line where the field (or else its last path
    /// segment) is written.
    pub fn error(&self, field: &str, message: impl Into<String>) -> Error {
        Error::Spec {
            file: self.file.clone(),
            line: self.line_of(field),
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// Best-effort line of a field path like `schema[0].properties[2].logicalType`: the line of
    /// the n-th occurrence of each segment, walked in order.
    pub fn line_of(&self, field: &str) -> usize {
        let lines: Vec<&str> = self.text.lines().collect();
        let mut from = 0usize;
        let mut found = 1usize;
        for seg in field.split('.') {
            let (key, index) = match seg.split_once('[') {
                Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
                None => (seg, None),
            };
            let Some(pos) = (from..lines.len()).find(|&i| is_key_line(lines[i], key)) else {
                break;
            };
            found = pos + 1;
            from = pos + 1;
            if let Some(n) = index {
                // the n-th list item after the key, at the indentation of the first item
                let mut count = 0;
                let mut indent = None;
                for (i, line) in lines.iter().enumerate().skip(pos + 1) {
                    let t = line.trim_start();
                    let ind = line.len() - t.len();
                    if !(t.starts_with("- ") || t == "-") {
                        continue;
                    }
                    let item_indent = *indent.get_or_insert(ind);
                    if ind < item_indent {
                        break;
                    }
                    if ind == item_indent {
                        if count == n {
                            found = i + 1;
                            from = i;
                            break;
                        }
                        count += 1;
                    }
                }
            }
        }
        found
    }
}

fn is_key_line(line: &str, key: &str) -> bool {
    let t = line.trim_start().trim_start_matches("- ").trim_start();
    t.strip_prefix(key)
        .is_some_and(|rest| rest.starts_with(':'))
}

/// One parsed spec.
#[derive(Debug, Clone)]
pub enum Spec {
    /// A domain.
    Domain(DomainSpec, SpecSource),
    /// A data product's contract.
    Product(Box<ProductSpec>, SpecSource),
    /// The teams.
    Teams(TeamsSpec, SpecSource),
    /// The access policy.
    Policy(PolicySpec, SpecSource),
    /// An Open Data Product Standard data product: ports over contracts.
    DataProduct(Box<OdpsSpec>, SpecSource),
}

impl Spec {
    /// What lakemeta read differently from how the spec says it (contracts and ODPS data
    /// products have notes; the other specs none).
    pub fn notes(&self) -> &[String] {
        match self {
            Spec::Product(p, _) => &p.notes,
            Spec::DataProduct(p, _) => &p.notes,
            Spec::Domain(..) | Spec::Teams(..) | Spec::Policy(..) => &[],
        }
    }

    /// The file it came from.
    pub fn source(&self) -> &SpecSource {
        match self {
            Spec::Domain(_, s)
            | Spec::Product(_, s)
            | Spec::Teams(_, s)
            | Spec::Policy(_, s)
            | Spec::DataProduct(_, s) => s,
        }
    }
}

/// Parses one spec file's text: a `kind: Domain`, `Teams` or `Policy` spec, an ODPS
/// `kind: DataProduct`, or an ODCS `kind: DataContract` — one spec per table it describes.
pub fn parse_spec(source: SpecSource) -> Result<Vec<Spec>> {
    check_nesting(&source)?;
    parse_checked(source)
}

/// [`parse_spec`] of a source [`check_nesting`] has passed.
pub(crate) fn parse_checked(source: SpecSource) -> Result<Vec<Spec>> {
    let value: Value = serde_norway::from_str(&source.text).map_err(|e| yaml_error(&source, &e))?;
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            source.error(
                "kind",
                "missing 'kind': write 'kind: DataContract' (an ODCS v3 contract), \
                 'kind: DataProduct' (ODPS), 'kind: Domain', 'kind: Teams' or 'kind: Policy'",
            )
        })?
        .to_string();
    match kind.as_str() {
        "Domain" => Ok(vec![Spec::Domain(DomainSpec::parse(&source)?, source)]),
        "Teams" => Ok(vec![Spec::Teams(TeamsSpec::parse(&source)?, source)]),
        "Policy" => Ok(vec![Spec::Policy(PolicySpec::parse(&source)?, source)]),
        "DataProduct" => Ok(vec![Spec::DataProduct(
            Box::new(OdpsSpec::parse(&source)?),
            source,
        )]),
        "DataContract" => Ok(ProductSpec::parse(&source)?
            .into_iter()
            .map(|p| Spec::Product(Box::new(p), source.clone()))
            .collect()),
        other => Err(source.error(
            "kind",
            format!(
                "unknown kind '{other}': use DataContract (ODCS v3), DataProduct (ODPS), Domain, \
                 Teams or Policy"
            ),
        )),
    }
}

/// Gives the contracts that name no domain the domain of the ODPS data product (applied with
/// them) whose output port they are, else the domain `--domain` names; and those that name no
/// owner team the data product's team, else the team `--owner` names (without either, the plan
/// takes the domain's owner). A contract that names another domain than its data product keeps
/// its own, with a note.
pub fn fill_defaults(specs: &mut [Spec], domain: Option<&str>, owner: Option<&str>) -> Result<()> {
    if let Some(d) = domain {
        crate::model::validate_name("domain", d)
            .map_err(|m| Error::invalid(format!("--domain: {m}")))?;
    }
    // the data products' domains and teams, by the contract ids of their output ports
    let mut ports: std::collections::BTreeMap<String, (String, String, String)> =
        std::collections::BTreeMap::new();
    for spec in specs.iter_mut() {
        let Spec::DataProduct(p, src) = spec else {
            continue;
        };
        if !p.domain.is_empty() {
            let mut notes = Vec::new();
            p.domain = super::odcs::sql_name("domain", &p.domain, &mut notes)
                .map_err(|m| src.error("domain", m))?;
            p.notes.append(&mut notes);
        } else if let Some(d) = domain {
            p.domain = d.to_string();
        }
        for port in &p.output_ports {
            if let Some(id) = &port.contract_id {
                ports
                    .entry(id.clone())
                    .or_insert_with(|| (p.id.clone(), p.domain.clone(), p.team.clone()));
            }
        }
    }
    for spec in specs.iter_mut() {
        let Spec::Product(p, _) = spec else { continue };
        let of = ports.get(&p.product.contract_id);
        if let Some((id, d, _)) = of
            && !d.is_empty()
        {
            if p.product.domain.is_empty() {
                p.product.domain = d.clone();
                p.notes.push(format!(
                    "domain {d} from data product {id}, whose output port the contract is (the \
                     contract names no domain)"
                ));
            } else if p.product.domain != *d {
                p.notes.push(format!(
                    "the contract names domain {}, its data product {id} domain {d}: the \
                     contract's is used",
                    p.product.domain
                ));
            }
        }
        if let Some(d) = domain
            && p.product.domain.is_empty()
        {
            p.product.domain = d.to_string();
            p.notes.push(format!(
                "domain {d} from --domain (the contract names no domain)"
            ));
        }
        if let Some((id, _, team)) = of
            && !team.is_empty()
            && p.product.owner.is_empty()
        {
            p.product.owner = team.clone();
            p.notes.push(format!(
                "owner team {team} from data product {id}, whose output port the contract is \
                 (the contract names no team)"
            ));
        }
        if let Some(o) = owner {
            p.owner_flag = Some(o.to_string());
            if p.product.owner.is_empty() {
                p.product.owner = o.to_string();
                p.notes.push(format!(
                    "owner team {o} from --owner (the contract names no team)"
                ));
            }
        }
    }
    Ok(())
}

/// A parse error as problems with their positions.
pub(crate) fn problems_of(source: &SpecSource, e: Error) -> Vec<SpecProblem> {
    match e {
        Error::SpecProblems { problems, .. } => problems,
        Error::Spec {
            line,
            field,
            message,
            ..
        } => {
            // the column of the field when it is written on the line the error names
            let at = Positions::of(&source.text).at(&pointer_of(&field));
            let column = if at.line == line { at.column } else { 1 };
            vec![SpecProblem {
                line,
                column,
                field,
                rule: "lakemeta".into(),
                message,
            }]
        }
        other => vec![SpecProblem {
            line: 1,
            column: 1,
            field: "(document)".into(),
            rule: "lakemeta".into(),
            message: other.to_string(),
        }],
    }
}

/// The problems a reader found in one spec, kept so that it reports every one and not only
/// the first: each part it cannot read is kept here and skipped, and the reader goes on.
pub(crate) struct Problems<'a> {
    source: &'a SpecSource,
    found: Vec<Error>,
}

impl<'a> Problems<'a> {
    /// None found yet in `source`.
    pub(crate) fn new(source: &'a SpecSource) -> Self {
        Self {
            source,
            found: Vec::new(),
        }
    }

    /// `result`'s value, or `None` with its error kept.
    pub(crate) fn keep<T>(&mut self, result: Result<T>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.found.push(e);
                None
            }
        }
    }

    /// Keeps `error`.
    pub(crate) fn push(&mut self, error: Error) {
        self.found.push(error);
    }

    /// Ok when nothing was found; one problem as it was raised; several as one
    /// [`Error::SpecProblems`], in the order they are written in the file.
    pub(crate) fn finish(mut self) -> Result<()> {
        if self.found.len() <= 1 {
            return self.found.pop().map_or(Ok(()), Err);
        }
        let mut problems: Vec<SpecProblem> = self
            .found
            .into_iter()
            .flat_map(|e| problems_of(self.source, e))
            .collect();
        problems.sort_by_key(|p| (p.line, p.column));
        // a contract-wide problem is found once per table of a contract with several
        problems.dedup_by(|a, b| (a.line, a.column, &a.message) == (b.line, b.column, &b.message));
        Err(Error::SpecProblems {
            file: self.source.file.clone(),
            problems,
        })
    }
}

/// A serde_norway error as a spec error with the line it reports.
/// How deep collections may nest in a spec file; the deepest real contract nests about ten.
pub const MAX_NESTING: usize = 64;

/// Refuses a file that is not YAML, or whose collections nest deeper than [`MAX_NESTING`],
/// before any reader that recurses (or, as libyaml's loader does, takes time that grows with
/// the square of the depth) sees it: a streaming parser reads the events one at a time.
pub fn check_nesting(source: &SpecSource) -> Result<()> {
    use saphyr_parser::{Event, Parser};
    let mut depth = 0usize;
    for item in Parser::new_from_str(&source.text) {
        let (event, span) = item.map_err(|e| Error::Spec {
            file: source.file.clone(),
            line: e.marker().line(),
            field: "(document)".into(),
            message: format!(
                "{} at column {}: the file is not valid YAML",
                e.info(),
                e.marker().col() + 1
            ),
        })?;
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(Error::Spec {
                        file: source.file.clone(),
                        line: span.start.line(),
                        field: "(document)".into(),
                        message: format!(
                            "lists and mappings nest more than {MAX_NESTING} levels deep here: \
                             no spec needs that many; flatten the document"
                        ),
                    });
                }
            }
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn yaml_error(source: &SpecSource, e: &serde_norway::Error) -> Error {
    let line = e.location().map(|l| l.line()).unwrap_or(1);
    let msg = e.to_string();
    let (field, message) = match msg.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => (path.to_string(), rest.to_string()),
        _ => ("(document)".to_string(), msg.clone()),
    };
    let message = match message.rsplit_once(" at line ") {
        Some((m, _)) => m.to_string(),
        None => message,
    };
    Error::Spec {
        file: source.file.clone(),
        line,
        field,
        message,
    }
}

/// Reads the specs at `path`: one `.yaml`/`.yml` file, or every such file under a directory
/// (recursively, in name order). Every file is read: when several are invalid, the error names each one's problems.
pub fn load_path(path: &Path) -> Result<Vec<Spec>> {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for source in read_sources(path)? {
        match parse_spec(source) {
            Ok(found) => specs.extend(found),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(specs),
        1 => Err(errors.remove(0)),
        _ => Err(Error::SpecFiles { errors }),
    }
}

/// The texts of the spec files at `path`: the file itself (whatever its extension), or every
/// `.yaml`/`.yml` file under a directory (recursively, in name order).
pub fn read_sources(path: &Path) -> Result<Vec<SpecSource>> {
    let mut files = Vec::new();
    collect(path, &mut files)?;
    if files.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no .yaml or .yml spec files found",
            path.display()
        )));
    }
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).map_err(|e| Error::Io {
                path: f.display().to_string(),
                source: e,
            })?;
            Ok(SpecSource {
                file: f.display().to_string(),
                text,
            })
        })
        .collect()
}

fn collect(path: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let p = entry.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
    Ok(())
}
