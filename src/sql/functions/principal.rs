//! `current_user()` — the principal a statement runs as —, `is_member('team')` — whether it
//! belongs to a team of the Teams spec — and `principal_attribute('key')` — its attribute in the
//! Teams spec (`region`). Row filters (and anyone's SQL) use them.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::governance::Caller;

/// The function's caller, compared and hashed by principal (DataFusion compares functions).
#[derive(Debug)]
struct Bound {
    caller: Arc<Caller>,
    signature: Signature,
}

impl PartialEq for Bound {
    fn eq(&self, other: &Self) -> bool {
        self.caller.principal() == other.caller.principal()
    }
}

impl Eq for Bound {}

impl Hash for Bound {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.caller.principal().name.hash(state);
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CurrentUser(Bound);

#[derive(Debug, PartialEq, Eq, Hash)]
struct IsMember(Bound);

#[derive(Debug, PartialEq, Eq, Hash)]
struct PrincipalAttribute(Bound);

/// `principal_attribute('key')` for `caller`: NULL when no team of the principal sets it.
pub fn principal_attribute_udf(caller: &Arc<Caller>) -> ScalarUDF {
    ScalarUDF::from(PrincipalAttribute(Bound {
        caller: Arc::clone(caller),
        signature: Signature::string(1, Volatility::Stable),
    }))
}

/// `current_user()` (also `current_user` without parentheses) for `caller`.
pub fn current_user_udf(caller: &Arc<Caller>) -> ScalarUDF {
    ScalarUDF::from(CurrentUser(Bound {
        caller: Arc::clone(caller),
        signature: Signature::nullary(Volatility::Stable),
    }))
}

/// `is_member('team')` for `caller`.
pub fn is_member_udf(caller: &Arc<Caller>) -> ScalarUDF {
    ScalarUDF::from(IsMember(Bound {
        caller: Arc::clone(caller),
        signature: Signature::string(1, Volatility::Stable),
    }))
}

impl ScalarUDFImpl for CurrentUser {
    fn name(&self) -> &str {
        "current_user"
    }

    fn signature(&self) -> &Signature {
        &self.0.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
            self.0.caller.principal().name.clone(),
        ))))
    }
}

impl ScalarUDFImpl for IsMember {
    fn name(&self) -> &str {
        "is_member"
    }

    fn signature(&self) -> &Signature {
        &self.0.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let caller = &self.0.caller;
        match args.args.as_slice() {
            [ColumnarValue::Scalar(s)] => Ok(ColumnarValue::Scalar(ScalarValue::Boolean(
                s.try_as_str().flatten().map(|team| caller.is_member(team)),
            ))),
            [ColumnarValue::Array(a)] => {
                let teams = arrow::compute::cast(a, &DataType::Utf8)?;
                let teams = arrow::array::AsArray::as_string::<i32>(&teams);
                let out: arrow::array::BooleanArray = teams
                    .iter()
                    .map(|t| t.map(|team| caller.is_member(team)))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
            _ => exec_err!("is_member takes one argument, the team: is_member('orders-team')"),
        }
    }
}

impl ScalarUDFImpl for PrincipalAttribute {
    fn name(&self) -> &str {
        "principal_attribute"
    }

    fn signature(&self) -> &Signature {
        &self.0.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let caller = &self.0.caller;
        match args.args.as_slice() {
            [ColumnarValue::Scalar(s)] => Ok(ColumnarValue::Scalar(ScalarValue::Utf8(
                s.try_as_str()
                    .flatten()
                    .and_then(|key| caller.attribute(key)),
            ))),
            [ColumnarValue::Array(a)] => {
                let keys = arrow::compute::cast(a, &DataType::Utf8)?;
                let keys = arrow::array::AsArray::as_string::<i32>(&keys);
                let out: arrow::array::StringArray = keys
                    .iter()
                    .map(|k| k.and_then(|key| caller.attribute(key)))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
            _ => exec_err!(
                "principal_attribute takes one argument, the attribute: \
                 principal_attribute('region')"
            ),
        }
    }
}
