//! `lakemeta domain storage-policy DOMAIN --format aws-iam`: the storage side of the trust
//! model. lakemeta enforces its rules on everyone who reads through it; whoever holds the
//! bucket's credentials does not go through it, so each domain's storage role should reach its
//! own prefix and nothing else.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use super::{Exit, write_text};
use crate::error::{Error, Result};
use crate::sql::Session;

/// Arguments of `lakemeta domain`.
#[derive(Debug, Args)]
pub struct DomainArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DomainCommand,
}

/// The `domain` subcommands.
#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Print the storage policy that gives a domain's owner role its prefix of the warehouse
    /// (its managed products' data) and nothing else — not the system tables, not another
    /// domain.
    StoragePolicy {
        /// The domain.
        domain: String,
        /// The policy language.
        #[arg(long, value_enum, default_value_t = PolicyFormat::AwsIam)]
        format: PolicyFormat,
    },
}

/// The policy languages.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyFormat {
    /// An AWS IAM identity policy (JSON) for the S3 bucket of an `s3://` warehouse.
    AwsIam,
}

/// `lakemeta domain …`.
pub(super) fn run(session: &Session, args: DomainArgs) -> Result<Exit> {
    match args.command {
        DomainCommand::StoragePolicy { domain, format } => {
            let PolicyFormat::AwsIam = format;
            let state = session.catalog().state();
            let d = state.domain(&domain)?;
            let url = session.warehouse().url();
            if url.scheme() != "s3" {
                return Err(Error::invalid(format!(
                    "an AWS IAM policy is for an s3:// warehouse; this one is at {url}: restrict \
                     the domain's files with the storage's own permissions (its directory is \
                     {})",
                    session.warehouse().domain_location(&domain)?
                )));
            }
            let policy = aws_iam_policy(url, &domain)?;
            let external: Vec<String> = state
                .products_in(&domain)
                .filter(|p| p.kind == "external")
                .map(|p| format!("{}.{} ({})", p.domain, p.name, p.location))
                .collect();
            eprintln!(
                "# attach to the storage role of {} (the owner of domain {domain}), e.g. \
                 arn:aws:iam::<account>:role/{domain}-data-access; the lakemeta server's own \
                 role keeps _meta/ and every domain",
                d.owner_team
            );
            if !external.is_empty() {
                eprintln!(
                    "# not covered (external products, where they live): {}",
                    external.join(", ")
                );
            }
            write_text(None, &format!("{policy}\n"))?;
            Ok(Exit::Success)
        }
    }
}

/// The IAM identity policy that lets a role list, read, write and delete the objects under
/// `<warehouse>/<domain>/` of the warehouse's bucket, and nothing else.
fn aws_iam_policy(warehouse: &url::Url, domain: &str) -> Result<String> {
    let bucket = warehouse
        .host_str()
        .ok_or_else(|| Error::invalid(format!("{warehouse} names no bucket")))?;
    let root = warehouse.path().trim_matches('/');
    let prefix = if root.is_empty() {
        format!("{domain}/")
    } else {
        format!("{root}/{domain}/")
    };
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListTheDomainPrefix",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": format!("arn:aws:s3:::{bucket}"),
                "Condition": {"StringLike": {"s3:prefix": [prefix.clone(), format!("{prefix}*")]}}
            },
            {
                "Sid": "ReadAndWriteTheDomainData",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": format!("arn:aws:s3:::{bucket}/{prefix}*")
            }
        ]
    });
    serde_json::to_string_pretty(&policy)
        .map_err(|e| Error::invalid(format!("writing the policy: {e}")))
}

#[cfg(test)]
mod tests {
    use super::aws_iam_policy;

    #[test]
    fn the_policy_holds_the_domain_prefix_only() {
        let url = url::Url::parse("s3://lake/prod/").unwrap();
        let p: serde_json::Value =
            serde_json::from_str(&aws_iam_policy(&url, "orders").unwrap()).unwrap();
        let statements = p["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0]["Resource"], "arn:aws:s3:::lake");
        assert_eq!(
            statements[0]["Condition"]["StringLike"]["s3:prefix"][1],
            "prod/orders/*"
        );
        assert_eq!(statements[1]["Resource"], "arn:aws:s3:::lake/prod/orders/*");
        let url = url::Url::parse("s3://lake").unwrap();
        let p = aws_iam_policy(&url, "users").unwrap();
        assert!(p.contains("arn:aws:s3:::lake/users/*"), "{p}");
    }
}
