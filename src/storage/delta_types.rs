//! The types a Delta table holds. Delta has no unsigned integers, no time of day and no
//! decimals wider than 38 digits; a managed product whose contract declares one stores it as
//! the nearest type Delta has, without loss: unsigned integers as the next wider signed type
//! (`uint64` as `decimal(20,0)`), a time of day as its text (`HH:MM:SS[.ffffff]`, which sorts
//! as the times do), a wider decimal as its text.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields};

/// The type a Delta table stores for a column of type `t` (itself where Delta has it).
pub fn delta_type(t: &DataType) -> DataType {
    match t {
        DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 => DataType::Int64,
        DataType::UInt64 => DataType::Decimal128(20, 0),
        DataType::Time32(_) | DataType::Time64(_) | DataType::Decimal256(_, _) => DataType::Utf8,
        DataType::Interval(_) | DataType::Duration(_) => DataType::Utf8,
        DataType::List(item) | DataType::LargeList(item) => {
            DataType::List(Arc::new(field(item.as_ref())))
        }
        DataType::Struct(fields) => {
            DataType::Struct(Fields::from_iter(fields.iter().map(|f| field(f.as_ref()))))
        }
        DataType::Map(entries, sorted) => DataType::Map(Arc::new(field(entries.as_ref())), *sorted),
        other => other.clone(),
    }
}

fn field(f: &Field) -> Field {
    Field::new(f.name(), delta_type(f.data_type()), f.is_nullable())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::TimeUnit;

    #[test]
    fn what_delta_lacks_is_stored_wider_or_as_text() {
        assert_eq!(delta_type(&DataType::UInt32), DataType::Int64);
        assert_eq!(
            delta_type(&DataType::Time64(TimeUnit::Microsecond)),
            DataType::Utf8
        );
        let nested = DataType::List(Arc::new(Field::new("item", DataType::UInt8, true)));
        assert_eq!(
            delta_type(&nested),
            DataType::List(Arc::new(Field::new("item", DataType::Int16, true)))
        );
        assert_eq!(delta_type(&DataType::Date32), DataType::Date32);
    }
}
