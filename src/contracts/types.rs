use arrow::datatypes::{DataType, Schema, TimeUnit};
use sha2::{Digest, Sha256};

use crate::model::Column;

/// The Arrow type of a column type: lakemeta's names (see [`lakemeta_type`]), the nested types
/// [`type_name`] writes, or another engine's physical type; `None` for an unknown name.
pub fn arrow_type(name: &str) -> Option<DataType> {
    lakemeta_type(name).or_else(|| super::physical_types::physical_arrow_type(name))
}

/// The Arrow type of one of lakemeta's own type names (`string`, `int`, `bigint`, `double`,
/// `float`, `boolean`, `date`, `timestamp`, `time`, `decimal(p,s)`, …).
pub fn lakemeta_type(name: &str) -> Option<DataType> {
    let n = name.trim().to_ascii_lowercase().replace(' ', "");
    if let Some(args) = n
        .strip_prefix("decimal(")
        .or_else(|| n.strip_prefix("numeric("))
        .and_then(|r| r.strip_suffix(')'))
    {
        let (p, s) = args.split_once(',').unwrap_or((args, "0"));
        let p: u8 = p.parse().ok()?;
        let s: i8 = s.parse().ok()?;
        return (1..=38).contains(&p).then_some(DataType::Decimal128(p, s));
    }
    Some(match n.as_str() {
        "string" | "varchar" | "text" | "utf8" => DataType::Utf8,
        "int" | "integer" | "int32" => DataType::Int32,
        "bigint" | "long" | "int64" => DataType::Int64,
        "smallint" | "short" | "int16" => DataType::Int16,
        "tinyint" | "byte" | "int8" => DataType::Int8,
        "double" | "float64" | "number" => DataType::Float64,
        "float" | "real" | "float32" => DataType::Float32,
        "boolean" | "bool" => DataType::Boolean,
        "date" => DataType::Date32,
        "timestamp" | "timestamptz" | "timestamp_ntz" | "datetime" => {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        "binary" | "bytes" => DataType::Binary,
        "time" => DataType::Time64(TimeUnit::Microsecond),
        _ => return None,
    })
}

/// The contract name of an Arrow type, the inverse of [`arrow_type`]; other types print as
/// Arrow does.
pub fn type_name(t: &DataType) -> String {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Float64 => "double".into(),
        DataType::Float32 => "float".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::List(item) | DataType::LargeList(item) | DataType::ListView(item) => {
            format!("array<{}>", type_name(item.data_type()))
        }
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.name(), type_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "map<{}, {}>",
                type_name(kv[0].data_type()),
                type_name(kv[1].data_type())
            ),
            other => other.to_string().to_lowercase(),
        },
        other => other.to_string().to_lowercase(),
    }
}

/// Compares a contract's columns with a table's real schema. Returns one line per difference:
/// a column the table lacks, or a type that differs. Columns the contract does not describe
/// are allowed.
pub fn check_schema(columns: &[Column], schema: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for c in columns {
        match schema.field_with_name(&c.name) {
            Err(_) => out.push(format!(
                "column '{}' ({}) is in the contract but not in the table (table columns: {})",
                c.name,
                c.data_type,
                schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Ok(f) => {
                let actual = type_name(f.data_type());
                let declared = arrow_type(&c.data_type);
                // a Delta table holds what it has no type for as the nearest type it has
                let stored = declared
                    .as_ref()
                    .map(|t| type_name(&crate::storage::delta_type(t)));
                let declared = declared
                    .map(|t| type_name(&t))
                    .unwrap_or_else(|| c.data_type.clone());
                if actual != declared && stored.as_deref() != Some(actual.as_str()) {
                    out.push(format!(
                        "column '{}' is {declared} in the contract but {actual} in the table",
                        c.name
                    ));
                }
            }
        }
    }
    out
}

/// A stable hash of the column names, types and nullability.
pub fn schema_hash(columns: &[Column]) -> String {
    let mut h = Sha256::new();
    for c in columns {
        h.update(c.name.as_bytes());
        h.update([0]);
        h.update(c.data_type.as_bytes());
        h.update([u8::from(c.nullable)]);
    }
    let digest = h.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_round_trip() {
        for n in [
            "string",
            "int",
            "bigint",
            "double",
            "boolean",
            "date",
            "timestamp",
            "decimal(12,2)",
        ] {
            assert_eq!(type_name(&arrow_type(n).unwrap()), n);
        }
        assert_eq!(arrow_type("decimal(99,2)"), None);
        assert_eq!(arrow_type("strng"), None);
    }
}
