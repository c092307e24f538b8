use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A product's qualified name, `domain.product`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductName {
    /// The owning domain.
    pub domain: String,
    /// The product name within the domain.
    pub name: String,
}

impl ProductName {
    /// A qualified name from its parts.
    pub fn new(domain: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ProductName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.domain, self.name)
    }
}

impl FromStr for ProductName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('.') {
            Some((d, n)) if !d.is_empty() && !n.is_empty() && !n.contains('.') => {
                Ok(ProductName::new(d.to_lowercase(), n.to_lowercase()))
            }
            _ => Err(format!(
                "'{s}' is not a product name: write it as domain.product, e.g. orders.orders_fact"
            )),
        }
    }
}

/// Whether lakemeta manages the product's files or only references them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductKind {
    /// Stored by lakemeta under `<warehouse>/<domain>/<product>-<id>` as a Delta table.
    Managed,
    /// Lives wherever it is; lakemeta references it by location.
    External,
}

impl ProductKind {
    /// The name stored in `meta.products.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Managed => "managed",
            ProductKind::External => "external",
        }
    }
}

/// The storage format of a data product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// A Delta table.
    Delta,
    /// A Parquet file or a directory of them.
    Parquet,
    /// CSV with a header row.
    Csv,
    /// Newline-delimited JSON.
    Json,
}

impl DataFormat {
    /// The name stored in `meta.products.format`.
    pub fn as_str(self) -> &'static str {
        match self {
            DataFormat::Delta => "delta",
            DataFormat::Parquet => "parquet",
            DataFormat::Csv => "csv",
            DataFormat::Json => "json",
        }
    }
}

impl FromStr for DataFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "delta" => Ok(DataFormat::Delta),
            "parquet" => Ok(DataFormat::Parquet),
            "csv" => Ok(DataFormat::Csv),
            "json" | "ndjson" => Ok(DataFormat::Json),
            other => Err(format!(
                "unknown format '{other}': use one of delta, parquet, csv, json (ndjson)"
            )),
        }
    }
}

/// A column of a data product, as its contract describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// The SQL data type as lakemeta reads it (`string`, `decimal(12,2)`, `timestamp`, ...).
    pub data_type: String,
    /// Whether nulls are allowed (ODCS `required: false`).
    pub nullable: bool,
    /// What the column holds.
    pub description: String,
    /// Tags such as `pii`.
    pub tags: Vec<String>,
    /// ODCS classification (`public`, `internal`, `restricted`, ...), empty if none.
    pub classification: String,
    /// Part of the primary key.
    pub primary_key: bool,
    /// Values are unique.
    pub unique: bool,
    /// Accepted values, empty if any value is accepted.
    pub accepted_values: Vec<String>,
    /// 0-based position in the schema.
    pub ordinal: i32,
}

/// A quality check declared in a contract, kept for the quality runner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The check's name, e.g. `not_null(order_id)` or `valid_status`.
    pub name: String,
    /// The kind: not_null, unique, accepted_values, sql, ...
    pub kind: String,
    /// The column it applies to, empty for table-level checks.
    pub column: String,
    /// The check's definition as JSON (the ODCS `quality` entry).
    pub definition: String,
}

/// A product's service-level agreement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sla {
    /// Maximum age of the newest data, in minutes.
    pub freshness_minutes: Option<i64>,
    /// Availability target in percent.
    pub availability_percent: Option<f64>,
    /// Completeness target in percent.
    pub completeness_percent: Option<f64>,
}

/// A dataset a domain publishes. One row of `meta.products`; its columns and current contract
/// are nested in the row so that one commit changes all of a product at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataProduct {
    /// Owning domain.
    pub domain: String,
    /// Product name within the domain.
    pub name: String,
    /// `managed` or `external`.
    pub kind: String,
    /// Where the data lives (a URL).
    pub location: String,
    /// `delta`, `parquet`, `csv` or `json`.
    pub format: String,
    /// Owning team or person.
    pub owner: String,
    /// What the product holds.
    pub description: String,
    /// Tags such as `pii`, `financial`.
    pub tags: Vec<String>,
    /// How consumers read it: `batch`, `streaming`, ...
    pub access_patterns: Vec<String>,
    /// SLA: maximum age of the newest data, in minutes.
    pub sla_freshness_minutes: Option<i64>,
    /// SLA: availability in percent.
    pub sla_availability_percent: Option<f64>,
    /// SLA: completeness in percent.
    pub sla_completeness_percent: Option<f64>,
    /// The contract's `id`, empty for a product registered without a contract.
    pub contract_id: String,
    /// The contract's `version`, empty without one.
    pub contract_version: String,
    /// The contract itself (ODCS YAML), empty without one.
    pub contract_spec: String,
    /// Hash of the column names, types and nullability.
    pub schema_hash: String,
    /// The product's columns.
    pub columns: Vec<Column>,
    /// Quality checks declared by the contract.
    pub checks: Vec<Check>,
    /// When the product was registered (microseconds, UTC).
    pub created_at: i64,
    /// When it last changed (microseconds, UTC).
    pub updated_at: i64,
    /// The principal that made the last change.
    pub updated_by: String,
    /// The Open Data Product Standard product whose output port this table is (its `id`), when
    /// an ODPS file says so.
    #[serde(default)]
    pub data_product: Option<String>,
    /// That output port: `name (version)`.
    #[serde(default)]
    pub output_port: Option<String>,
    /// The contracts that product reads: its input ports' contract ids.
    #[serde(default)]
    pub input_ports: Option<Vec<String>>,
    /// The ODPS file as applied.
    #[serde(default)]
    pub odps_spec: Option<String>,
    /// The product's name as its contract writes it (`Orders Event Stream`), when that is not
    /// a SQL name and `name` is the SQL name made of it.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The row filter its contract sets (`customProperties` `rowFilter`): a SQL predicate over
    /// its columns and the principal. A row filter of the Policy spec applies as well.
    #[serde(default)]
    pub row_filter: Option<String>,
    /// Whether that filter applies to the owner team and admins too (`rowFilterAppliesToOwners`;
    /// by default they see every row).
    #[serde(default)]
    pub row_filter_applies_to_owners: Option<bool>,
    /// The columns its Delta table is partitioned by (a managed product: set when the table is
    /// created, by `PARTITIONED BY` or the contract's `partitioned` properties).
    #[serde(default)]
    pub partition_by: Option<Vec<String>>,
    /// Its storage policy: how many days VACUUM keeps the files older versions need (its
    /// contract's `retentionDays`; without one, its domain's).
    #[serde(default)]
    pub retention_days: Option<i64>,
    /// Its storage policy: the size OPTIMIZE compacts its files to, in bytes (its contract's
    /// `targetFileSize`; without one, its domain's).
    #[serde(default)]
    pub target_file_size: Option<i64>,
    /// How many data files its table had when lakemeta last measured it: when `CREATE TABLE …
    /// AS` wrote it and after each `OPTIMIZE`, `VACUUM` and `MAINTAIN` (a managed product).
    #[serde(default)]
    pub file_count: Option<i64>,
    /// The bytes of those data files.
    #[serde(default)]
    pub size_bytes: Option<i64>,
    /// When it was last compacted or vacuumed (microseconds, UTC).
    #[serde(default)]
    pub last_maintained: Option<i64>,
}

impl DataProduct {
    /// The qualified name.
    pub fn qualified_name(&self) -> ProductName {
        ProductName::new(&self.domain, &self.name)
    }

    /// The column of that name (case aside), or a message that lists the columns there are.
    pub fn column_named(&self, name: &str) -> Result<&Column, String> {
        self.columns
            .iter()
            .find(|k| k.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let names: Vec<&str> = self.columns.iter().map(|k| k.name.as_str()).collect();
                format!(
                    "data product {}.{} has no column '{name}'; its columns: {}",
                    self.domain,
                    self.name,
                    names.join(", ")
                )
            })
    }

    /// The SLA as one value.
    pub fn sla(&self) -> Sla {
        Sla {
            freshness_minutes: self.sla_freshness_minutes,
            availability_percent: self.sla_availability_percent,
            completeness_percent: self.sla_completeness_percent,
        }
    }

    /// The storage format, parsed.
    pub fn data_format(&self) -> DataFormat {
        self.format.parse().unwrap_or(DataFormat::Delta)
    }

    /// True when everything a user declares is equal (timestamps, author and what lakemeta
    /// measured of the table ignored).
    pub fn same_definition(&self, other: &DataProduct) -> bool {
        let strip = |p: &DataProduct| DataProduct {
            created_at: 0,
            updated_at: 0,
            updated_by: String::new(),
            file_count: None,
            size_bytes: None,
            last_maintained: None,
            ..p.clone()
        };
        strip(self) == strip(other)
    }

    /// This product with what lakemeta last measured of `before`'s table (a new definition of
    /// a product keeps them: its table is still the one measured).
    pub fn measured_as(self, before: &DataProduct) -> DataProduct {
        DataProduct {
            file_count: before.file_count,
            size_bytes: before.size_bytes,
            last_maintained: before.last_maintained,
            ..self
        }
    }
}
