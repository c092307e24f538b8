//! Catalog search: products ranked by how well their names, descriptions, columns and tags
//! match the words of a query. The index is built once per catalog snapshot.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{DataProduct, ProductName};

/// The words of each product, by field, ready to match.
#[derive(Debug, Default)]
pub struct SearchIndex {
    docs: Vec<Doc>,
}

#[derive(Debug)]
struct Doc {
    product: ProductName,
    name: BTreeSet<String>,
    domain: BTreeSet<String>,
    tags: BTreeSet<String>,
    columns: BTreeSet<String>,
    description: BTreeSet<String>,
}

/// One product a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The product.
    pub product: ProductName,
    /// How well it matches: the higher the better (0 when only tags were asked for).
    pub relevance: f64,
    /// The fields that matched, in a fixed order: name, domain, tags, columns, description.
    pub matched: Vec<&'static str>,
}

/// Lower-case words: letters and digits, split at anything else (`orders_fact` is `orders`,
/// `fact`).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Points for a word against a field's words: a whole word `exact`, the start of one `prefix`.
fn score(field: &BTreeSet<String>, word: &str, exact: f64, prefix: f64) -> f64 {
    if field.contains(word) {
        return exact;
    }
    // the words that start with `word` sort right after it
    match field.range(word.to_string()..).next() {
        Some(w) if w.starts_with(word) => prefix,
        _ => 0.0,
    }
}

impl SearchIndex {
    /// The index of these products.
    pub fn new(products: &BTreeMap<ProductName, DataProduct>) -> Self {
        let docs = products
            .iter()
            .map(|(name, p)| {
                let mut tags: BTreeSet<String> = p.tags.iter().map(|t| t.to_lowercase()).collect();
                let mut columns = BTreeSet::new();
                let mut description: BTreeSet<String> = words(&p.description).into_iter().collect();
                for c in &p.columns {
                    tags.extend(c.tags.iter().map(|t| t.to_lowercase()));
                    columns.insert(c.name.to_lowercase());
                    columns.extend(words(&c.name));
                    description.extend(words(&c.description));
                }
                let mut name_words: BTreeSet<String> = words(&p.name).into_iter().collect();
                name_words.insert(p.name.to_lowercase());
                Doc {
                    product: name.clone(),
                    name: name_words,
                    domain: words(&p.domain)
                        .into_iter()
                        .chain([p.domain.to_lowercase()])
                        .collect(),
                    tags,
                    columns,
                    description,
                }
            })
            .collect();
        Self { docs }
    }

    /// Products matching `query` (any of its words; more words and better fields rank higher)
    /// that carry every tag of `tags` (on the product or on one of its columns), best first,
    /// ties by name. An empty query matches every product with the tags.
    pub fn search(&self, query: &str, tags: &[String]) -> Vec<Hit> {
        let terms = words(query);
        let wanted: Vec<String> = tags.iter().map(|t| t.trim().to_lowercase()).collect();
        let mut hits: Vec<Hit> = self
            .docs
            .iter()
            .filter(|d| wanted.iter().all(|t| d.tags.contains(t)))
            .filter_map(|d| {
                let mut relevance = 0.0;
                let mut matched = [false; 5];
                for t in &terms {
                    let points = [
                        score(&d.name, t, 10.0, 6.0),
                        score(&d.domain, t, 4.0, 2.0),
                        score(&d.tags, t, 8.0, 0.0),
                        score(&d.columns, t, 4.0, 2.0),
                        score(&d.description, t, 2.0, 1.0),
                    ];
                    for (i, p) in points.iter().enumerate() {
                        relevance += p;
                        matched[i] |= *p > 0.0;
                    }
                }
                if !terms.is_empty() && relevance == 0.0 {
                    return None;
                }
                let fields = ["name", "domain", "tags", "columns", "description"];
                Some(Hit {
                    product: d.product.clone(),
                    relevance,
                    matched: fields
                        .iter()
                        .zip(matched)
                        .filter(|(_, m)| *m)
                        .map(|(f, _)| *f)
                        .collect(),
                })
            })
            .collect();
        hits.sort_by(|a, b| {
            b.relevance
                .total_cmp(&a.relevance)
                .then_with(|| a.product.cmp(&b.product))
        });
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Column;

    fn product(
        domain: &str,
        name: &str,
        description: &str,
        tags: &[&str],
        cols: &[&str],
    ) -> DataProduct {
        let json = serde_json::json!({
            "domain": domain, "name": name, "kind": "managed", "location": "", "format": "delta",
            "owner": "team", "description": description,
            "tags": tags, "access_patterns": [],
            "sla_freshness_minutes": null, "sla_availability_percent": null,
            "sla_completeness_percent": null, "contract_id": "", "contract_version": "",
            "contract_spec": "", "schema_hash": "", "columns": [], "checks": [],
            "created_at": 0, "updated_at": 0, "updated_by": "t"
        });
        let mut p: DataProduct = serde_json::from_value(json).unwrap();
        p.columns = cols
            .iter()
            .map(|c| {
                let (name, tag) = c.split_once(':').unwrap_or((c, ""));
                let json = serde_json::json!({
                    "name": name, "data_type": "string", "nullable": true, "description": "",
                    "tags": if tag.is_empty() { vec![] } else { vec![tag] },
                    "classification": "", "primary_key": false, "unique": false,
                    "accepted_values": [], "ordinal": 0
                });
                serde_json::from_value::<Column>(json).unwrap()
            })
            .collect();
        p
    }

    #[test]
    fn ranks_by_field_and_filters_by_tags() {
        let ps = [
            product(
                "orders",
                "orders_fact",
                "All customer orders",
                &["financial"],
                &["order_id", "user_id:pii"],
            ),
            product(
                "users",
                "user_profiles",
                "Who our customers are",
                &[],
                &["user_id:pii", "email:pii"],
            ),
            product(
                "orders",
                "cart_events",
                "Carts, including abandoned ones",
                &[],
                &["event_id"],
            ),
        ];
        let map: BTreeMap<_, _> = ps.into_iter().map(|p| (p.qualified_name(), p)).collect();
        let index = SearchIndex::new(&map);
        let names = |hits: Vec<Hit>| {
            hits.into_iter()
                .map(|h| h.product.to_string())
                .collect::<Vec<_>>()
        };
        // a name match beats a column match beats a description match
        assert_eq!(
            names(index.search("user", &[])),
            vec!["users.user_profiles", "orders.orders_fact"]
        );
        assert_eq!(
            names(index.search("customer", &[])),
            vec!["orders.orders_fact", "users.user_profiles"]
        );
        let hit = &index.search("orders", &[])[0];
        assert_eq!(hit.matched, vec!["name", "domain", "description"]);
        // tags: on the product or on a column, all of them
        assert_eq!(
            names(index.search("", &["pii".into()])),
            vec!["orders.orders_fact", "users.user_profiles"]
        );
        assert_eq!(
            names(index.search("", &["pii".into(), "financial".into()])),
            vec!["orders.orders_fact"]
        );
        assert!(index.search("nothing_like_it", &[]).is_empty());
    }
}
