//! Column masks: the built-in masks as DataFusion functions (never registered in a session, so
//! no statement can call them; the secure scan puts them in its projection), and a policy's
//! SQL masks turned into expressions over the raw column. Every mask keeps the column's type;
//! a built-in applied to a type it has no meaning for (`last4` of a number) gives NULL.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, GenericStringArray, GenericStringBuilder, Int32Array,
    Int64Array, OffsetSizeTrait, StringViewBuilder, new_null_array,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Field, FieldRef, Int64Type, Schema};
use chrono::{Datelike, NaiveDate};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema, Result as DfResult, ScalarValue, exec_err};
use datafusion::execution::SessionState;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::{MaskKind, MaskRule};
use crate::storage::MaskKey;

/// What a masked text value becomes under `redact`.
pub const REDACTED: &str = "[redacted]";

/// A built-in mask as a scalar function: `mask_email(column)` and so on; without a kind,
/// `masked(expression)`, which passes a SQL mask's values through. Either reads as a nullable
/// column (a masked column may read NULL whatever the table declares), as the secure scan's
/// schema says. Its `Debug`, its name and the plans that show it never show the key.
struct MaskFunction {
    kind: Option<MaskKind>,
    key: Arc<MaskKey>,
    signature: Signature,
}

impl std::fmt::Debug for MaskFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for MaskFunction {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.key == other.key
    }
}

impl Eq for MaskFunction {}

impl Hash for MaskFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
    }
}

impl ScalarUDFImpl for MaskFunction {
    fn name(&self) -> &str {
        match self.kind {
            Some(MaskKind::Email) => "mask_email",
            Some(MaskKind::Last4) => "mask_last4",
            Some(MaskKind::Null) => "mask_null",
            Some(MaskKind::Year) => "mask_year",
            Some(MaskKind::Redact) => "mask_redact",
            Some(MaskKind::Hash) => "mask_hash",
            None => "masked",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        match arg_types {
            [t] => Ok(t.clone()),
            _ => exec_err!("{} takes one column", self.name()),
        }
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        match args.arg_fields {
            [f] => Ok(Arc::new(Field::new(
                self.name(),
                f.data_type().clone(),
                true,
            ))),
            _ => exec_err!("{} takes one column", self.name()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [value] = args.args.as_slice() else {
            return exec_err!("{} takes one column", self.name());
        };
        let scalar = matches!(value, ColumnarValue::Scalar(_));
        let array = value.to_array(args.number_rows)?;
        let masked = match self.kind {
            Some(kind) => mask_array(kind, &self.key, &array)?,
            None => array,
        };
        if scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &masked, 0,
            )?))
        } else {
            Ok(ColumnarValue::Array(masked))
        }
    }
}

/// The expression that reads `column` (of type `data_type`) through `rule`. A SQL mask is
/// planned with `state`'s functions; one that does not plan, or returns another type than the
/// column's, is an error naming the fix (the read then fails closed).
pub fn mask_expr(
    rule: &MaskRule,
    column: &str,
    data_type: &DataType,
    key: &Arc<MaskKey>,
    state: &SessionState,
) -> std::result::Result<Expr, String> {
    let raw = Expr::Column(Column::new_unqualified(column));
    let call = |kind: Option<MaskKind>, arg: Expr| {
        let udf = ScalarUDF::new_from_impl(MaskFunction {
            kind,
            key: Arc::clone(key),
            signature: Signature::any(1, Volatility::Immutable),
        });
        Expr::ScalarFunction(ScalarFunction::new_udf(Arc::new(udf), vec![arg]))
    };
    match rule {
        MaskRule::Builtin(kind) => Ok(call(Some(*kind), raw)),
        MaskRule::Sql(sql) => {
            let schema = DFSchema::try_from(Schema::new(vec![Field::new(
                "value",
                data_type.clone(),
                true,
            )]))
            .map_err(|e| e.to_string())?;
            let expr = state
                .create_logical_expr(sql, &schema)
                .and_then(|e| coerce(e, &schema))
                .map_err(|e| format!("the mask `{sql}` does not plan: {e}"))?;
            let returns = expr
                .get_type(&schema)
                .map_err(|e| format!("the mask `{sql}` does not plan: {e}"))?;
            if returns != *data_type {
                return Err(format!(
                    "the mask `{sql}` returns {returns} but column {column} is {data_type}; a \
                     mask must return the column's type (cast it)"
                ));
            }
            expr.transform_up(|e| match e {
                Expr::Column(c) if c.name == "value" => Ok(Transformed::yes(raw.clone())),
                other => Ok(Transformed::no(other)),
            })
            .map(|t| call(None, t.data))
            .map_err(|e| e.to_string())
        }
    }
}

/// `expr` with the casts its operands need (a SQL text planned on its own, outside a query, is
/// not coerced by the analyzer).
pub fn coerce(expr: Expr, schema: &DFSchema) -> DfResult<Expr> {
    ExprSimplifier::new(SimplifyContext::default()).coerce(expr, schema)
}

/// A row filter's predicate, coerced and with its constant parts evaluated once: the
/// principal's functions (`current_user()`, `is_member('t')`, `principal_attribute('k')`) fold
/// into literals, so the scan below can prune files and row groups with it as it would with a
/// query's own `region = 'EU'`.
pub fn fold(expr: Expr, schema: &DFSchema) -> DfResult<Expr> {
    let expr = coerce(expr, schema)?;
    let context = SimplifyContext::builder()
        .with_schema(Arc::new(schema.clone()))
        .build();
    ExprSimplifier::new(context).simplify(expr)
}

/// Masks one array. The result has the input's type and length; NULL stays NULL.
pub fn mask_array(kind: MaskKind, key: &MaskKey, array: &ArrayRef) -> DfResult<ArrayRef> {
    let t = array.data_type();
    let text = matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    match kind {
        MaskKind::Email if text => map_text(array, write_email),
        MaskKind::Last4 if text => map_text(array, write_last4),
        MaskKind::Redact if text => map_text(array, |_, out| out.push_str(REDACTED)),
        MaskKind::Hash if text => {
            let mac = keyed(key);
            map_text(array, |v, out| {
                write_hex(&digest(&mac, v.as_bytes())[..16], out)
            })
        }
        MaskKind::Hash if matches!(t, DataType::Int64 | DataType::Int32) => {
            let mac = keyed(key);
            let wide = cast(array, &DataType::Int64)?;
            let mut digits = String::new();
            let hashed = wide.as_primitive::<Int64Type>().iter().map(|v| {
                v.map(|n| {
                    digits.clear();
                    // writing to a String cannot fail
                    let _ = write!(digits, "{n}");
                    let d = digest(&mac, digits.as_bytes());
                    let mut first = [0u8; 8];
                    first.copy_from_slice(&d[..8]);
                    i64::from_le_bytes(first)
                })
            });
            if *t == DataType::Int32 {
                // the low 32 bits: as uniform as the whole
                let out: Int32Array = hashed.map(|v| v.map(|h| h as i32)).collect();
                Ok(Arc::new(out))
            } else {
                let out: Int64Array = hashed.collect();
                Ok(Arc::new(out))
            }
        }
        MaskKind::Year if is_temporal(t) => {
            let days = cast(array, &DataType::Date32)?;
            let out: Date32Array = days
                .as_primitive::<Date32Type>()
                .iter()
                .map(|v| v.and_then(january_first))
                .collect();
            Ok(cast(&(Arc::new(out) as ArrayRef), t)?)
        }
        _ => Ok(new_null_array(t, array.len())),
    }
}

fn is_temporal(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
    )
}

/// Day number (since 1970-01-01) of January 1st of the year `days` falls in.
fn january_first(days: i32) -> Option<i32> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let date = epoch.checked_add_signed(chrono::Duration::days(i64::from(days)))?;
    let first = NaiveDate::from_ymd_opt(date.year(), 1, 1)?;
    i32::try_from(first.signed_duration_since(epoch).num_days()).ok()
}

/// A text array (of any of Arrow's three string layouts) with `f` applied to each value: `f`
/// writes the masked value into a buffer reused from value to value, and the result is built
/// in the input's own layout — no copy of the column into another layout and back, no string
/// allocated per value.
fn map_text(array: &ArrayRef, f: impl Fn(&str, &mut String)) -> DfResult<ArrayRef> {
    match array.data_type() {
        DataType::Utf8View => {
            let input = array.as_string_view();
            let mut out = StringViewBuilder::with_capacity(input.len());
            each_masked(input.iter(), &f, |v| out.append_option(v));
            Ok(Arc::new(out.finish()))
        }
        DataType::LargeUtf8 => Ok(Arc::new(map_offsets(array.as_string::<i64>(), &f))),
        DataType::Utf8 => Ok(Arc::new(map_offsets(array.as_string::<i32>(), &f))),
        other => exec_err!("a text mask applied to a {other} column"),
    }
}

/// [`map_text`] for the offset layouts (`Utf8`, `LargeUtf8`).
fn map_offsets<O: OffsetSizeTrait>(
    input: &GenericStringArray<O>,
    f: &impl Fn(&str, &mut String),
) -> GenericStringArray<O> {
    let mut out = GenericStringBuilder::<O>::with_capacity(input.len(), input.value_data().len());
    each_masked(input.iter(), f, |v| out.append_option(v));
    out.finish()
}

/// Hands `append` each value masked by `f` (written into one buffer reused from value to value),
/// and each NULL as NULL.
fn each_masked<'a>(
    values: impl Iterator<Item = Option<&'a str>>,
    f: &impl Fn(&str, &mut String),
    mut append: impl FnMut(Option<&str>),
) {
    let mut buf = String::new();
    for v in values {
        match v {
            Some(v) => {
                buf.clear();
                f(v, &mut buf);
                append(Some(&buf));
            }
            None => append(None),
        }
    }
}

/// `jane.doe@example.com` → `j***@example.com`; a value without a local part and a domain →
/// `***`.
pub fn mask_email(v: &str) -> String {
    let mut out = String::new();
    write_email(v, &mut out);
    out
}

/// [`mask_email`] written into `out`.
fn write_email(v: &str, out: &mut String) {
    match v.rsplit_once('@') {
        Some((local, domain)) if !domain.is_empty() => match local.chars().next() {
            Some(first) => {
                out.push(first);
                out.push_str("***@");
                out.push_str(domain);
            }
            None => out.push_str("***"),
        },
        _ => out.push_str("***"),
    }
}

/// `555-123-4567` → `***4567`; a value of four characters or fewer → `***`.
pub fn mask_last4(v: &str) -> String {
    let mut out = String::new();
    write_last4(v, &mut out);
    out
}

/// [`mask_last4`] written into `out`.
fn write_last4(v: &str, out: &mut String) {
    out.push_str("***");
    // the byte the last four characters start at, when there are more than four
    if let Some((at, _)) = v.char_indices().rev().nth(3)
        && at > 0
    {
        out.push_str(&v[at..]);
    }
}

type HmacSha256 = Hmac<Sha256>;

fn keyed(key: &MaskKey) -> HmacSha256 {
    // HMAC takes a key of any length
    HmacSha256::new_from_slice(key.bytes()).unwrap_or_else(|_| unreachable!())
}

fn digest(mac: &HmacSha256, value: &[u8]) -> [u8; 32] {
    let mut m = mac.clone();
    m.update(value);
    m.finalize().into_bytes().into()
}

/// `bytes` as lower-case hexadecimal, written into `out`.
fn write_hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{LargeStringArray, StringArray, StringViewArray};

    use super::*;

    fn text(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn strings(a: &ArrayRef) -> Vec<Option<String>> {
        a.as_string::<i32>()
            .iter()
            .map(|v| v.map(String::from))
            .collect()
    }

    #[test]
    fn text_masks_keep_nulls_and_hide_values() {
        let key = MaskKey::random();
        let input = text(&[Some("jane.doe@example.com"), None, Some("x"), Some("@b")]);
        assert_eq!(
            strings(&mask_array(MaskKind::Email, &key, &input).unwrap()),
            vec![
                Some("j***@example.com".into()),
                None,
                Some("***".into()),
                Some("***".into())
            ]
        );
        let phones = text(&[Some("555-123-4567"), Some("1234")]);
        assert_eq!(
            strings(&mask_array(MaskKind::Last4, &key, &phones).unwrap()),
            vec![Some("***4567".into()), Some("***".into())]
        );
        assert_eq!(
            strings(&mask_array(MaskKind::Redact, &key, &phones).unwrap()),
            vec![Some(REDACTED.into()), Some(REDACTED.into())]
        );
    }

    #[test]
    fn every_string_layout_keeps_its_layout() {
        let key = MaskKey::random();
        let values = vec![Some("jane.doe@example.com"), None, Some("ÿé@ü")];
        let want = vec![Some("j***@example.com".into()), None, Some("ÿ***@ü".into())];
        let view: ArrayRef = Arc::new(StringViewArray::from(values.clone()));
        let masked = mask_array(MaskKind::Email, &key, &view).unwrap();
        assert_eq!(masked.data_type(), &DataType::Utf8View);
        let got: Vec<Option<String>> = masked
            .as_string_view()
            .iter()
            .map(|v| v.map(String::from))
            .collect();
        assert_eq!(got, want);
        let large: ArrayRef = Arc::new(LargeStringArray::from(values));
        let masked = mask_array(MaskKind::Email, &key, &large).unwrap();
        assert_eq!(masked.data_type(), &DataType::LargeUtf8);
        let got: Vec<Option<String>> = masked
            .as_string::<i64>()
            .iter()
            .map(|v| v.map(String::from))
            .collect();
        assert_eq!(got, want);
        // the last four characters, not bytes
        assert_eq!(mask_last4("ab€ü€ö"), "***€ü€ö");
        assert_eq!(mask_last4("€ü€ö"), "***");
    }

    #[test]
    fn hash_is_keyed_and_deterministic() {
        let (k1, k2) = (MaskKey::random(), MaskKey::random());
        let input = text(&[Some("a@b.c"), Some("a@b.c"), Some("d@e.f")]);
        let h1 = strings(&mask_array(MaskKind::Hash, &k1, &input).unwrap());
        let h2 = strings(&mask_array(MaskKind::Hash, &k2, &input).unwrap());
        assert_eq!(h1[0], h1[1]);
        assert_ne!(h1[0], h1[2]);
        assert_ne!(h1[0], h2[0]);
        assert_eq!(h1[0].as_ref().unwrap().len(), 32);
        let ids: ArrayRef = Arc::new(Int32Array::from(vec![7, 7, 8]));
        let hashed = mask_array(MaskKind::Hash, &k1, &ids).unwrap();
        assert_eq!(hashed.data_type(), &DataType::Int32);
        let h = hashed.as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!(h.value(0), h.value(1));
        assert_ne!(h.value(0), 7);
    }

    #[test]
    fn year_keeps_the_type_and_other_types_become_null() {
        let key = MaskKey::random();
        // 2021-07-15 and 1969-12-31
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![Some(18823), Some(-1), None]));
        let masked = mask_array(MaskKind::Year, &key, &dates).unwrap();
        let d = masked.as_primitive::<Date32Type>();
        assert_eq!(d.value(0), 18628); // 2021-01-01
        assert_eq!(d.value(1), -365); // 1969-01-01
        assert!(d.is_null(2));
        let numbers: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let masked = mask_array(MaskKind::Last4, &key, &numbers).unwrap();
        assert_eq!(masked.null_count(), 2);
        assert_eq!(masked.data_type(), &DataType::Int64);
    }
}
