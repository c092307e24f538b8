use std::collections::HashMap;
use std::path::Path;

use url::Url;

use crate::error::{Error, Result};

/// Where a warehouse lives: a local directory, `file://`, `memory://` or `s3://bucket/prefix`.
#[derive(Debug, Clone)]
pub struct WarehouseLocation {
    /// The location as the user wrote it (for messages).
    pub display: String,
    /// The root URL, always ending in `/`.
    pub url: Url,
    /// Storage options (for S3 the `AWS_*` settings from the environment).
    pub options: HashMap<String, String>,
}

impl WarehouseLocation {
    /// Parses a location. A string without a scheme is a local path, made absolute.
    pub fn parse(input: &str) -> Result<Self> {
        let bad = |reason: String| Error::Warehouse {
            location: input.to_string(),
            reason,
        };
        if input.trim().is_empty() {
            return Err(bad(
                "empty location: give a directory, file://, memory:// or s3://bucket/prefix".into(),
            ));
        }
        let mut url = match Url::parse(input) {
            Ok(url) if url.scheme().len() > 1 => url,
            _ => {
                let path = Path::new(input);
                let abs = if path.is_absolute() {
                    path.to_path_buf()
                } else {
                    std::env::current_dir()
                        .map_err(|e| bad(format!("cannot read the current directory: {e}")))?
                        .join(path)
                };
                Url::from_directory_path(&abs)
                    .map_err(|_| bad("not a valid local path".to_string()))?
            }
        };
        match url.scheme() {
            "file" | "memory" => {}
            "s3" | "s3a" => {
                if url.host_str().unwrap_or("").is_empty() {
                    return Err(bad(
                        "an s3:// location needs a bucket: s3://bucket/prefix".into()
                    ));
                }
            }
            other => {
                return Err(bad(format!(
                    "unsupported scheme '{other}://': use a directory, file://, memory:// or \
                     s3://bucket/prefix"
                )));
            }
        }
        if !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        let options = if url.scheme().starts_with("s3") {
            s3_options_from_env()
        } else {
            HashMap::new()
        };
        Ok(Self {
            display: input.to_string(),
            url,
            options,
        })
    }

    /// Uses these storage options instead of the ones read from the environment (for embedding
    /// lakemeta, and for tests that must not change the process environment).
    pub fn with_options(mut self, options: HashMap<String, String>) -> Self {
        self.options = options;
        self
    }

    /// True for `memory://` warehouses, which vanish with the process.
    pub fn is_memory(&self) -> bool {
        self.url.scheme() == "memory"
    }

    /// True for S3 warehouses.
    pub fn is_s3(&self) -> bool {
        self.url.scheme().starts_with("s3")
    }

    /// A URL under the root, e.g. `_meta/domains/`.
    pub fn join(&self, relative: &str) -> Result<Url> {
        self.url.join(relative).map_err(|e| Error::Warehouse {
            location: self.display.clone(),
            reason: format!("cannot form the path '{relative}': {e}"),
        })
    }
}

/// The `AWS_*` variables of the environment, which configure S3 access (credentials, region,
/// `AWS_ENDPOINT_URL` for S3-compatible servers, `AWS_ALLOW_HTTP` for plain HTTP).
fn s3_options_from_env() -> HashMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_"))
        .collect()
}

/// True when `url` is `root` or lies under it, by whole path segments (`/data/lake` does not
/// hold `/data/lake2`). Both are parsed URLs, so `..` segments are already resolved.
pub fn url_within(url: &Url, root: &Url) -> bool {
    if url.scheme() != root.scheme()
        || url.host_str() != root.host_str()
        || url.port() != root.port()
    {
        return false;
    }
    let base = root.path().trim_end_matches('/');
    let path = url.path().trim_end_matches('/');
    path == base || path.starts_with(&format!("{base}/"))
}

#[cfg(test)]
mod within_tests {
    use super::*;

    #[test]
    fn locations_are_held_by_whole_segments() {
        let root = Url::parse("file:///data/lake/").unwrap();
        let ok = |u: &str| url_within(&Url::parse(u).unwrap(), &root);
        assert!(ok("file:///data/lake"));
        assert!(ok("file:///data/lake/orders/x.parquet"));
        assert!(!ok("file:///data/lake2/x.parquet"));
        assert!(!ok("file:///data/lake/../etc/passwd"));
        assert!(!ok("s3://data/lake/x"));
        let everything = Url::parse("file:///").unwrap();
        assert!(url_within(&Url::parse("file:///etc").unwrap(), &everything));
    }
}
