//! `lakemeta serve`: the catalog and the data products over Arrow Flight SQL, for BI tools and
//! notebooks (ADBC, JDBC, any Flight SQL client).

mod auth;
mod malformed;
mod metadata;
mod metered;
mod prepared;
mod put;
mod rows_in;
mod schemas;
mod service;
mod status;
mod xdbc;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

pub use auth::{Authenticator, Refusal, Users, hash_password};
pub use service::{LakeFlightService, Limits};
pub use status::status_of;

use schemas::WithSchemas;

use crate::catalog::Catalog;
use crate::error::{Error, Result};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The users file; required unless `no_auth`.
    pub users: Option<std::path::PathBuf>,
    /// Serve without authentication (loopback only).
    pub no_auth: bool,
    /// How long a token from the handshake lives.
    pub token_ttl: Duration,
    /// TLS: the certificate (chain) and private key files, PEM.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// How many statements run at once, and how much memory each may use.
    pub limits: Limits,
    /// The locations (URL prefixes) a client's `LOCATION` may name; empty: the warehouse root.
    pub allowed_locations: Vec<String>,
}

/// A server bound to its address, ready to run.
pub struct Bound {
    listener: TcpListener,
    service: LakeFlightService,
    tls: Option<tonic::transport::ServerTlsConfig>,
}

impl Bound {
    /// The address it listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener.local_addr().map_err(|source| Error::Io {
            path: "the server socket".into(),
            source,
        })
    }

    /// Serves until `shutdown` completes; calls in progress finish first, then the audit log
    /// is flushed (nothing it holds is lost on a graceful stop).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let catalog = Arc::clone(self.service.catalog());
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = self.tls {
            builder = builder.tls_config(tls).map_err(|e| {
                Error::invalid(format!("the TLS certificate or key is not usable: {e}"))
            })?;
        }
        // send small answers at once: without TCP_NODELAY, each reply waits for the client's
        // delayed ACK (about 40 ms a call)
        let incoming = TcpIncoming::from(self.listener).with_nodelay(Some(true));
        let served = builder
            .add_service(FlightServiceServer::new(WithSchemas(self.service)))
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
            .map_err(|e| Error::invalid(format!("the server stopped: {e}")));
        let flushed = catalog.audit().flush().await;
        served.and(flushed)
    }
}

/// Checks the options, reads the users, and binds the address.
pub async fn bind(catalog: Arc<Catalog>, options: &ServeOptions) -> Result<Bound> {
    let users = match (&options.users, options.no_auth) {
        (Some(_), true) => {
            return Err(Error::invalid(
                "--users and --no-auth contradict each other: give one of them",
            ));
        }
        (None, false) => {
            return Err(Error::invalid(
                "the server needs users: pass --users FILE (LAKEMETA_USERS), or --no-auth \
                 (LAKEMETA_NO_AUTH=true) to serve without authentication on loopback only",
            ));
        }
        (Some(path), false) => Some(Users::load(path)?),
        (None, true) => {
            if !options.listen.ip().is_loopback() {
                return Err(Error::invalid(format!(
                    "--no-auth serves on loopback only, not {}: listen on 127.0.0.1 or ::1, or \
                     pass --users FILE",
                    options.listen
                )));
            }
            None
        }
    };
    let tls = match &options.tls {
        None => None,
        Some((cert, key)) => {
            // rustls is built with two crypto providers in this tree: name one, once per
            // process (a second call finds it installed, which is fine)
            let _ = rustls::crypto::ring::default_provider().install_default();
            let read = |path: &std::path::Path| {
                std::fs::read(path).map_err(|source| Error::Io {
                    path: path.display().to_string(),
                    source,
                })
            };
            let (cert_pem, key_pem) = (read(cert)?, read(key)?);
            if !String::from_utf8_lossy(&cert_pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(Error::invalid(format!(
                    "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    cert.display()
                )));
            }
            if !String::from_utf8_lossy(&key_pem).contains("PRIVATE KEY-----") {
                return Err(Error::invalid(format!(
                    "{} holds no PEM private key (-----BEGIN PRIVATE KEY-----)",
                    key.display()
                )));
            }
            Some(
                tonic::transport::ServerTlsConfig::new()
                    .identity(tonic::transport::Identity::from_pem(cert_pem, key_pem)),
            )
        }
    };
    if options.limits.max_queries == 0 {
        return Err(Error::invalid(
            "--max-queries 0 would refuse every query: allow at least 1",
        ));
    }
    if options.limits.query_memory == 0 {
        return Err(Error::invalid(
            "--query-memory 0 leaves a query no memory: give a size such as 512MiB or 2GiB",
        ));
    }
    if options.limits.server_memory < options.limits.query_memory {
        return Err(Error::invalid(format!(
            "--server-memory {} is less than --query-memory {}: one query could never have the \
             memory it is allowed; raise --server-memory or lower --query-memory",
            bytesize::ByteSize::b(options.limits.server_memory as u64)
                .display()
                .iec(),
            bytesize::ByteSize::b(options.limits.query_memory as u64)
                .display()
                .iec(),
        )));
    }
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|source| Error::Io {
            path: format!("listening on {}", options.listen),
            source,
        })?;
    let allowed = allowed_locations(&catalog, &options.allowed_locations)?;
    let auth = Arc::new(Authenticator::new(users, options.token_ttl));
    Ok(Bound {
        listener,
        service: LakeFlightService::new(catalog, auth, options.limits, allowed),
        tls,
    })
}

/// The allowed location prefixes as URLs (relative paths from the current directory); the
/// warehouse root when none are given.
fn allowed_locations(catalog: &Catalog, given: &[String]) -> Result<Vec<url::Url>> {
    if given.is_empty() {
        return Ok(vec![catalog.warehouse().url().clone()]);
    }
    given
        .iter()
        .map(|g| {
            crate::storage::WarehouseLocation::parse(g)
                .map(|l| l.url)
                .map_err(|e| Error::invalid(format!("--allow-location {g}: {e}")))
        })
        .collect()
}
