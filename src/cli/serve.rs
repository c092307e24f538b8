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
use crate::server::{ServeOptions, bind, hash_password};
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
}

/// `lakemeta serve`: until SIGTERM or Ctrl-C, then lets calls in progress finish.
pub(super) async fn serve(warehouse: Arc<Warehouse>, args: ServeArgs) -> Result<Exit> {
    let catalog = Arc::new(Catalog::open(warehouse).await?);
    let options = ServeOptions {
        listen: args.listen,
        users: args.users,
        no_auth: args.no_auth,
        token_ttl: Duration::from_secs(args.token_ttl),
        tls: args.tls_cert.zip(args.tls_key),
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
