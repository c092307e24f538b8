//! Physical types as other engines write them in contracts — Postgres, MySQL, Snowflake,
//! BigQuery, Databricks/Spark, Trino, Oracle and SQL Server — mapped to Arrow. The type text is
//! read by DataFusion's SQL parser under each engine's dialect in turn, so `varchar(2)`,
//! `NUMBER(38,0)`, `timestamp_ntz`, `STRUCT<a: INT>`, `ARRAY<STRING>`, `map(varchar, bigint)` or
//! `row(a bigint)` all parse; a type that names no data shape (Snowflake's typeless `ARRAY`,
//! `VARIANT`, a geometry) maps to nothing, and the contract's logical type decides.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use datafusion::sql::sqlparser::ast::{
    ArrayElemTypeDef, DataType as SqlType, ExactNumberInfo, StructField,
};
use datafusion::sql::sqlparser::dialect::{
    BigQueryDialect, ClickHouseDialect, DatabricksDialect, Dialect, DuckDbDialect, GenericDialect,
    MsSqlDialect, MySqlDialect, PostgreSqlDialect, SnowflakeDialect, SparkSqlDialect,
};
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

/// The Arrow type an engine's physical type names, or `None` when it names no shape lakemeta
/// can hold (or does not parse as a type of any of the engines).
pub fn physical_arrow_type(text: &str) -> Option<DataType> {
    let text = text.trim();
    if text.is_empty() || text.len() > 4096 {
        return None;
    }
    // Trino's `row(name type, …)` is ClickHouse's named `Tuple(…)`; ClickHouse's dialect also
    // reads Trino's `array(t)` and `map(k, v)`
    let trino = rewrite_trino_rows(text);
    let dialects: [&dyn Dialect; 9] = [
        &DatabricksDialect {},
        &SparkSqlDialect {},
        &BigQueryDialect {},
        &SnowflakeDialect {},
        &PostgreSqlDialect {},
        &MySqlDialect {},
        &MsSqlDialect {},
        &DuckDbDialect {},
        &GenericDialect {},
    ];
    dialects
        .into_iter()
        .find_map(|d| parse_type(d, text).and_then(|t| arrow_of(&t)))
        .or_else(|| parse_type(&ClickHouseDialect {}, &trino).and_then(|t| arrow_of(&t)))
}

/// The type the whole text parses to under one dialect (nothing may follow it).
fn parse_type(dialect: &dyn Dialect, text: &str) -> Option<SqlType> {
    let mut parser = Parser::new(dialect).try_with_sql(text).ok()?;
    let t = parser.parse_data_type().ok()?;
    (parser.peek_token().token == Token::EOF).then_some(t)
}

/// `row(` written by Trino becomes `Tuple(`, word by word, so nested rows turn too.
fn rewrite_trino_rows(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let lower = text.to_ascii_lowercase();
    let mut i = 0;
    while i < text.len() {
        let starts_word = i == 0
            || !lower.as_bytes()[i - 1].is_ascii_alphanumeric() && lower.as_bytes()[i - 1] != b'_';
        if starts_word && lower[i..].starts_with("row") {
            let rest = lower[i + 3..].trim_start();
            if rest.starts_with('(') {
                out.push_str("Tuple");
                i += 3;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn decimal(precision: u64, scale: i64) -> Option<DataType> {
    let p = u8::try_from(precision).ok()?;
    let s = i8::try_from(scale).ok()?;
    if p == 0 || i64::from(s) > i64::from(p) {
        return None;
    }
    match p {
        1..=38 => Some(DataType::Decimal128(p, s)),
        39..=76 => Some(DataType::Decimal256(p, s)),
        _ => None,
    }
}

/// DECIMAL/NUMERIC/NUMBER without a precision: Snowflake's and the SQL standard's 38 digits,
/// scale 0 unless said.
fn exact(info: &ExactNumberInfo) -> Option<DataType> {
    match info {
        ExactNumberInfo::None => decimal(38, 0),
        ExactNumberInfo::Precision(p) => decimal(*p, 0),
        ExactNumberInfo::PrecisionAndScale(p, s) => decimal(*p, *s),
    }
}

fn struct_of(fields: &[StructField]) -> Option<DataType> {
    let mut out = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let name = f
            .field_name
            .as_ref()
            .map_or_else(|| format!("_{i}"), |n| n.value.clone());
        out.push(Field::new(name, arrow_of(&f.field_type)?, true));
    }
    Some(DataType::Struct(Fields::from(out)))
}

fn list_of(item: &SqlType) -> Option<DataType> {
    Some(DataType::List(Arc::new(Field::new(
        "item",
        arrow_of(item)?,
        true,
    ))))
}

fn map_of(key: &SqlType, value: &SqlType) -> Option<DataType> {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", arrow_of(key)?, false),
            Field::new("value", arrow_of(value)?, true),
        ])),
        false,
    );
    Some(DataType::Map(Arc::new(entries), false))
}

/// The Arrow type of a parsed SQL type; `None` for a type that names no shape lakemeta holds.
fn arrow_of(t: &SqlType) -> Option<DataType> {
    use SqlType as S;
    Some(match t {
        S::Boolean | S::Bool => DataType::Boolean,
        // SQL Server's BIT is its boolean; a longer bit string is bytes
        S::Bit(None) | S::Bit(Some(1)) => DataType::Boolean,
        S::Bit(_) | S::BitVarying(_) | S::VarBit(_) => DataType::Binary,
        S::TinyInt(_) => DataType::Int8,
        S::SmallInt(_) | S::Int2(_) | S::Int16 => DataType::Int16,
        S::MediumInt(_) | S::Int(_) | S::Integer(_) | S::Int4(_) | S::Int32 => DataType::Int32,
        // Postgres's INT8 is eight bytes; BigQuery's INT64 and Spark's LONG are the same
        S::BigInt(_) | S::Int8(_) | S::Int64 => DataType::Int64,
        S::Int128 | S::HugeInt => DataType::Decimal128(38, 0),
        S::TinyIntUnsigned(_) | S::UTinyInt | S::UInt8 => DataType::UInt8,
        S::SmallIntUnsigned(_) | S::Int2Unsigned(_) | S::USmallInt | S::UInt16 => DataType::UInt16,
        S::MediumIntUnsigned(_)
        | S::IntUnsigned(_)
        | S::IntegerUnsigned(_)
        | S::Int4Unsigned(_)
        | S::UInt32 => DataType::UInt32,
        S::BigIntUnsigned(_) | S::Int8Unsigned(_) | S::UBigInt | S::UInt64 => DataType::UInt64,
        S::Real | S::Float4 | S::Float32 | S::RealUnsigned => DataType::Float32,
        // FLOAT(p): single precision up to 24 bits of mantissa, as the standard has it; a bare
        // FLOAT is eight bytes in Snowflake, BigQuery and Postgres
        S::Float(ExactNumberInfo::Precision(p))
        | S::FloatUnsigned(ExactNumberInfo::Precision(p))
            if *p <= 24 =>
        {
            DataType::Float32
        }
        S::Float(_)
        | S::FloatUnsigned(_)
        | S::Double(_)
        | S::DoubleUnsigned(_)
        | S::DoublePrecision
        | S::DoublePrecisionUnsigned
        | S::Float8
        | S::Float64 => DataType::Float64,
        S::Decimal(info)
        | S::DecimalUnsigned(info)
        | S::Numeric(info)
        | S::Dec(info)
        | S::DecUnsigned(info) => exact(info)?,
        // BigQuery: NUMERIC is (38, 9), BIGNUMERIC (76, 38)
        S::BigNumeric(ExactNumberInfo::None) | S::BigDecimal(ExactNumberInfo::None) => {
            DataType::Decimal256(76, 38)
        }
        S::BigNumeric(info) | S::BigDecimal(info) => exact(info)?,
        S::Character(_)
        | S::Char(_)
        | S::CharacterVarying(_)
        | S::CharVarying(_)
        | S::Varchar(_)
        | S::Nvarchar(_)
        | S::Text
        | S::TinyText
        | S::MediumText
        | S::LongText
        | S::String(_)
        | S::FixedString(_)
        | S::Clob(_)
        | S::CharacterLargeObject(_)
        | S::CharLargeObject(_)
        | S::Uuid
        | S::JSON
        | S::JSONB
        | S::Enum(..)
        | S::Set(_) => DataType::Utf8,
        S::Binary(_)
        | S::Varbinary(_)
        | S::Blob(_)
        | S::TinyBlob
        | S::MediumBlob
        | S::LongBlob
        | S::Bytes(_)
        | S::Bytea => DataType::Binary,
        S::Date | S::Date32 => DataType::Date32,
        S::Time(_, _) => DataType::Time64(TimeUnit::Microsecond),
        S::Datetime(_) | S::Datetime64(..) | S::Timestamp(_, _) | S::TimestampNtz(_) => timestamp(),
        S::Interval { .. } => DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano),
        S::Array(ArrayElemTypeDef::None) => return None,
        S::Array(
            ArrayElemTypeDef::AngleBracket(item)
            | ArrayElemTypeDef::SquareBracket(item, _)
            | ArrayElemTypeDef::Parenthesis(item),
        ) => list_of(item)?,
        S::Struct(fields, _) | S::Tuple(fields) => struct_of(fields)?,
        S::Map(key, value) => map_of(key, value)?,
        S::Nullable(inner) | S::LowCardinality(inner) => arrow_of(inner)?,
        S::Custom(name, modifiers) => custom(&name.to_string(), modifiers)?,
        _ => return None,
    })
}

/// Types the parser knows only by name: Oracle's, Snowflake's and SQL Server's own.
fn custom(name: &str, modifiers: &[String]) -> Option<DataType> {
    let number = |i: usize| modifiers.get(i).and_then(|m| m.trim().parse::<i64>().ok());
    Some(match name.to_ascii_uppercase().as_str() {
        // Oracle's and Snowflake's NUMBER(p, s); a bare NUMBER is Snowflake's NUMBER(38, 0)
        "NUMBER" => match (number(0), number(1)) {
            (None, _) if modifiers.is_empty() => decimal(38, 0)?,
            (Some(p), s) => decimal(u64::try_from(p).ok()?, s.unwrap_or(0))?,
            _ => return None,
        },
        "VARCHAR2" | "NVARCHAR2" | "NCHAR" | "NTEXT" | "CITEXT" | "NCLOB" | "LONGVARCHAR"
        | "UNIQUEIDENTIFIER" | "XML" | "XMLTYPE" | "ROWID" | "INET" | "CIDR" | "MACADDR"
        | "SYSNAME" => DataType::Utf8,
        "RAW" | "IMAGE" | "LONGVARBINARY" => DataType::Binary,
        "SMALLSERIAL" | "SERIAL2" => DataType::Int16,
        "SERIAL" | "SERIAL4" => DataType::Int32,
        "BIGSERIAL" | "SERIAL8" => DataType::Int64,
        "BINARY_FLOAT" => DataType::Float32,
        "BINARY_DOUBLE" | "FLOAT64" => DataType::Float64,
        "MONEY" => DataType::Decimal128(19, 4),
        "SMALLMONEY" => DataType::Decimal128(10, 4),
        "DATETIME2" | "DATETIMEOFFSET" | "SMALLDATETIME" | "TIMESTAMP_LTZ" | "TIMESTAMP_TZ"
        | "TIMESTAMP_NTZ" | "TIMESTAMPTZ" => timestamp(),
        "INT64" | "LONG" => DataType::Int64,
        "BYTEINT" => DataType::Int8,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> String {
        physical_arrow_type(text).map_or_else(|| "-".into(), |t| super::super::type_name(&t))
    }

    #[test]
    fn each_engine_family_maps() {
        let cases = [
            // Postgres
            ("varchar(2)", "string"),
            ("character varying(255)", "string"),
            ("int4", "int"),
            ("int8", "bigint"),
            ("float8", "double"),
            ("numeric(12,2)", "decimal(12,2)"),
            ("timestamp with time zone", "timestamp"),
            ("bytea", "binary"),
            ("text[]", "array<string>"),
            ("jsonb", "string"),
            ("bigserial", "bigint"),
            // MySQL
            ("tinyint(1)", "tinyint"),
            ("int unsigned", "uint32"),
            ("datetime", "timestamp"),
            ("longtext", "string"),
            // Snowflake
            ("NUMBER(38,0)", "decimal(38,0)"),
            ("NUMBER", "decimal(38,0)"),
            ("timestamp_ntz", "timestamp"),
            ("TIMESTAMP_LTZ", "timestamp"),
            ("VARIANT", "-"),
            ("ARRAY", "-"),
            // BigQuery
            ("INT64", "bigint"),
            ("FLOAT64", "double"),
            ("BIGNUMERIC", "decimal(76,38)"),
            ("BYTES", "binary"),
            ("ARRAY<STRING>", "array<string>"),
            ("STRUCT<a INT64, b STRING>", "struct<a: bigint, b: string>"),
            // Databricks / Spark
            ("STRING", "string"),
            (
                "STRUCT<a: INT, b: ARRAY<DOUBLE>>",
                "struct<a: int, b: array<double>>",
            ),
            ("MAP<STRING, BIGINT>", "map<string, bigint>"),
            ("DECIMAL(10,2)", "decimal(10,2)"),
            // Trino
            ("varchar", "string"),
            ("array(varchar)", "array<string>"),
            ("map(varchar, bigint)", "map<string, bigint>"),
            (
                "row(a bigint, b array(row(c double)))",
                "struct<a: bigint, b: array<struct<c: double>>>",
            ),
            ("timestamp(3) with time zone", "timestamp"),
            // Oracle
            ("VARCHAR2(20)", "string"),
            ("NUMBER(10)", "decimal(10,0)"),
            ("RAW(16)", "binary"),
            // SQL Server
            ("nvarchar(max)", "string"),
            ("bit", "boolean"),
            ("datetime2", "timestamp"),
            ("uniqueidentifier", "string"),
            ("money", "decimal(19,4)"),
            // not types
            ("table", "-"),
            ("list", "-"),
            ("", "-"),
            ("varchar(2) garbage", "-"),
        ];
        let mut wrong = Vec::new();
        for (text, want) in cases {
            let got = name(text);
            if got != want {
                wrong.push(format!("{text}: got {got}, want {want}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
