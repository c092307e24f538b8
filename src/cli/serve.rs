//! `lakemeta serve` (the Flight SQL server) and `lakemeta hash-password`.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::Exit;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::governance::{AuditSpan, Caller, Channel};
use crate::model::Principal;
use crate::server::{Limits, ServeOptions, bind, hash_password};
use crate::storage::Warehouse;

/// Arguments of `lakemeta serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LAKEMETA_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// The users file: users with argon2 password hashes, and static API tokens.
    #[arg(long, env = "LAKEMETA_USERS")]
    pub users: Option<PathBuf>,
    /// Serve without authentication; only on a loopback address.
    #[arg(long, env = "LAKEMETA_NO_AUTH")]
    pub no_auth: bool,
    /// Seconds a token from the handshake stays valid.
    #[arg(long, env = "LAKEMETA_TOKEN_TTL", default_value_t = 3600)]
    pub token_ttl: u64,
    /// TLS certificate (chain), PEM; with --tls-key.
    #[arg(long, env = "LAKEMETA_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key, PEM; with --tls-cert.
    #[arg(long, env = "LAKEMETA_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Statements running at once; one more is refused (resource_exhausted).
    #[arg(long, env = "LAKEMETA_MAX_QUERIES", default_value_t = 32)]
    pub max_queries: usize,
    /// Memory one query may use (e.g. 512MiB, 2GiB); sorts, joins and aggregations spill to
    /// disk beyond it.
    #[arg(long, env = "LAKEMETA_QUERY_MEMORY", default_value = "1GiB", value_parser = parse_size)]
    pub query_memory: usize,
    /// Results waiting to be fetched, and prepared statements open, one user may hold (each);
    /// one more is refused (resource_exhausted).
    #[arg(long, env = "LAKEMETA_MAX_OPEN_PER_USER", default_value_t = 1000)]
    pub max_open_per_user: usize,
    /// A location prefix (path or URL) clients' LOCATION may name; repeat for several (in the
    /// variable, separate them with commas). Default: the warehouse root.
    #[arg(
        long = "allow-location",
        env = "LAKEMETA_ALLOW_LOCATION",
        value_name = "PREFIX",
        value_delimiter = ','
    )]
    pub allow_location: Vec<String>,
    /// Benchmarks only: record nothing in the audit log (to measure what auditing costs).
    #[arg(long, hide = true)]
    pub unaudited_benchmark: bool,
}

/// A size in bytes: a number with an optional unit B, KiB, MiB, GiB, TiB (or K, M, G, T, KB,
/// MB, GB, TB, read as powers of 1024).
fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{text}': write a size such as 512MiB or 2GiB"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size: write one such as 512MiB or 2GiB"))?;
    let bytes = value * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > usize::MAX as f64 {
        return Err(format!("'{text}' is not a usable size"));
    }
    Ok(bytes as usize)
}

/// `lakemeta serve`: until SIGTERM or Ctrl-C, then lets calls in progress finish.
pub(super) async fn serve(warehouse: Arc<Warehouse>, args: ServeArgs) -> Result<Exit> {
    let catalog = Arc::new(Catalog::open(warehouse).await?);
    let governed = catalog.state().governance.enabled();
    if args.unaudited_benchmark {
        // the audit log says, before it goes quiet, that it does
        let server = Arc::new(Caller::new(Principal::new("(server)"), Channel::Local));
        server.begin(Arc::clone(&catalog.state().governance));
        AuditSpan::start(
            Arc::clone(catalog.audit()),
            server,
            "unaudited_benchmark",
            Some("lakemeta serve --unaudited-benchmark: nothing after this is recorded".into()),
        )
        .finish(None, None, None);
        catalog.audit().flush().await?;
        catalog.audit().discard_for_benchmarks();
    }
    let options = ServeOptions {
        allowed_locations: args.allow_location,
        listen: args.listen,
        users: args.users,
        no_auth: args.no_auth,
        token_ttl: Duration::from_secs(args.token_ttl),
        tls: args.tls_cert.zip(args.tls_key),
        limits: Limits {
            max_queries: args.max_queries,
            query_memory: args.query_memory,
            max_open_per_user: args.max_open_per_user,
        },
    };
    let bound = bind(catalog, &options).await?;
    let addr = bound.local_addr()?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::invalid(format!("cannot listen for SIGTERM: {e}")))?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        eprintln!("stopping: letting calls in progress finish");
    };
    eprintln!(
        "serving Flight SQL on {}://{addr}{}",
        if options.tls.is_some() {
            "grpc+tls"
        } else {
            "grpc"
        },
        if options.no_auth {
            " without authentication"
        } else {
            ""
        }
    );
    if args.unaudited_benchmark {
        eprintln!(
            "warning: --unaudited-benchmark: nothing is recorded in the audit log; this flag \
             exists to measure what auditing costs, never serve real users with it"
        );
    }
    if !governed {
        eprintln!(
            "warning: governance is off — no Teams spec has been applied to this warehouse, so \
             every authenticated user may read and change everything; apply one with lakemeta \
             apply"
        );
    }
    bound.run(shutdown).await?;
    Ok(Exit::Success)
}

/// `lakemeta hash-password`: reads a password (the first line of stdin) and prints its argon2
/// hash for the users file.
pub(super) fn hash() -> Result<Exit> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|source| Error::Io {
            path: "<stdin>".into(),
            source,
        })?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(Error::invalid(
            "no password on standard input: echo 'the password' | lakemeta hash-password",
        ));
    }
    println!("{}", hash_password(password)?);
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_read_with_binary_units() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(
            parse_size("2 parsecs")
                .unwrap_err()
                .contains("unknown unit 'parsecs'")
        );
        assert!(parse_size("lots").is_err());
    }
}
