//! A commit whose product rows another writer changed meanwhile only by recording what
//! maintenance measured of their tables (files, bytes, when) is made again on the rows as they
//! are now: a nightly `MAINTAIN` does not fail a `CREATE OR REPLACE TABLE` or a contract
//! change that ran beside it. Any other change in between stays a conflict.

use super::operations::{ChangeSummary, ProductChange};
use super::snapshot::CatalogState;
use crate::model::DataProduct;

/// `changes` made on the product rows of `now` instead of those they were read from, when
/// every row that differs differs only in what was measured; `None` when one differs in more
/// (or was created or dropped meanwhile), when nothing differs (the conflict was elsewhere),
/// or when `changes` holds more than products (their commits may have landed already).
pub(crate) fn rebase_on_measurements(
    now: &CatalogState,
    changes: &ChangeSummary,
) -> Option<ChangeSummary> {
    if !changes.teams.is_empty()
        || changes.policy.is_some()
        || !changes.domains.is_empty()
        || !changes.data_products.is_empty()
    {
        return None;
    }
    let current = |p: &DataProduct| now.products.get(&p.qualified_name());
    let mut rebased = false;
    let mut products = Vec::with_capacity(changes.products.len());
    for c in &changes.products {
        products.push(match c {
            ProductChange::Create(p) => {
                if current(p).is_some() {
                    return None;
                }
                c.clone()
            }
            ProductChange::Update { before, after } => {
                let cur = current(before)?;
                if ***cur == *before {
                    c.clone()
                } else if cur.same_definition(before) {
                    rebased = true;
                    // the change's own measurement (a replaced table's) stands; else the newer
                    let after = if after.file_count == before.file_count
                        && after.size_bytes == before.size_bytes
                        && after.last_maintained == before.last_maintained
                    {
                        after.clone().measured_as(cur)
                    } else {
                        after.clone()
                    };
                    ProductChange::Update {
                        before: DataProduct::clone(cur),
                        after,
                    }
                } else {
                    return None;
                }
            }
            ProductChange::Delete(before) => {
                let cur = current(before)?;
                if ***cur == *before {
                    c.clone()
                } else if cur.same_definition(before) {
                    rebased = true;
                    ProductChange::Delete(DataProduct::clone(cur))
                } else {
                    return None;
                }
            }
        });
    }
    rebased.then(|| ChangeSummary {
        products,
        ..ChangeSummary::default()
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::catalog::DomainChange;
    use crate::model::Domain;

    fn product(description: &str) -> DataProduct {
        DataProduct {
            domain: "shop".into(),
            name: "orders".into(),
            description: description.into(),
            file_count: Some(10),
            size_bytes: Some(1000),
            ..DataProduct::default()
        }
    }

    fn state_with(p: DataProduct) -> CatalogState {
        let mut products = crate::catalog::ProductMap::new();
        products.insert(p.qualified_name(), Arc::new(p.into()));
        let mut state = CatalogState::default();
        state.products = Arc::new(products);
        state
    }

    fn update(before: DataProduct, after: DataProduct) -> ChangeSummary {
        ChangeSummary {
            products: vec![ProductChange::Update { before, after }],
            ..ChangeSummary::default()
        }
    }

    #[test]
    fn a_change_is_made_again_on_a_row_that_maintenance_measured_meanwhile() {
        let read = product("old");
        let measured = DataProduct {
            file_count: Some(1),
            size_bytes: Some(900),
            last_maintained: Some(42),
            ..read.clone()
        };
        let now = state_with(measured.clone());
        let changes = update(read.clone(), product("new"));
        let rebased = rebase_on_measurements(&now, &changes).unwrap();
        let ProductChange::Update { before, after } = &rebased.products[0] else {
            panic!("{rebased:?}");
        };
        assert_eq!(*before, measured);
        assert_eq!(after.description, "new");
        // the newer measurement is kept
        assert_eq!(
            (after.file_count, after.last_maintained),
            (Some(1), Some(42))
        );
        // a change that measured the table itself (a replacement) keeps its own
        let replaced = DataProduct {
            file_count: Some(3),
            last_maintained: None,
            ..product("new")
        };
        let rebased = rebase_on_measurements(&now, &update(read.clone(), replaced)).unwrap();
        let ProductChange::Update { after, .. } = &rebased.products[0] else {
            panic!("{rebased:?}");
        };
        assert_eq!(after.file_count, Some(3));
    }

    #[test]
    fn any_other_change_in_between_stays_a_conflict() {
        let read = product("old");
        let changes = update(read.clone(), product("new"));
        // someone else changed the description
        assert!(rebase_on_measurements(&state_with(product("theirs")), &changes).is_none());
        // dropped meanwhile
        assert!(rebase_on_measurements(&CatalogState::default(), &changes).is_none());
        // nothing differs: the conflict was not about these rows
        assert!(rebase_on_measurements(&state_with(read.clone()), &changes).is_none());
        // created meanwhile
        let create = ChangeSummary {
            products: vec![ProductChange::Create(product("new"))],
            ..ChangeSummary::default()
        };
        assert!(rebase_on_measurements(&state_with(read.clone()), &create).is_none());
        // more than products: their commits may have landed
        let measured = DataProduct {
            last_maintained: Some(1),
            ..read.clone()
        };
        let mut with_domain = update(read, product("new"));
        with_domain
            .domains
            .push(DomainChange::Create(Domain::new("crm", "crm-team")));
        assert!(rebase_on_measurements(&state_with(measured), &with_domain).is_none());
    }
}
