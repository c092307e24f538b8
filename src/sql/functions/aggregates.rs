//! Quality aggregates usable in any query: `null_ratio(x)`, `duplicate_count(x)` and
//! `freshness_minutes(ts)`.

use std::collections::HashSet;
use std::sync::Arc;

#[cfg(test)]
use arrow::array::Int64Array;
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};

/// Which quality aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    NullRatio,
    DuplicateCount,
    FreshnessMinutes,
}

/// A quality aggregate function.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct QualityAggregate {
    kind: Kind,
    signature: Signature,
}

/// `null_ratio(x)`: the share of rows where `x` is NULL, 0–1 (0 for no rows).
pub fn null_ratio() -> AggregateUDF {
    make(Kind::NullRatio)
}

/// `duplicate_count(x)`: non-null values minus distinct non-null values, i.e. how many values
/// repeat one seen before (0 when `x` is unique).
pub fn duplicate_count() -> AggregateUDF {
    make(Kind::DuplicateCount)
}

/// `freshness_minutes(ts)`: minutes from the newest value of a timestamp (or date) column to
/// now; NULL when there is none.
pub fn freshness_minutes() -> AggregateUDF {
    make(Kind::FreshnessMinutes)
}

fn make(kind: Kind) -> AggregateUDF {
    AggregateUDF::from(QualityAggregate {
        kind,
        signature: Signature::any(1, Volatility::Volatile),
    })
}

impl AggregateUDFImpl for QualityAggregate {
    fn name(&self) -> &str {
        match self.kind {
            Kind::NullRatio => "null_ratio",
            Kind::DuplicateCount => "duplicate_count",
            Kind::FreshnessMinutes => "freshness_minutes",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match self.kind {
            Kind::NullRatio => Ok(DataType::Float64),
            Kind::DuplicateCount => Ok(DataType::Int64),
            Kind::FreshnessMinutes => match arg_types.first() {
                Some(DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64) => {
                    Ok(DataType::Float64)
                }
                Some(other) => exec_err!(
                    "freshness_minutes takes a timestamp or date column, not {other}; cast it: \
                     freshness_minutes(CAST(col AS TIMESTAMP))"
                ),
                None => exec_err!("freshness_minutes takes one argument"),
            },
        }
    }

    fn is_nullable(&self) -> bool {
        self.kind == Kind::FreshnessMinutes
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(match self.kind {
            Kind::NullRatio => Box::new(NullRatio::default()),
            Kind::DuplicateCount => {
                let input = args
                    .expr_fields
                    .first()
                    .map(|f| f.data_type().clone())
                    .unwrap_or(DataType::Null);
                Box::new(Duplicates {
                    input,
                    non_null: 0,
                    seen: HashSet::new(),
                })
            }
            Kind::FreshnessMinutes => Box::new(Newest::default()),
        })
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let f = |n: &str, t: DataType| Arc::new(Field::new(format!("{}[{n}]", args.name), t, true));
        Ok(match self.kind {
            Kind::NullRatio => vec![f("nulls", DataType::Int64), f("rows", DataType::Int64)],
            Kind::DuplicateCount => {
                let input = args
                    .input_fields
                    .first()
                    .map(|f| f.data_type().clone())
                    .unwrap_or(DataType::Null);
                vec![
                    f("non_null", DataType::Int64),
                    f(
                        "distinct",
                        DataType::List(Arc::new(Field::new_list_field(input, true))),
                    ),
                ]
            }
            Kind::FreshnessMinutes => vec![f(
                "newest",
                DataType::Timestamp(TimeUnit::Microsecond, None),
            )],
        })
    }
}

#[derive(Debug, Default)]
struct NullRatio {
    nulls: i64,
    rows: i64,
}

impl Accumulator for NullRatio {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let a = &values[0];
        self.nulls += a.logical_null_count() as i64;
        self.rows += a.len() as i64;
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let nulls = states[0].as_primitive::<Int64Type>();
        let rows = states[1].as_primitive::<Int64Type>();
        self.nulls += nulls.iter().flatten().sum::<i64>();
        self.rows += rows.iter().flatten().sum::<i64>();
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Int64(Some(self.nulls)),
            ScalarValue::Int64(Some(self.rows)),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let ratio = if self.rows == 0 {
            0.0
        } else {
            self.nulls as f64 / self.rows as f64
        };
        Ok(ScalarValue::Float64(Some(ratio)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

#[derive(Debug)]
struct Duplicates {
    input: DataType,
    non_null: i64,
    seen: HashSet<ScalarValue>,
}

impl Duplicates {
    fn add(&mut self, a: &ArrayRef) -> Result<()> {
        for i in 0..a.len() {
            if a.is_valid(i) {
                self.seen.insert(ScalarValue::try_from_array(a, i)?);
            }
        }
        Ok(())
    }
}

impl Accumulator for Duplicates {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let a = &values[0];
        self.non_null += (a.len() - a.logical_null_count()) as i64;
        self.add(a)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let counts = states[0].as_primitive::<Int64Type>();
        self.non_null += counts.iter().flatten().sum::<i64>();
        let lists = states[1].as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_valid(i) {
                self.add(&lists.value(i))?;
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let values: Vec<ScalarValue> = self.seen.iter().cloned().collect();
        let list = ScalarValue::new_list_nullable(&values, &self.input);
        Ok(vec![
            ScalarValue::Int64(Some(self.non_null)),
            ScalarValue::List(list),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(
            self.non_null - self.seen.len() as i64,
        )))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.seen.iter().map(ScalarValue::size).sum::<usize>()
    }
}

#[derive(Debug, Default)]
struct Newest {
    newest_us: Option<i64>,
}

impl Newest {
    fn add(&mut self, a: &ArrayRef) -> Result<()> {
        let target = DataType::Timestamp(TimeUnit::Microsecond, None);
        let a = arrow::compute::cast(a, &target)?;
        if let Some(m) = arrow::compute::max(a.as_primitive::<TimestampMicrosecondType>()) {
            self.newest_us = Some(self.newest_us.map_or(m, |n| n.max(m)));
        }
        Ok(())
    }
}

impl Accumulator for Newest {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(&values[0])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.add(&states[0])
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::TimestampMicrosecond(
            self.newest_us,
            None,
        )])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let now = chrono::Utc::now().timestamp_micros();
        Ok(ScalarValue::Float64(
            self.newest_us.map(|n| (now - n) as f64 / 60_000_000.0),
        ))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

/// Rows counted by a state array, for tests of merging.
#[cfg(test)]
fn counts(a: &Int64Array) -> i64 {
    a.iter().flatten().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_merge_across_partitions() {
        let mut a = Duplicates {
            input: DataType::Int64,
            non_null: 0,
            seen: HashSet::new(),
        };
        let mut b = Duplicates {
            input: DataType::Int64,
            non_null: 0,
            seen: HashSet::new(),
        };
        a.update_batch(&[Arc::new(Int64Array::from(vec![Some(1), Some(2), None]))])
            .unwrap();
        b.update_batch(&[Arc::new(Int64Array::from(vec![Some(2), Some(3)]))])
            .unwrap();
        let state: Vec<ArrayRef> = b
            .state()
            .unwrap()
            .iter()
            .map(|s| s.to_array().unwrap())
            .collect();
        assert_eq!(counts(state[0].as_primitive::<Int64Type>()), 2);
        a.merge_batch(&state).unwrap();
        assert_eq!(a.evaluate().unwrap(), ScalarValue::Int64(Some(1)));
    }
}
