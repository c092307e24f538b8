//! `lakemeta classify [PRODUCT]`: proposes PII classifications for a product's columns from
//! their names and a sample of their values, as ODCS YAML to paste into the contract.

use clap::Args;

use crate::error::{Error, Result};
use crate::model::{DataProduct, ProductName};
use crate::quality::{find_in_batches, suggested_by_name};
use crate::sql::Session;

/// Arguments of `lakemeta classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// The product (domain.product); every product the user may read whole when omitted.
    pub product: Option<String>,
    /// How many rows to sample from each product.
    #[arg(long, default_value_t = 10_000, value_name = "ROWS")]
    pub sample: usize,
}

/// `lakemeta classify …`: prints the proposals; exits 0 (a proposal is no failure).
pub(super) async fn run(session: &Session, args: ClassifyArgs) -> Result<super::Exit> {
    session.catalog().refresh().await?;
    let state = session.catalog().state();
    let who = session.principal().name.clone();
    let targets: Vec<ProductName> = match &args.product {
        Some(p) => {
            let name: ProductName = p.parse().map_err(Error::Invalid)?;
            state.product(&name)?;
            vec![name]
        }
        None => state
            .products
            .keys()
            .filter(|n| state.read_whole(&who, n, "classify").is_ok())
            .cloned()
            .collect(),
    };
    if args.sample == 0 {
        return Err(Error::invalid(
            "--sample 0 samples nothing: give a number of rows, e.g. --sample 10000",
        ));
    }
    let mut out = String::new();
    for name in targets {
        state.read_whole(&who, &name, "classify")?;
        let product = state.product(&name)?.clone();
        out.push_str(&classify_product(session, &product, args.sample).await?);
    }
    print!("{out}");
    Ok(super::Exit::Success)
}

/// The proposals for one product from its first `sample` rows, as commented ODCS YAML (what
/// `lakemeta classify` prints).
pub async fn classify_product(session: &Session, p: &DataProduct, sample: usize) -> Result<String> {
    let name = p.qualified_name();
    let outputs = session
        .sql(&format!("SELECT * FROM {name} LIMIT {sample}"))
        .await?;
    let batches = outputs
        .into_iter()
        .next_back()
        .map(|o| o.batches)
        .unwrap_or_default();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut text = format!(
        "# {name}: {rows} row{} sampled; proposed classifications, to paste into the contract's \
         schema[].properties\n",
        if rows == 1 { "" } else { "s" }
    );
    let mut proposed = 0;
    for c in &p.columns {
        let (finding, sampled) = find_in_batches(&batches, &c.name);
        let (kind, why) = match (&finding, suggested_by_name(&c.name)) {
            (Some(f), _) => (
                f.classification,
                format!(
                    "{} of {} sampled values look like {}",
                    f.matched, f.sampled, f.classification
                ),
            ),
            (None, Some(k)) if sampled == 0 => {
                (k, format!("its name suggests {k}; no value was sampled"))
            }
            _ => continue,
        };
        proposed += 1;
        let already = if c.classification.eq_ignore_ascii_case(kind) {
            "; classified so already".to_string()
        } else if c.classification.is_empty() {
            String::new()
        } else {
            format!("; classified {} now", c.classification)
        };
        text.push_str(&format!(
            "- name: {}\n  classification: {kind}  # {why}{already}\n",
            c.name
        ));
    }
    if proposed == 0 {
        text.push_str("# no column looks like PII\n");
    }
    Ok(text)
}
