use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use url::Url;

use super::data::DataStore;
use super::location::WarehouseLocation;
use super::mask_key::MaskKey;
use super::resilient_store::ResilientStore;
use super::schemas::SystemTableKind;
use super::system_table::SystemTable;
use crate::error::{Error, Result};

/// The warehouse layout this build writes and reads. A warehouse with a newer layout is refused.
pub const LAYOUT_VERSION: u32 = 5;

const MARKER: &str = "_meta/lakemeta.json";

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    format: String,
    layout_version: u32,
    created_at: String,
    created_by_version: String,
}

/// An opened warehouse: its location, the object store it lives in, and its system tables.
pub struct Warehouse {
    location: WarehouseLocation,
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    tables: BTreeMap<SystemTableKind, SystemTable>,
    data: DataStore,
    mask_key: Arc<MaskKey>,
}

impl std::fmt::Debug for Warehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Warehouse")
            .field("location", &self.location.url.as_str())
            .finish()
    }
}

impl Warehouse {
    /// Opens the warehouse at `location`. An empty location is initialised (system tables
    /// created); one that holds something other than a lakemeta warehouse, or a warehouse of a
    /// newer layout, is refused.
    pub async fn open(location: WarehouseLocation) -> Result<Self> {
        let store = root_store(&location)?;
        Self::open_on(location, store).await
    }

    /// Opens the warehouse at `location` through `store`, the object store at the root of the
    /// location's bucket or filesystem, instead of the one lakemeta would configure from the
    /// location: a store wrapped to add caching, metrics or, in tests, injected faults. Every
    /// read and write of the warehouse and of products stored beside it goes through `store`.
    /// Calls that may fail only for a moment are retried (see [`ResilientStore`]).
    pub async fn open_on(location: WarehouseLocation, store: Arc<dyn ObjectStore>) -> Result<Self> {
        let started = std::time::Instant::now();
        let store = ResilientStore::wrap(store);
        let prefix = Path::from_url_path(location.url.path()).map_err(|e| Error::Warehouse {
            location: location.display.clone(),
            reason: format!("invalid path: {e}"),
        })?;
        let marker_path = prefix.clone().join("_meta").join("lakemeta.json");
        let marker = match store.get(&marker_path).await {
            Ok(r) => Some(r.bytes().await.map_err(|e| store_err(&location, e))?),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => return Err(store_err(&location, e)),
        };
        let (create, layout) = match marker {
            Some(bytes) => (false, check_marker(&location, &bytes)?),
            None => {
                ensure_empty(&location, &store, &prefix).await?;
                (true, LAYOUT_VERSION)
            }
        };
        // the tables' logs are read side by side: on object storage each is a few round trips
        let opening = SystemTableKind::ALL.map(|kind| {
            let (location, store) = (&location, &store);
            async move {
                let url = location.join(&format!("_meta/{}/", kind.name()))?;
                // an upgrade creates the tables that came after the warehouse's layout
                let new_table = create || kind.since_layout() > layout;
                let t = SystemTable::open(kind, store, url, &location.options, new_table).await?;
                Ok::<_, Error>((kind, t))
            }
        });
        let tables: BTreeMap<_, _> = futures::future::try_join_all(opening)
            .await?
            .into_iter()
            .collect();
        if create || layout < LAYOUT_VERSION {
            write_marker(&location, &store, &marker_path, !create).await?;
        }
        let key_path = prefix.clone().join("_meta").join("mask.key");
        let mask_key = Arc::new(MaskKey::load_or_create(&location, &store, &key_path).await?);
        let data = DataStore::new(location.clone(), Arc::clone(&store));
        tracing::debug!(elapsed = ?started.elapsed(), "warehouse opened");
        Ok(Self {
            location,
            store,
            prefix,
            tables,
            data,
            mask_key,
        })
    }

    /// Where the warehouse lives.
    pub fn location(&self) -> &WarehouseLocation {
        &self.location
    }

    /// The root URL.
    pub fn url(&self) -> &Url {
        &self.location.url
    }

    /// The object store the warehouse lives in (rooted at the store's root, not the prefix).
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.store)
    }

    /// The path of the warehouse root inside the object store.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// One system table.
    pub fn table(&self, kind: SystemTableKind) -> &SystemTable {
        // every kind is inserted by `open`
        &self.tables[&kind]
    }

    /// All system tables.
    pub fn tables(&self) -> impl Iterator<Item = &SystemTable> {
        self.tables.values()
    }

    /// Reads and writes the data of data products.
    pub fn data(&self) -> &DataStore {
        &self.data
    }

    /// The key of the `hash` mask.
    pub fn mask_key(&self) -> &Arc<MaskKey> {
        &self.mask_key
    }

    /// The directory of a domain's managed products, `<root>/<domain>/`.
    pub fn domain_location(&self, domain: &str) -> Result<Url> {
        self.location.join(&format!("{domain}/"))
    }

    /// A new location for the Delta table of a managed product being created,
    /// `<root>/<domain>/<name>-<id>/`, with an id of its own: two creations of one name never
    /// write into one table (the catalog's commit decides which one becomes the product), and
    /// the files of a creation interrupted before the catalog took it lie where no later
    /// creation looks.
    pub fn new_product_location(&self, domain: &str, name: &str) -> Result<Url> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.location
            .join(&format!("{domain}/{name}-{}/", &id[..12]))
    }
}

fn store_err(location: &WarehouseLocation, e: object_store::Error) -> Error {
    let hint = if location.is_s3() {
        " (check AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and \
         that the server is running; set AWS_ALLOW_HTTP=true for a plain-http endpoint)"
    } else {
        ""
    };
    Error::Warehouse {
        location: location.display.clone(),
        reason: format!("cannot access the storage: {e}{hint}"),
    }
}

/// The object store at the root of the location's bucket or filesystem.
pub fn root_store(location: &WarehouseLocation) -> Result<Arc<dyn ObjectStore>> {
    let url = &location.url;
    if url.scheme() == "file" {
        let path = url.to_file_path().map_err(|_| Error::Warehouse {
            location: location.display.clone(),
            reason: "not a valid local path".into(),
        })?;
        std::fs::create_dir_all(&path).map_err(|e| Error::Warehouse {
            location: location.display.clone(),
            reason: format!("cannot create the directory: {e}"),
        })?;
        // what `object_store` opens for a `file://` URL, listing directories more cheaply
        return Ok(Arc::new(super::local_listing::LocalListing::new()));
    }
    let scheme = Url::parse(&format!("{}://", url.scheme())).map_err(|e| Error::Warehouse {
        location: location.display.clone(),
        reason: e.to_string(),
    })?;
    super::s3::register();
    let factories = deltalake::logstore::object_store_factories();
    let factory = factories.get(&scheme).ok_or_else(|| Error::Warehouse {
        location: location.display.clone(),
        reason: format!("no storage backend for {}://", url.scheme()),
    })?;
    let config = deltalake::logstore::StorageConfig::parse_options(location.options.clone())
        .map_err(|e| Error::Warehouse {
            location: location.display.clone(),
            reason: format!("invalid storage options: {e}"),
        })?;
    let (store, _) =
        factory
            .value()
            .parse_url_opts(url, &config)
            .map_err(|e| Error::Warehouse {
                location: location.display.clone(),
                reason: format!("cannot configure the storage: {e}"),
            })?;
    Ok(store)
}

/// Checks the layout marker and returns the warehouse's layout version.
fn check_marker(location: &WarehouseLocation, bytes: &Bytes) -> Result<u32> {
    let marker: Marker = serde_json::from_slice(bytes).map_err(|e| Error::Warehouse {
        location: location.display.clone(),
        reason: format!("{MARKER} is not a lakemeta layout marker ({e}); is this a warehouse?"),
    })?;
    if marker.format != "lakemeta-warehouse" {
        return Err(Error::Warehouse {
            location: location.display.clone(),
            reason: format!(
                "{MARKER} names format '{}', not a lakemeta warehouse",
                marker.format
            ),
        });
    }
    if marker.layout_version > LAYOUT_VERSION {
        return Err(Error::Warehouse {
            location: location.display.clone(),
            reason: format!(
                "the warehouse has layout version {} but this lakemeta ({}) knows only up to \
                 {LAYOUT_VERSION}; upgrade lakemeta (it was written by lakemeta {})",
                marker.layout_version,
                env!("CARGO_PKG_VERSION"),
                marker.created_by_version
            ),
        });
    }
    Ok(marker.layout_version)
}

/// A location without a marker must be empty (or hold only a half-made `_meta/` from an
/// interrupted `init`) before lakemeta writes into it.
async fn ensure_empty(
    location: &WarehouseLocation,
    store: &Arc<dyn ObjectStore>,
    prefix: &Path,
) -> Result<()> {
    let mut listing = store.list(Some(prefix));
    let mut seen = 0;
    while let Some(item) = listing.next().await {
        let meta = item.map_err(|e| store_err(location, e))?;
        let rel = meta
            .location
            .as_ref()
            .strip_prefix(prefix.as_ref())
            .unwrap_or(meta.location.as_ref())
            .trim_start_matches('/')
            .to_string();
        if !rel.starts_with("_meta/") {
            return Err(Error::Warehouse {
                location: location.display.clone(),
                reason: format!(
                    "the location holds '{rel}' and is not a lakemeta warehouse; choose an empty \
                     location or an existing warehouse"
                ),
            });
        }
        seen += 1;
        if seen > 10_000 {
            break;
        }
    }
    Ok(())
}

async fn write_marker(
    location: &WarehouseLocation,
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    upgrade: bool,
) -> Result<()> {
    let marker = Marker {
        format: "lakemeta-warehouse".into(),
        layout_version: LAYOUT_VERSION,
        created_at: chrono::Utc::now().to_rfc3339(),
        created_by_version: env!("CARGO_PKG_VERSION").into(),
    };
    let body = serde_json::to_vec_pretty(&marker).map_err(|e| Error::invalid(e.to_string()))?;
    let opts = PutOptions {
        mode: if upgrade {
            PutMode::Overwrite
        } else {
            PutMode::Create
        },
        ..Default::default()
    };
    match store.put_opts(path, PutPayload::from(body), opts).await {
        Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(store_err(location, e)),
    }
}
