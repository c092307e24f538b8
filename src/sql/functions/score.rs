//! `quality_score(completeness, freshness_minutes, uniqueness, accuracy [, sla_minutes])`: the
//! 0–100 score from its four dimensions (see [`crate::quality::quality_score`]).

use arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use arrow::datatypes::{DataType, Float64Type};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use crate::quality::{ScoreInputs, quality_score};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct QualityScore {
    signature: Signature,
}

/// The `quality_score` scalar function. The shares are 0–1 (NULL: the product has no checks
/// of that dimension, full points); `freshness_minutes` is the data's age (NULL: unknown, no
/// freshness points); `sla_minutes` defaults to 60.
pub fn quality_score_udf() -> ScalarUDF {
    let f64s = |n| TypeSignature::Uniform(n, vec![DataType::Float64]);
    ScalarUDF::from(QualityScore {
        signature: Signature::one_of(vec![f64s(4), f64s(5)], Volatility::Immutable),
    })
}

impl ScalarUDFImpl for QualityScore {
    fn name(&self) -> &str {
        "quality_score"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays: Vec<ArrayRef> = ColumnarValue::values_to_arrays(&args.args)?;
        let cols: Vec<&Float64Array> = arrays
            .iter()
            .map(|a| a.as_primitive::<Float64Type>())
            .collect();
        let get = |c: usize, i: usize| -> Option<f64> {
            cols.get(c).and_then(|a| a.is_valid(i).then(|| a.value(i)))
        };
        let out: Float64Array = (0..n)
            .map(|i| {
                Some(quality_score(ScoreInputs {
                    completeness: get(0, i),
                    freshness_minutes: get(1, i),
                    uniqueness: get(2, i),
                    accuracy: get(3, i),
                    sla_minutes: get(4, i),
                }))
            })
            .collect();
        Ok(ColumnarValue::Array(std::sync::Arc::new(out)))
    }
}
