use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use clap::{Args, Subcommand};

use crate::catalog::ContractRow;
use crate::contracts::{
    ContractChange, ProductSpec, Spec, SpecSource, check_version_bump, diff_products,
    export_contract, parse_spec, read_sources,
};
use crate::error::{Error, Result};
use crate::model::{DataProduct, ProductName};
use crate::repl::PrintFormat;
use crate::sql::{Output, Session};

/// Arguments of `lakemeta contract`.
#[derive(Debug, Args)]
pub struct ContractArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ContractCommand,
}

/// `lakemeta contract` subcommands.
#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Compare two recorded versions of a product's contract, or of a contract by its id (every
    /// table it describes; default: the current version with the one before), or a contract
    /// file with the version in the warehouse.
    Diff {
        /// A product (domain.product), a contract's id, or an ODCS contract file.
        target: String,
        /// The older version (default: the one before the newer).
        from: Option<String>,
        /// The newer version (default: the current one).
        to: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PrintFormat::Table)]
        format: PrintFormat,
    },
    /// Check contracts, ODPS data products and specs without a warehouse: the standard's schema
    /// for each file's apiVersion (ODCS or ODPS), then lakemeta's own rules. Every problem is
    /// printed as file:line:column; exit 1 when any file has one.
    Lint {
        /// Spec files, or directories of `.yaml`/`.yml` files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Write a contract (to stdout, or a file with -o): the one applied, with every field as
    /// written, or for a product registered without one, ODCS v3.1.0 written from what lakemeta
    /// knows.
    Export {
        /// The product (domain.product), or the contract's id.
        target: String,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// `lakemeta contract lint PATH…`: every problem of every file on stdout, notes and a summary
/// on stderr; `ChecksFailed` (exit 1) when any file has a problem.
pub(super) fn lint(paths: &[PathBuf]) -> Result<super::Exit> {
    let mut files = 0usize;
    let mut invalid = 0usize;
    let mut problems = 0usize;
    let mut out = String::new();
    let mut sources = Vec::new();
    for path in paths {
        sources.extend(read_sources(path)?);
    }
    // files are judged apart, on every core; reported in name order
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = sources.len().div_ceil(threads).max(1);
    let reports: Vec<crate::contracts::LintReport> = std::thread::scope(|scope| {
        let workers: Vec<_> = sources
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(crate::contracts::lint)
                        .collect::<Vec<crate::contracts::LintReport>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect::<Vec<_>>()
    });
    for (source, report) in sources.iter().zip(reports) {
        files += 1;
        for n in &report.notes {
            eprintln!("note: {}: {n}", source.file);
        }
        if !report.problems.is_empty() {
            invalid += 1;
            problems += report.problems.len();
        }
        for p in &report.problems {
            out.push_str(&p.display(&source.file));
            out.push('\n');
        }
    }
    super::write_text(None, &out)?;
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    eprintln!(
        "{} checked: {}",
        plural(files, "file"),
        if invalid == 0 {
            "all valid".to_string()
        } else {
            format!(
                "{} in {}",
                plural(problems, "problem"),
                plural(invalid, "file")
            )
        }
    );
    Ok(if invalid == 0 {
        super::Exit::Success
    } else {
        super::Exit::ChecksFailed
    })
}

/// `lakemeta contract …`.
pub(super) async fn run(session: &Session, args: ContractArgs) -> Result<super::Exit> {
    session.catalog().refresh().await?;
    match args.command {
        ContractCommand::Diff {
            target,
            from,
            to,
            format,
        } => {
            let out = if Path::new(&target).is_file() {
                if from.is_some() || to.is_some() {
                    return Err(Error::invalid(
                        "a contract file is compared with the version in the warehouse; give \
                         versions only with a product name",
                    ));
                }
                diff_file(session, Path::new(&target))?
            } else if let Some(name) = product_named(session, &target) {
                diff_versions(session, &name, from.as_deref(), to.as_deref()).await?
            } else if session
                .catalog()
                .state()
                .products
                .values()
                .any(|p| p.contract_id == target)
            {
                diff_contract(session, &target, from.as_deref(), to.as_deref()).await?
            } else {
                let hint = match target.parse::<ProductName>() {
                    Ok(_) => {
                        "it is neither a data product nor the id of an applied contract".to_string()
                    }
                    Err(m) => format!("{m}; nor is it a file or the id of an applied contract"),
                };
                return Err(Error::UnknownProduct {
                    name: target,
                    hint: format!(
                        "{hint}: give a product (domain.product), a contract id or a contract \
                         file; SELECT domain, name, contract_id FROM meta.products lists them"
                    ),
                });
            };
            super::print(format, &out)?;
        }
        ContractCommand::Lint { paths } => return lint(&paths),
        ContractCommand::Export { target, output } => {
            let state = session.catalog().state();
            let p = exported(&state, &target)?;
            let yaml = export_contract(p)?;
            super::write_text(output.as_deref(), &yaml)?;
        }
    }
    Ok(super::Exit::Success)
}

/// The product `target` names: `domain.product`, else the one whose contract has that id.
fn exported<'a>(state: &'a crate::catalog::CatalogState, target: &str) -> Result<&'a DataProduct> {
    if let Ok(name) = target.parse::<ProductName>()
        && let Ok(p) = state.product(&name)
    {
        return Ok(p);
    }
    let mut by_id = state.products.values().filter(|p| p.contract_id == target);
    match by_id.next() {
        Some(p) => Ok(p),
        None => Err(Error::UnknownProduct {
            name: target.to_string(),
            hint: "it is neither a data product (domain.product) nor the id of an applied \
                   contract; SELECT domain, name, contract_id FROM meta.products lists them"
                .into(),
        }),
    }
}

fn diff_file(session: &Session, path: &Path) -> Result<Output> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let source = SpecSource {
        file: path.display().to_string(),
        text,
    };
    let state = session.catalog().state();
    let mut pairs = Vec::new();
    for spec in parse_spec(source)? {
        let Spec::Product(spec, _) = spec else {
            return Err(Error::invalid(format!(
                "{} is a {} spec, not a data contract",
                path.display(),
                spec_kind(&spec)
            )));
        };
        let name = spec.product.qualified_name();
        let before = state.product(&name)?;
        if before.contract_spec.is_empty() {
            return Err(Error::invalid(format!(
                "data product {name} has no contract in the warehouse to compare with; lakemeta \
                 apply {} records this one",
                path.display()
            )));
        }
        let after = located(session, &spec, before)?;
        pairs.push((before.clone(), after));
    }
    Ok(report(&pairs))
}

fn spec_kind(spec: &Spec) -> &'static str {
    match spec {
        Spec::Domain(..) => "Domain",
        Spec::Teams(..) => "Teams",
        Spec::Policy(..) => "Policy",
        Spec::DataProduct(..) => "DataProduct (ODPS)",
        Spec::Product(..) => "DataContract",
    }
}

async fn diff_versions(
    session: &Session,
    name: &ProductName,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Output> {
    let state = session.catalog().state();
    let current = state.product(name)?;
    let history = session.catalog().contract_history(name).await?;
    let (from_i, to_i) = pick_versions(&format!("data product {name}"), &history, from, to)?;
    let before = parse_row(session, &history[from_i], current)?;
    let after = parse_row(session, &history[to_i], current)?;
    Ok(report(&[(before, after)]))
}

/// The product `target` names, when it is one the warehouse holds.
fn product_named(session: &Session, target: &str) -> Option<ProductName> {
    let name: ProductName = target.parse().ok()?;
    session
        .catalog()
        .state()
        .products
        .contains_key(&name)
        .then_some(name)
}

/// Two recorded versions of a contract, by its id: every table it describes, paired by name.
async fn diff_contract(
    session: &Session,
    id: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Output> {
    let history = session.catalog().contract_history_by_id(id).await?;
    let subject = format!("contract {id}");
    let (from_i, to_i) = pick_versions(&subject, &history, from, to)?;
    let state = session.catalog().state();
    let tables = |row: &ContractRow| -> Result<Vec<DataProduct>> {
        let source = SpecSource {
            file: format!("meta.contracts {id}@{}", row.version),
            text: row.spec.clone(),
        };
        let mut out = Vec::new();
        for spec in parse_spec(source)? {
            let Spec::Product(spec, _) = spec else {
                continue;
            };
            if spec.metadata_only {
                // a contract without tables: it is the contract metadata of its products
                for p in state.products.values().filter(|p| p.contract_id == id) {
                    out.push(located(session, &spec, p)?);
                }
                continue;
            }
            let name = spec.product.qualified_name();
            out.push(match state.products.get(&name) {
                Some(current) => located(session, &spec, current)?,
                None => spec.product.clone(),
            });
        }
        Ok(out)
    };
    let before = tables(&history[from_i])?;
    let after = tables(&history[to_i])?;
    let mut pairs = Vec::new();
    let mut extra = Vec::new();
    for a in &after {
        match before
            .iter()
            .find(|b| b.qualified_name() == a.qualified_name())
        {
            Some(b) => pairs.push((b.clone(), a.clone())),
            None => extra.push(ContractChange {
                breaking: false,
                what: format!("table {} added", a.qualified_name()),
            }),
        }
    }
    for b in &before {
        if !after
            .iter()
            .any(|a| a.qualified_name() == b.qualified_name())
        {
            extra.push(ContractChange {
                breaking: true,
                what: format!("table {} removed (consumers read it)", b.qualified_name()),
            });
        }
    }
    let versions = (
        history[from_i].version.as_str(),
        history[to_i].version.as_str(),
    );
    Ok(report_of(&pairs, extra, Some((subject, versions))))
}

/// The positions in `history` of the versions `from` and `to` (default: the newest and the one
/// before it).
fn pick_versions(
    subject: &str,
    history: &[ContractRow],
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(usize, usize)> {
    if history.is_empty() {
        return Err(Error::invalid(format!(
            "{subject} has no recorded contract versions: apply an ODCS contract for it first"
        )));
    }
    let versions = || {
        history
            .iter()
            .map(|r| r.version.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let find = |v: &str| -> Result<usize> {
        history.iter().rposition(|r| r.version == v).ok_or_else(|| {
            Error::invalid(format!(
                "{subject} has no contract version '{v}'; its versions: {}",
                versions()
            ))
        })
    };
    let to_i = match to {
        Some(v) => find(v)?,
        None => history.len() - 1,
    };
    let from_i = match from {
        Some(v) => find(v)?,
        None if to_i == 0 => {
            return Err(Error::invalid(format!(
                "{subject} has one contract version ({}), nothing to compare it with; give a \
                 contract file to compare with it",
                history[0].version
            )));
        }
        None => to_i - 1,
    };
    Ok((from_i, to_i))
}

fn parse_row(session: &Session, row: &ContractRow, current: &DataProduct) -> Result<DataProduct> {
    let source = SpecSource {
        file: format!("meta.contracts {}@{}", row.product, row.version),
        text: row.spec.clone(),
    };
    // a contract of several tables: the one of this product
    let specs = parse_spec(source)?;
    let spec = specs
        .iter()
        .filter_map(|s| match s {
            Spec::Product(p, _) => Some(p),
            _ => None,
        })
        .min_by_key(|p| p.product.name != current.name)
        .ok_or_else(|| {
            Error::invalid(format!(
                "the recorded contract {}@{} is not a data contract",
                row.product, row.version
            ))
        })?;
    located(session, spec, current)
}

/// The spec's product with its location resolved as `apply` resolves it (a contract without
/// schema leaves the product's columns and checks as they are).
fn located(session: &Session, spec: &ProductSpec, current: &DataProduct) -> Result<DataProduct> {
    if spec.metadata_only {
        return Ok(spec.attached_to(current));
    }
    let mut p = spec.product.clone();
    p.location = if spec.external {
        session.warehouse().data().resolve(&p.location)?.to_string()
    } else {
        current.location.clone()
    };
    Ok(p)
}

/// The changes from each `before` to its `after` (the tables of one contract), with the
/// verdict `apply` would give.
fn report(pairs: &[(DataProduct, DataProduct)]) -> Output {
    report_of(pairs, Vec::new(), None)
}

/// [`report`], with changes found outside the pairs (tables added or removed) and the subject
/// and versions named by the caller.
fn report_of(
    pairs: &[(DataProduct, DataProduct)],
    extra: Vec<ContractChange>,
    named: Option<(String, (&str, &str))>,
) -> Output {
    let mut changes: Vec<ContractChange> = extra;
    let mut refusal = None;
    for (before, after) in pairs {
        let mut found = diff_products(before, after);
        if pairs.len() > 1 {
            for c in &mut found {
                c.what = format!("{}: {}", before.qualified_name(), c.what);
            }
        }
        changes.extend(found);
        if refusal.is_none()
            && let Err(m) = check_version_bump(before, after)
        {
            refusal = Some(m);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("change", DataType::Utf8, false),
        Field::new("what", DataType::Utf8, false),
    ]));
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| {
            if c.breaking {
                "breaking"
            } else {
                "non-breaking"
            }
        })
        .collect();
    let whats: Vec<&str> = changes.iter().map(|c| c.what.as_str()).collect();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(StringArray::from(kinds)),
            Arc::new(StringArray::from(whats)),
        ],
    );
    let breaking = changes.iter().filter(|c| c.breaking).count();
    let verdict = match refusal {
        None => "apply accepts it".to_string(),
        Some(m) => format!("apply refuses it: {m}"),
    };
    let mut out = match batch {
        Ok(b) => Output::rows(schema, vec![b]),
        Err(_) => Output::message(""),
    };
    let (subject, from, to) = match (named, pairs) {
        (Some((subject, (from, to))), _) => (subject, from, to),
        (None, pairs) => match pairs {
            [(before, after)] => (
                before.qualified_name().to_string(),
                before.contract_version.as_str(),
                after.contract_version.as_str(),
            ),
            [(before, after), ..] => (
                format!("contract {}", after.contract_id),
                before.contract_version.as_str(),
                after.contract_version.as_str(),
            ),
            [] => (String::new(), "", ""),
        },
    };
    out.message = Some(format!(
        "{subject} {from} -> {to}: {breaking} breaking, {} non-breaking; {verdict}",
        changes.len() - breaking
    ));
    out
}
