//! Storage policies as specs write them: how long VACUUM keeps the files older versions need
//! (`retentionDays`) and the size OPTIMIZE compacts files to (`targetFileSize`), set by a
//! domain spec's `storage` block for its managed products and by a contract's
//! `customProperties` for its own.

use serde::Deserialize;
use serde_norway::Value;

/// The fewest days a policy may keep replaced files: a reader of an older version or a writer
/// that started before a VACUUM may still need them.
pub const MIN_RETENTION_DAYS: i64 = 1;

/// The smallest target file size a policy may set (1 MiB): smaller files only cost more to read.
pub const MIN_TARGET_FILE_SIZE: i64 = 1024 * 1024;

/// A storage policy; each part unset leaves the table's own setting (or the domain's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoragePolicy {
    /// Days VACUUM keeps the files that older versions need.
    pub retention_days: Option<i64>,
    /// Bytes OPTIMIZE compacts files to.
    pub target_file_size: Option<i64>,
}

/// The `storage` block of a domain spec, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StorageBlock {
    /// Days VACUUM keeps the files that older versions need.
    #[serde(default)]
    pub retention_days: Option<Value>,
    /// Bytes (a number, or a size such as `128MiB`) OPTIMIZE compacts files to.
    #[serde(default)]
    pub target_file_size: Option<Value>,
}

impl StorageBlock {
    /// The policy it sets, or the key at fault (under `storage`) and what is wrong.
    pub fn policy(&self) -> Result<StoragePolicy, (&'static str, String)> {
        Ok(StoragePolicy {
            retention_days: self
                .retention_days
                .as_ref()
                .map(retention_days)
                .transpose()
                .map_err(|m| ("retentionDays", m))?,
            target_file_size: self
                .target_file_size
                .as_ref()
                .map(target_file_size)
                .transpose()
                .map_err(|m| ("targetFileSize", m))?,
        })
    }
}

/// `retentionDays`: a whole number of days, at least [`MIN_RETENTION_DAYS`].
pub fn retention_days(value: &Value) -> Result<i64, String> {
    match value.as_i64() {
        Some(days) if days >= MIN_RETENTION_DAYS => Ok(days),
        Some(days) => Err(format!(
            "retentionDays is {days}: keep replaced files at least {MIN_RETENTION_DAYS} day, \
             since readers of older versions and writers that started before a VACUUM may \
             still need them"
        )),
        None => Err(format!(
            "retentionDays needs a whole number of days, not {}",
            shown(value)
        )),
    }
}

/// `targetFileSize`: bytes, as a number or a size with its unit (`128MiB`, `1 GB`), at least
/// [`MIN_TARGET_FILE_SIZE`].
pub fn target_file_size(value: &Value) -> Result<i64, String> {
    let bytes = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s
            .trim()
            .parse::<bytesize::ByteSize>()
            .ok()
            .and_then(|b| i64::try_from(b.as_u64()).ok()),
        _ => None,
    };
    match bytes {
        Some(b) if b >= MIN_TARGET_FILE_SIZE => Ok(b),
        Some(b) => Err(format!(
            "targetFileSize is {b} bytes: set at least 1MiB (files smaller than that only cost \
             more to read)"
        )),
        None => Err(format!(
            "targetFileSize needs a size, as bytes or with a unit (e.g. 128MiB), not {}",
            shown(value)
        )),
    }
}

fn shown(value: &Value) -> String {
    serde_norway::to_string(value)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_norway::from_str(text).unwrap()
    }

    #[test]
    fn sizes_are_read_with_or_without_a_unit() {
        assert_eq!(target_file_size(&yaml("134217728")), Ok(134_217_728));
        assert_eq!(target_file_size(&yaml("128MiB")), Ok(134_217_728));
        assert_eq!(target_file_size(&yaml("'1 GB'")), Ok(1_000_000_000));
        let small = target_file_size(&yaml("1KiB")).unwrap_err();
        assert!(small.contains("at least 1MiB"), "{small}");
        let bad = target_file_size(&yaml("big")).unwrap_err();
        assert!(bad.contains("not big"), "{bad}");
    }

    #[test]
    fn retention_is_whole_days_of_at_least_one() {
        assert_eq!(retention_days(&yaml("30")), Ok(30));
        assert!(
            retention_days(&yaml("0"))
                .unwrap_err()
                .contains("at least 1 day")
        );
        assert!(
            retention_days(&yaml("'a week'"))
                .unwrap_err()
                .contains("whole number")
        );
    }
}
