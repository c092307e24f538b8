//! `lakemeta lineage graph`: a picture of a product's lineage.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::lineage::Picture;
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
pub(super) async fn run(session: &Session, args: LineageArgs) -> Result<()> {
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
            let picture = Picture::around(&state.lineage, &name.to_string(), depth, &quality);
            let text = match format {
                GraphFormat::Mermaid => picture.mermaid(),
                GraphFormat::Dot => picture.dot(),
                GraphFormat::Svg => picture.svg(),
            };
            super::write_text(output.as_deref(), &text)
        }
    }
}
