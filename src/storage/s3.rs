//! S3 for Delta without the AWS SDK: the object store is `object_store`'s own S3 client, and
//! the Delta log store is delta-rs's default one, whose commits are conditional puts (S3 and the
//! S3-compatible servers answer `If-None-Match`). delta-rs's own S3 support would add the AWS SDK
//! (about thirty crates) only to resolve credentials, which `object_store` resolves itself from
//! the environment, a web identity token, the container or the instance.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Once};

use deltalake::logstore::{
    LogStore, LogStoreFactory, ObjectStoreFactory, ObjectStoreRef, StorageConfig, default_logstore,
    logstore_factories, object_store_factories,
};
use deltalake::{DeltaResult, DeltaTableError};
use object_store::ObjectStoreScheme;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use url::Url;

/// The URL schemes lakemeta reads as S3.
const SCHEMES: [&str; 2] = ["s3", "s3a"];

/// Makes `s3://` and `s3a://` known to delta-rs's store and log-store registries. Idempotent;
/// called before the first lookup in either.
pub(crate) fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let factory = Arc::new(S3Factory);
        for scheme in SCHEMES {
            // Parsing a constant scheme cannot fail.
            if let Ok(url) = Url::parse(&format!("{scheme}://")) {
                object_store_factories().insert(url.clone(), factory.clone());
                logstore_factories().insert(url, factory.clone());
            }
        }
    });
}

/// Builds S3 object stores and their Delta log stores.
#[derive(Debug, Default, Clone, Copy)]
struct S3Factory;

impl ObjectStoreFactory for S3Factory {
    fn parse_url_opts(
        &self,
        url: &Url,
        config: &StorageConfig,
    ) -> DeltaResult<(ObjectStoreRef, object_store::path::Path)> {
        let store = s3_store(url, &config.raw)?;
        let (_, prefix) = ObjectStoreScheme::parse(url).map_err(|e| generic(Box::new(e)))?;
        Ok((store, prefix))
    }
}

impl LogStoreFactory for S3Factory {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

/// The S3 store at the root of `url`'s bucket, configured by `options` (the `AWS_*` settings,
/// keys in any case; keys `object_store` does not know are left out).
fn s3_store(url: &Url, options: &HashMap<String, String>) -> DeltaResult<ObjectStoreRef> {
    let has = |key: &str| options.keys().any(|k| k.eq_ignore_ascii_case(key));
    if has("AWS_PROFILE") && !has("AWS_ACCESS_KEY_ID") {
        return Err(generic(
            "AWS_PROFILE is set, but lakemeta does not read the profiles of ~/.aws: export the \
             profile's credentials instead (`eval \"$(aws configure export-credentials --profile \
             NAME --format env)\"`), or run where web identity, container or instance \
             credentials are available"
                .into(),
        ));
    }
    let mut builder = AmazonS3Builder::new().with_url(url.as_str());
    for (key, value) in options {
        if let Ok(key) = AmazonS3ConfigKey::from_str(&key.to_ascii_lowercase()) {
            builder = builder.with_config(key, value.clone());
        }
    }
    Ok(Arc::new(builder.build()?))
}

fn generic(source: Box<dyn std::error::Error + Send + Sync>) -> DeltaTableError {
    DeltaTableError::GenericError { source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_profile_without_keys_is_refused_with_the_way_to_export_it() {
        let url = Url::parse("s3://bucket/wh/").unwrap();
        let Err(err) = s3_store(&url, &options(&[("AWS_PROFILE", "dev")])) else {
            panic!("a profile alone is refused");
        };
        let err = err.to_string();
        assert!(err.contains("export-credentials"), "{err}");
        assert!(
            s3_store(
                &url,
                &options(&[
                    ("AWS_PROFILE", "dev"),
                    ("AWS_ACCESS_KEY_ID", "k"),
                    ("AWS_SECRET_ACCESS_KEY", "s"),
                    ("AWS_REGION", "eu-west-1"),
                ])
            )
            .is_ok()
        );
    }

    #[test]
    fn both_schemes_get_a_store_and_a_log_store() {
        register();
        for scheme in SCHEMES {
            let url = Url::parse(&format!("{scheme}://")).unwrap();
            assert!(object_store_factories().contains_key(&url), "{scheme}");
            assert!(logstore_factories().contains_key(&url), "{scheme}");
        }
    }
}
