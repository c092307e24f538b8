//! `lakemeta lineage graph` (a picture of a product's lineage) and `lakemeta lineage ingest`
//! (OpenLineage events).

use std::io::BufRead;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::Exit;
use crate::error::{Error, Result};
use crate::lineage::{Picture, parse_event};
use crate::model::ProductName;
use crate::sql::Session;
use crate::sql::functions::latest_health;

/// Arguments of `lakemeta lineage`.
#[derive(Debug, Args)]
pub struct LineageArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: LineageCommand,
}

/// `lakemeta lineage` subcommands.
#[derive(Debug, Subcommand)]
pub enum LineageCommand {
    /// Draw the products upstream and downstream of a product, coloured by their latest
    /// quality status (green pass, red fail, orange error, grey not checked).
    Graph {
        /// The product, domain.product.
        product: String,
        /// Hops to draw on each side (default: all).
        #[arg(long)]
        depth: Option<u32>,
        /// Mermaid (for Markdown), Graphviz DOT, or a self-contained SVG.
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Load OpenLineage run events (spec 2-0-x, one JSON object per line): inputs and outputs
    /// become edges, the columnLineage facet column edges, unknown datasets external products.
    /// An event that is not valid is reported with its line number; the others still load
    /// (exit code 1 then).
    Ingest {
        /// The file of events, or `-` for standard input.
        file: String,
    },
}

/// The formats of a lineage picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid flowchart.
    Mermaid,
    /// A Graphviz digraph.
    Dot,
    /// An SVG image.
    Svg,
}

/// `lakemeta lineage …`.
pub(super) async fn run(session: &Session, args: LineageArgs) -> Result<Exit> {
    session.catalog().refresh().await?;
    match args.command {
        LineageCommand::Graph {
            product,
            depth,
            format,
            output,
        } => {
            let name: ProductName = product.parse().map_err(Error::Invalid)?;
            let state = session.catalog().state();
            state.product(&name)?;
            let health = latest_health(&session.state()).await?;
            let quality = |p: &str| match health.get(p) {
                Some((status, score, _)) => (Some(status.clone()), *score),
                None => (None, None),
            };
            let graph = state.lineage().await?;
            let picture = Picture::around(&graph, &name.to_string(), depth, &quality);
            let text = match format {
                GraphFormat::Mermaid => picture.mermaid(),
                GraphFormat::Dot => picture.dot(),
                GraphFormat::Svg => picture.svg(),
            };
            super::write_text(output.as_deref(), &text)?;
            Ok(Exit::Success)
        }
        LineageCommand::Ingest { file } => ingest(session, &file).await,
    }
}

/// `lakemeta lineage ingest FILE|-`.
async fn ingest(session: &Session, file: &str) -> Result<Exit> {
    let (label, reader): (String, Box<dyn BufRead>) = if file == "-" {
        ("<stdin>".into(), Box::new(std::io::stdin().lock()))
    } else {
        let f = std::fs::File::open(file).map_err(|source| Error::Io {
            path: file.to_string(),
            source,
        })?;
        (file.to_string(), Box::new(std::io::BufReader::new(f)))
    };
    let mut events = Vec::new();
    let mut refused = Vec::new();
    let mut skipped = 0;
    for (i, line) in reader.split(b'\n').enumerate() {
        let line = line.map_err(|source| Error::Io {
            path: label.clone(),
            source,
        })?;
        let Ok(line) = String::from_utf8(line) else {
            refused.push((i + 1, "not UTF-8 text".to_string()));
            continue;
        };
        match parse_event(&line) {
            Ok(Some(event)) => events.push((i + 1, event)),
            Ok(None) => skipped += 1,
            Err(message) => refused.push((i + 1, message)),
        }
    }
    let span = session
        .begin(
            "lineage_ingest",
            Some(format!("lakemeta lineage ingest {label}")),
        )
        .await?;
    let ingested = session
        .catalog()
        .ingest_openlineage(&events, session.principal())
        .await;
    match &ingested {
        Ok(r) => {
            for p in &r.new_products {
                session.caller().record_write(p);
            }
            span.finish(Some(r.new_edges as u64), None, None);
        }
        Err(e) => span.finish(None, None, Some(e)),
    }
    let mut report = ingested?;
    report.skipped += skipped;
    report.refused.extend(refused);
    report.refused.sort();
    for (line, message) in &report.refused {
        eprintln!("{label}:{line}: {message}; the event was not loaded");
    }
    let list = |what: &str, names: &[String]| match names.len() {
        0 => String::new(),
        n => format!(
            ", {n} new {what}{}: {}",
            if n == 1 { "" } else { "s" },
            names.join(", ")
        ),
    };
    println!(
        "loaded {} event{} ({} new edge{}{}{}); {} without lineage, {} refused",
        report.loaded,
        if report.loaded == 1 { "" } else { "s" },
        report.new_edges,
        if report.new_edges == 1 { "" } else { "s" },
        list("product", &report.new_products),
        list("domain", &report.new_domains),
        report.skipped,
        report.refused.len()
    );
    Ok(if report.refused.is_empty() {
        Exit::Success
    } else {
        Exit::PartlyRefused
    })
}
