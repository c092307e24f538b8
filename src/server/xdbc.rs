//! The SQL types lakemeta's SQL knows, as Flight SQL's `GetXdbcTypeInfo` describes them to
//! JDBC/ODBC-style clients (what to call a type in DDL, how to write its literals).

use std::sync::OnceLock;

use arrow_flight::sql::metadata::{XdbcTypeInfo, XdbcTypeInfoData, XdbcTypeInfoDataBuilder};
use arrow_flight::sql::{Nullable, Searchable, XdbcDataType, XdbcDatetimeSubcode};

/// The type table, built once.
pub fn type_info() -> &'static XdbcTypeInfoData {
    static INFO: OnceLock<XdbcTypeInfoData> = OnceLock::new();
    INFO.get_or_init(|| {
        let mut b = XdbcTypeInfoDataBuilder::new();
        for t in types() {
            b.append(t);
        }
        match b.build() {
            Ok(info) => info,
            Err(e) => panic!("the server's fixed type table does not build: {e}"),
        }
    })
}

fn types() -> Vec<XdbcTypeInfo> {
    use XdbcDataType as X;
    let number = |name: &str, t: X, size: i32| XdbcTypeInfo {
        column_size: Some(size),
        unsigned_attribute: Some(false),
        auto_increment: Some(false),
        num_prec_radix: Some(if matches!(t, X::XdbcFloat | X::XdbcDouble) {
            2
        } else {
            10
        }),
        minimum_scale: Some(0),
        maximum_scale: Some(0),
        ..base(name, t)
    };
    let quoted = |name: &str, t: X, sub: XdbcDatetimeSubcode| XdbcTypeInfo {
        literal_prefix: Some(format!("{name} '")),
        literal_suffix: Some("'".into()),
        sql_data_type: X::XdbcDatetime,
        datetime_subcode: Some(sub),
        ..base(name, t)
    };
    vec![
        XdbcTypeInfo {
            column_size: Some(1),
            ..base("BOOLEAN", X::XdbcBit)
        },
        number("TINYINT", X::XdbcTinyint, 3),
        number("SMALLINT", X::XdbcSmallint, 5),
        number("INT", X::XdbcInteger, 10),
        number("BIGINT", X::XdbcBigint, 19),
        number("FLOAT", X::XdbcFloat, 24),
        number("DOUBLE", X::XdbcDouble, 53),
        XdbcTypeInfo {
            column_size: Some(38),
            create_params: Some(vec!["precision".into(), "scale".into()]),
            fixed_prec_scale: true,
            unsigned_attribute: Some(false),
            auto_increment: Some(false),
            num_prec_radix: Some(10),
            minimum_scale: Some(0),
            maximum_scale: Some(38),
            ..base("DECIMAL", X::XdbcDecimal)
        },
        XdbcTypeInfo {
            literal_prefix: Some("'".into()),
            literal_suffix: Some("'".into()),
            case_sensitive: true,
            searchable: Searchable::Full,
            ..base("VARCHAR", X::XdbcVarchar)
        },
        XdbcTypeInfo {
            literal_prefix: Some("X'".into()),
            literal_suffix: Some("'".into()),
            searchable: Searchable::Basic,
            ..base("BYTEA", X::XdbcVarbinary)
        },
        quoted("DATE", X::XdbcDate, XdbcDatetimeSubcode::XdbcSubcodeUnknown),
        quoted("TIME", X::XdbcTime, XdbcDatetimeSubcode::XdbcSubcodeTime),
        quoted(
            "TIMESTAMP",
            X::XdbcTimestamp,
            XdbcDatetimeSubcode::XdbcSubcodeTimestamp,
        ),
    ]
}

/// What every type has in common: nullable, usable in a WHERE clause except with LIKE.
fn base(name: &str, t: XdbcDataType) -> XdbcTypeInfo {
    XdbcTypeInfo {
        type_name: name.into(),
        data_type: t,
        nullable: Nullable::NullabilityNullable,
        searchable: Searchable::Basic,
        local_type_name: Some(name.into()),
        sql_data_type: t,
        ..XdbcTypeInfo::default()
    }
}
