//! The warehouse's mask key: 32 random bytes under `_meta/mask.key`, made once when a warehouse
//! (or an older one being upgraded) is first opened, and the key of the `hash` mask. Every
//! process that opens the warehouse reads the same key, so a hashed value is the same in every
//! query and on every replica; the key never leaves the process (it is not shown by `Debug`,
//! and the plans that use it name the mask, not the key).

use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use rand::RngCore;

use super::location::WarehouseLocation;
use crate::error::{Error, Result};

/// The key of the `hash` mask.
#[derive(Clone, PartialEq, Eq)]
pub struct MaskKey([u8; 32]);

impl std::fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MaskKey(…)")
    }
}

impl MaskKey {
    /// The key's bytes, for the HMAC.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// A fresh random key (for a warehouse that has none yet, and for tests).
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(key)
    }

    /// Reads the warehouse's key, making it first if there is none. Two processes that open a
    /// new warehouse at once agree: the first write wins and the other reads it.
    pub(crate) async fn load_or_create(
        location: &WarehouseLocation,
        store: &Arc<dyn ObjectStore>,
        path: &Path,
    ) -> Result<Self> {
        if let Some(key) = read(location, store, path).await? {
            return Ok(key);
        }
        let fresh = Self::random();
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match store
            .put_opts(path, PutPayload::from(fresh.0.to_vec()), opts)
            .await
        {
            Ok(_) => Ok(fresh),
            Err(object_store::Error::AlreadyExists { .. }) => read(location, store, path)
                .await?
                .ok_or_else(|| corrupt(location, "it vanished while being read")),
            Err(e) => Err(Error::Warehouse {
                location: location.display.clone(),
                reason: format!("cannot write the mask key _meta/mask.key: {e}"),
            }),
        }
    }
}

async fn read(
    location: &WarehouseLocation,
    store: &Arc<dyn ObjectStore>,
    path: &Path,
) -> Result<Option<MaskKey>> {
    let bytes = match store.get(path).await {
        Ok(r) => r.bytes().await.map_err(|e| Error::Warehouse {
            location: location.display.clone(),
            reason: format!("cannot read the mask key _meta/mask.key: {e}"),
        })?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => {
            return Err(Error::Warehouse {
                location: location.display.clone(),
                reason: format!("cannot read the mask key _meta/mask.key: {e}"),
            });
        }
    };
    let key: [u8; 32] = bytes
        .as_ref()
        .try_into()
        .map_err(|_| corrupt(location, &format!("it holds {} bytes, not 32", bytes.len())))?;
    Ok(Some(MaskKey(key)))
}

fn corrupt(location: &WarehouseLocation, why: &str) -> Error {
    Error::Warehouse {
        location: location.display.clone(),
        reason: format!(
            "the mask key _meta/mask.key is unusable ({why}); restore it from a backup (a new \
             key would change every hashed value)"
        ),
    }
}
