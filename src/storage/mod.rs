//! Storage: the only module that knows Delta and object storage.
//!
//! A warehouse is a root URL. Its metadata lives in Delta tables under `<root>/_meta/`, its
//! managed data products under `<root>/<domain>/<product>-<id>/`.

mod blind_append;
mod by_key;
mod data;
mod delta_types;
mod file_rows;
mod history;
mod key_reads;
mod local_listing;
mod location;
mod maintenance;
mod mask_key;
mod plan_input;
mod resilient_store;
mod retry;
mod s3;
mod schemas;
mod stats;
mod system_compaction;
mod system_table;
mod time_travel;
mod warehouse;

pub use by_key::KnownRows;
pub use data::{DataStore, DeltaWrite, ProductData, TableLayout, Written};
pub use delta_types::delta_type;
pub use file_rows::{FileKeys, FileRows};
pub use history::HistoryEntry;
pub use location::{WarehouseLocation, url_within};
pub use maintenance::{OptimizeReport, TableFiles, VacuumOptions, VacuumReport};
pub use mask_key::MaskKey;
pub use plan_input::WriteInput;
pub use resilient_store::{ResilientStore, attribute_storage_failures, storage_failures};
pub use retry::RetryPolicy;
pub use schemas::SystemTableKind;
pub use stats::{ColumnStats, TableStats};
pub(crate) use system_table::decode as decode_rows;
#[cfg(test)]
pub(crate) use system_table::encode as encode_rows;
pub use system_table::{Keyed, RowChange, SystemTable, decode_on_cores};
pub use warehouse::{LAYOUT_VERSION, Warehouse, root_store};
