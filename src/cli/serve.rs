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
    /// How long a token from the handshake stays valid: seconds, or a duration such as 30m,
    /// 1h or 7days (at most a year).
    #[arg(long, env = "LAKEMETA_TOKEN_TTL", default_value = "1h", value_parser = parse_lifetime)]
    pub token_ttl: Duration,
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
    /// Memory all running queries together may use (e.g. 8GiB), each at most --query-memory
    /// of it; default: three quarters of the machine's memory (or the container's limit).
    #[arg(long, env = "LAKEMETA_SERVER_MEMORY", value_parser = parse_size)]
    pub server_memory: Option<usize>,
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

/// A size in bytes: a number with an optional unit — B, KiB, MiB, GiB, TiB (powers of 1024) or
/// KB, MB, GB, TB (powers of 1000), read by `bytesize`.
fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let size: bytesize::ByteSize = text.trim().parse().map_err(|e| {
        format!("'{text}' is not a size ({e}): write one such as 512MiB, 2GiB or 4GB")
    })?;
    // the parser saturates a size too large for 64 bits
    match usize::try_from(size.as_u64()) {
        Ok(bytes) if size.as_u64() < u64::MAX => Ok(bytes),
        _ => Err(format!("'{text}' is larger than this machine can address")),
    }
}

/// The longest a handshake token may live.
const LONGEST_LIFETIME: Duration = Duration::from_secs(366 * 86_400);

/// A token lifetime: whole seconds (`3600`) or a duration (`1h`, `30m`, `7days`), more than
/// zero and at most a year.
fn parse_lifetime(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    let d = match t.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(t).map_err(|e| {
            format!("'{text}' is not a duration ({e}): write seconds, or one such as 30m or 1h")
        })?,
    };
    if d.is_zero() || d > LONGEST_LIFETIME {
        return Err(format!(
            "'{text}': a token lifetime is more than zero and at most a year"
        ));
    }
    Ok(d)
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
        token_ttl: args.token_ttl,
        tls: args.tls_cert.zip(args.tls_key),
        limits: Limits {
            max_queries: args.max_queries,
            query_memory: args.query_memory,
            server_memory: args
                .server_memory
                .unwrap_or_else(|| default_server_memory(args.query_memory)),
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

/// Three quarters of the memory this process may use (the machine's, or its container's limit
/// when lower), and never less than one query's `query_memory`; 4 GiB where neither is known.
fn default_server_memory(query_memory: usize) -> usize {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let machine = read("/proc/meminfo").and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib.saturating_mul(1024))
    });
    // cgroup v2; "max" (no limit) does not parse
    let container = read("/sys/fs/cgroup/memory.max").and_then(|t| t.trim().parse::<u64>().ok());
    let total = match (machine, container) {
        (Some(m), Some(c)) => Some(m.min(c)),
        (m, c) => m.or(c),
    };
    let pool = total.map_or(4 << 30, |t| t / 4 * 3);
    usize::try_from(pool)
        .unwrap_or(usize::MAX)
        .max(query_memory)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{parse_lifetime, parse_size};

    #[test]
    fn sizes_read_with_binary_and_decimal_units() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        let err = parse_size("2 parsecs").unwrap_err();
        assert!(err.contains("'2 parsecs' is not a size"), "{err}");
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999999 EiB").is_err());
    }

    #[test]
    fn token_lifetimes_are_durations_within_a_year() {
        assert_eq!(parse_lifetime("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_lifetime("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_lifetime("7days"), Ok(Duration::from_secs(7 * 86_400)));
        for bad in ["0", "18446744073709551615", "2years", "soon", ""] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
