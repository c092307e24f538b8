//! The foreign keys a contract declares: ODCS v3.1 `relationships` of type `foreignKey`, on a
//! property (`to` names the referenced column) or on the schema object (`from` and `to` list
//! the columns, in order, for a composite key).
//!
//! A reference is written `product.column` (ODCS's shorthand: a product of the same domain, or
//! the one product of that name in another), or `domain.product.column` when the product name is
//! not unique. `apply` checks that the referenced product and columns exist; BI tools read the
//! keys through Flight SQL's imported/exported keys.

use serde::Deserialize;

use crate::model::{DataProduct, ProductName};

/// One `relationships` entry as written.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct RelationshipEntry {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    from: Option<Names>,
    #[serde(default)]
    to: Option<Names>,
}

/// One name or a list of them (a composite key).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Names {
    One(String),
    Many(Vec<String>),
}

impl Names {
    fn list(&self) -> Vec<String> {
        match self {
            Names::One(s) => vec![s.clone()],
            Names::Many(v) => v.clone(),
        }
    }
}

/// A foreign key as the contract declares it: `columns` of the product reference `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKeyDecl {
    /// The product's columns, in key order.
    pub columns: Vec<String>,
    /// The referenced columns as written (`domain.product.column` or `product.column`).
    pub to: Vec<String>,
    /// Where the contract says it, for errors (`schema[0].properties[1].relationships[0]`).
    pub at: String,
}

/// A foreign key resolved against the catalog: `columns` of `product` reference
/// `referenced_columns` of `references`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKey {
    /// The product that holds the key.
    pub product: ProductName,
    /// Its columns, in key order.
    pub columns: Vec<String>,
    /// The referenced product.
    pub references: ProductName,
    /// The referenced columns, in key order.
    pub referenced_columns: Vec<String>,
}

/// The declarations of a property's `relationships`; `Err((at, message))` for a malformed one.
pub(super) fn of_property(
    property: &str,
    entries: &[RelationshipEntry],
    at: &str,
) -> Result<Vec<ForeignKeyDecl>, (String, String)> {
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let at = format!("{at}.relationships[{i}]");
        check_kind(e, &at)?;
        if let Some(from) = &e.from {
            let from = from.list();
            if from.len() != 1 || last_segment(&from[0]) != property {
                return Err((
                    format!("{at}.from"),
                    format!(
                        "a relationship on property '{property}' is from that property: leave \
                         out 'from', or declare a composite key on the schema object"
                    ),
                ));
            }
        }
        let to = target(e, &at)?;
        if to.len() != 1 {
            return Err((
                format!("{at}.to"),
                format!(
                    "property '{property}' can reference one column, not {}: declare a \
                     composite key on the schema object with 'from' and 'to' lists",
                    to.len()
                ),
            ));
        }
        out.push(ForeignKeyDecl {
            columns: vec![property.to_string()],
            to,
            at,
        });
    }
    Ok(out)
}

/// The declarations of the schema object's `relationships` (`object` is its name, which a
/// `from` column may carry as a prefix); `columns` are the product's columns.
pub(super) fn of_object(
    object: Option<&str>,
    product: &str,
    entries: &[RelationshipEntry],
    columns: &[String],
) -> Result<Vec<ForeignKeyDecl>, (String, String)> {
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let at = format!("schema[0].relationships[{i}]");
        check_kind(e, &at)?;
        let to = target(e, &at)?;
        let from = e.from.as_ref().map(Names::list).ok_or_else(|| {
            (
                format!("{at}.from"),
                "a relationship on the schema object needs 'from': the column (or columns) of \
                 this product that hold the key"
                    .to_string(),
            )
        })?;
        if from.len() != to.len() {
            return Err((
                format!("{at}.to"),
                format!(
                    "'from' lists {} column(s) and 'to' {}: a composite key pairs them in order",
                    from.len(),
                    to.len()
                ),
            ));
        }
        let mut own = Vec::new();
        for f in &from {
            let (prefix, column) = match f.rsplit_once('.') {
                Some((p, c)) => (Some(p), c),
                None => (None, f.as_str()),
            };
            if prefix.is_some_and(|p| Some(p) != object && p != product) {
                return Err((
                    format!("{at}.from"),
                    format!(
                        "'{f}' is not a column of this product: write the column name, or \
                         {product}.column"
                    ),
                ));
            }
            let Some(name) = columns.iter().find(|c| c.eq_ignore_ascii_case(column)) else {
                return Err((
                    format!("{at}.from"),
                    format!(
                        "'{f}' is not a column of this product; its columns: {}",
                        columns.join(", ")
                    ),
                ));
            };
            own.push(name.clone());
        }
        out.push(ForeignKeyDecl {
            columns: own,
            to,
            at,
        });
    }
    Ok(out)
}

fn check_kind(e: &RelationshipEntry, at: &str) -> Result<(), (String, String)> {
    match e.kind.as_deref() {
        None | Some("foreignKey") => Ok(()),
        Some(other) => Err((
            format!("{at}.type"),
            format!("unknown relationship type '{other}': lakemeta reads type foreignKey"),
        )),
    }
}

fn target(e: &RelationshipEntry, at: &str) -> Result<Vec<String>, (String, String)> {
    let to = e.to.as_ref().map(Names::list).unwrap_or_default();
    if to.is_empty() {
        return Err((
            format!("{at}.to"),
            "a foreign key needs 'to': the referenced column as product.column".into(),
        ));
    }
    Ok(to)
}

fn last_segment(s: &str) -> &str {
    s.rsplit('.').next().unwrap_or(s)
}

/// Resolves a declaration of `product`'s contract: the referenced product (found by `lookup`)
/// and its columns must exist. A `product.column` reference (ODCS's shorthand) names a product
/// of the same domain, or else the one product of that name in another domain (`named` lists
/// the products called so); `domain.product.column` names it in full. `None` when the
/// referenced product is no product here (another system's table, or one not registered yet):
/// the key is kept in the contract, unchecked. The error names what is wrong and how to write
/// it.
pub fn resolve<'a>(
    decl: &ForeignKeyDecl,
    product: &ProductName,
    lookup: impl Fn(&ProductName) -> Option<&'a DataProduct>,
    named: impl Fn(&str) -> Vec<ProductName>,
) -> Result<Option<ForeignKey>, String> {
    let mut references: Option<ProductName> = None;
    let mut names = Vec::new();
    for t in &decl.to {
        let parts: Vec<&str> = t.split('.').collect();
        let (name, column) = match parts.as_slice() {
            [p, c] if !p.is_empty() && !c.is_empty() => {
                let local = ProductName::new(product.domain.clone(), p.to_lowercase());
                if lookup(&local).is_some() {
                    (local, *c)
                } else {
                    match named(&p.to_lowercase()).as_slice() {
                        // another system's table, or a product not registered yet
                        [] => return Ok(None),
                        [one] => (one.clone(), *c),
                        many => {
                            let list: Vec<String> = many.iter().map(|n| n.to_string()).collect();
                            return Err(format!(
                                "'{t}' is ambiguous: {} are all called '{p}'; write \
                                 domain.product.column",
                                list.join(", ")
                            ));
                        }
                    }
                }
            }
            [d, p, c] if !d.is_empty() && !p.is_empty() && !c.is_empty() => {
                (ProductName::new(d.to_lowercase(), p.to_lowercase()), *c)
            }
            _ => {
                return Err(format!(
                    "'{t}' is not a column reference: write product.column (or \
                     domain.product.column)"
                ));
            }
        };
        if references.as_ref().is_some_and(|r| *r != name) {
            return Err(format!(
                "'{t}' names another product than the key's other columns: a foreign key \
                 references the columns of one product"
            ));
        }
        names.push((name.clone(), column));
        references = Some(name);
    }
    let Some(references) = references else {
        return Err("a foreign key needs 'to': the referenced column".into());
    };
    let Some(target) = lookup(&references) else {
        return Ok(None);
    };
    let referenced_columns = names
        .iter()
        .map(|(_, c)| target.column_named(c).map(|k| k.name.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(ForeignKey {
        product: product.clone(),
        columns: decl.columns.clone(),
        references,
        referenced_columns,
    }))
}

/// The foreign keys of a product, read again from its stored contract and resolved against
/// the products there are now (see [`resolve`]; a key whose referenced product was dropped is
/// left out). A product without a contract has none.
pub fn foreign_keys<'a>(
    product: &DataProduct,
    lookup: impl Fn(&ProductName) -> Option<&'a DataProduct>,
    named: impl Fn(&str) -> Vec<ProductName>,
) -> Vec<ForeignKey> {
    let name = product.qualified_name();
    declared_in(product)
        .iter()
        .filter_map(|d| resolve(d, &name, &lookup, &named).ok().flatten())
        .collect()
}

/// The foreign keys a product's stored contract declares, as written; none without a
/// contract.
pub(crate) fn declared_in(product: &DataProduct) -> Vec<ForeignKeyDecl> {
    if product.contract_spec.is_empty() || !product.contract_spec.contains("relationships") {
        return Vec::new();
    }
    let Ok(spec) = serde_norway::from_str::<RelationshipsOnly>(&product.contract_spec) else {
        return Vec::new();
    };
    // the schema object of this product: the only one, or the one named as the product is
    let found = match spec.schema.as_slice() {
        [one] => Some((0, one)),
        many => many.iter().enumerate().find(|(_, o)| {
            [o.name.as_deref(), o.physical_name.as_deref()]
                .into_iter()
                .flatten()
                .any(|n| {
                    super::odcs::sql_name("data product", n, &mut Vec::new())
                        .ok()
                        .as_deref()
                        == Some(product.name.as_str())
                })
        }),
    };
    let Some((k, object)) = found else {
        return Vec::new();
    };
    let columns: Vec<String> = product.columns.iter().map(|c| c.name.clone()).collect();
    let mut decls = Vec::new();
    for (i, p) in object.properties.iter().enumerate() {
        let at = format!("schema[{k}].properties[{i}]");
        decls.extend(of_property(&p.name, &p.relationships, &at).unwrap_or_default());
    }
    decls.extend(
        of_object(
            object.name.as_deref(),
            &product.name,
            &object.relationships,
            &columns,
        )
        .unwrap_or_default(),
    );
    decls
}

/// The part of a contract the foreign keys come from.
#[derive(Deserialize)]
struct RelationshipsOnly {
    #[serde(default)]
    schema: Vec<ObjectRelationships>,
}

#[derive(Deserialize)]
struct ObjectRelationships {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "physicalName")]
    physical_name: Option<String>,
    #[serde(default)]
    properties: Vec<PropertyRelationships>,
    #[serde(default)]
    relationships: Vec<RelationshipEntry>,
}

#[derive(Deserialize)]
struct PropertyRelationships {
    name: String,
    #[serde(default)]
    relationships: Vec<RelationshipEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(yaml: &str) -> Vec<RelationshipEntry> {
        serde_norway::from_str(yaml).expect("test yaml")
    }

    #[test]
    fn a_property_references_one_column() {
        let d = of_property("user_id", &entry("- to: user_profiles.user_id"), "p").expect("valid");
        assert_eq!(d[0].columns, vec!["user_id"]);
        assert_eq!(d[0].to, vec!["user_profiles.user_id"]);
        let e = of_property("user_id", &entry("- to: [a.b.c, a.b.d]"), "p").unwrap_err();
        assert!(e.1.contains("composite key"), "{e:?}");
        let e = of_property("user_id", &entry("- type: sameAs\n  to: a.b.c"), "p").unwrap_err();
        assert_eq!(e.0, "p.relationships[0].type");
    }

    #[test]
    fn a_composite_key_pairs_from_and_to_in_order() {
        let cols = vec!["a".to_string(), "b".to_string()];
        let d = of_object(
            Some("t"),
            "t",
            &entry("- from: [t.a, b]\n  to: [x.y.a, x.y.b]"),
            &cols,
        )
        .expect("valid");
        assert_eq!(d[0].columns, cols);
        let e = of_object(
            None,
            "t",
            &entry("- from: [a]\n  to: [x.y.a, x.y.b]"),
            &cols,
        )
        .unwrap_err();
        assert!(e.1.contains("pairs them in order"), "{e:?}");
        let e = of_object(None, "t", &entry("- from: c\n  to: x.y.c"), &cols).unwrap_err();
        assert!(e.1.contains("its columns: a, b"), "{e:?}");
    }
}
