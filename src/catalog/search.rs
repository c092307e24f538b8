//! Catalog search: products ranked by how well their names, descriptions, columns and tags
//! match the words of a query. The index is built once per catalog snapshot.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{DataProduct, ProductName};

/// An inverted index of the products: every word of a product's name, domain, tags, column
/// names and descriptions points to the products (and fields) that hold it, so a search touches
/// only the products that match, and a word's start finds the words it begins in the sorted
/// vocabulary.
#[derive(Debug, Default)]
pub struct SearchIndex {
    docs: Vec<Doc>,
    /// Each word, with the products that hold it and in which fields (a bit per [`FIELDS`]).
    postings: BTreeMap<String, Vec<(u32, u8)>>,
}

/// What a search shows of a product, kept in the index so a result needs no lookups.
#[derive(Debug)]
pub struct Doc {
    /// The product.
    pub product: ProductName,
    /// `domain.product`.
    pub qualified: String,
    /// Its owner.
    pub owner: String,
    /// Its description.
    pub description: String,
    /// The product's own tags.
    pub tags: Vec<String>,
    /// The product's and its columns' tags, lowercase, for the tag filter.
    all_tags: BTreeSet<String>,
}

/// The fields a word can match in, with the points of a whole word and of a word's start.
const FIELDS: [(&str, f64, f64); 5] = [
    ("name", 10.0, 6.0),
    ("domain", 4.0, 2.0),
    ("tags", 8.0, 0.0),
    ("columns", 4.0, 2.0),
    ("description", 2.0, 1.0),
];

/// One product a search found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// The product's place in the index (see [`SearchIndex::doc`]).
    pub doc: u32,
    /// How well it matches: the higher the better (0 when only tags were asked for).
    pub relevance: f64,
    /// The fields that matched, a bit per field (see [`Hit::matched`]).
    fields: u8,
}

impl Hit {
    /// The fields that matched, in a fixed order: name, domain, tags, columns, description.
    pub fn matched(&self) -> Vec<&'static str> {
        FIELDS
            .iter()
            .enumerate()
            .filter(|(f, _)| self.fields & (1 << f) != 0)
            .map(|(_, (name, _, _))| *name)
            .collect()
    }
}

/// Lower-case words: letters and digits, split at anything else (`orders_fact` is `orders`,
/// `fact`).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The words of one product, by field (in the order of [`FIELDS`]).
fn fields_of(p: &DataProduct) -> [BTreeSet<String>; 5] {
    let mut tags: BTreeSet<String> = p.tags.iter().map(|t| t.to_lowercase()).collect();
    let mut columns = BTreeSet::new();
    let mut description: BTreeSet<String> = words(&p.description).into_iter().collect();
    for c in &p.columns {
        tags.extend(c.tags.iter().map(|t| t.to_lowercase()));
        columns.insert(c.name.to_lowercase());
        columns.extend(words(&c.name));
        description.extend(words(&c.description));
    }
    let mut name: BTreeSet<String> = words(&p.name).into_iter().collect();
    name.insert(p.name.to_lowercase());
    let domain = words(&p.domain)
        .into_iter()
        .chain([p.domain.to_lowercase()])
        .collect();
    [name, domain, tags, columns, description]
}

impl SearchIndex {
    /// The index of these products.
    pub fn new(products: &super::ProductMap) -> Self {
        super::stored::decode_all(products);
        let mut index = SearchIndex::default();
        for (i, (name, p)) in products.iter().enumerate() {
            let fields = fields_of(p);
            let mut bits: BTreeMap<&str, u8> = BTreeMap::new();
            for (f, set) in fields.iter().enumerate() {
                for w in set {
                    *bits.entry(w.as_str()).or_default() |= 1 << f;
                }
            }
            for (w, mask) in bits {
                match index.postings.get_mut(w) {
                    Some(list) => list.push((i as u32, mask)),
                    None => {
                        index.postings.insert(w.to_string(), vec![(i as u32, mask)]);
                    }
                }
            }
            let [_, _, all_tags, _, _] = fields;
            index.docs.push(Doc {
                product: name.clone(),
                qualified: name.to_string(),
                owner: p.owner.clone(),
                description: p.description.clone(),
                tags: p.tags.clone(),
                all_tags,
            });
        }
        index
    }

    /// Products matching `query` (any of its words; more words and better fields rank higher)
    /// that carry every tag of `tags` (on the product or on one of its columns), best first,
    /// ties by name. An empty query matches every product with the tags.
    pub fn search(&self, query: &str, tags: &[String]) -> Vec<Hit> {
        let terms = words(query);
        let wanted: Vec<String> = tags.iter().map(|t| t.trim().to_lowercase()).collect();
        let tagged = |d: u32| {
            wanted
                .iter()
                .all(|t| self.docs[d as usize].all_tags.contains(t))
        };
        let mut found: Vec<(u32, f64, u8)> = Vec::new();
        if terms.is_empty() {
            found.extend((0..self.docs.len() as u32).map(|d| (d, 0.0, 0)));
        } else {
            // per product: relevance and the fields that matched, over all terms
            let mut score = vec![(0.0f64, 0u8); self.docs.len()];
            // per product, for one term: fields with the whole word, fields with its start
            let mut level = vec![(0u8, 0u8); self.docs.len()];
            let mut touched: Vec<u32> = Vec::new();
            for t in &terms {
                for (w, list) in self.postings.range(t.clone()..) {
                    if !w.starts_with(t.as_str()) {
                        break;
                    }
                    let whole = w == t;
                    for &(d, mask) in list {
                        let l = &mut level[d as usize];
                        if *l == (0, 0) {
                            touched.push(d);
                        }
                        if whole {
                            l.0 |= mask;
                        } else {
                            l.1 |= mask;
                        }
                    }
                }
                for d in touched.drain(..) {
                    let (whole, start) = std::mem::take(&mut level[d as usize]);
                    let s = &mut score[d as usize];
                    for (f, (_, exact, prefix)) in FIELDS.iter().enumerate() {
                        let points = if whole & (1 << f) != 0 {
                            *exact
                        } else if start & (1 << f) != 0 {
                            *prefix
                        } else {
                            0.0
                        };
                        if points > 0.0 {
                            s.0 += points;
                            s.1 |= 1 << f;
                        }
                    }
                }
            }
            found.extend(
                score
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.0 > 0.0)
                    .map(|(d, s)| (d as u32, s.0, s.1)),
            );
        }
        let mut hits: Vec<Hit> = found
            .into_iter()
            .filter(|(d, _, _)| tagged(*d))
            .map(|(doc, relevance, fields)| Hit {
                doc,
                relevance,
                fields,
            })
            .collect();
        // the docs are in name order: the place breaks ties by name
        hits.sort_by(|a, b| b.relevance.total_cmp(&a.relevance).then(a.doc.cmp(&b.doc)));
        hits
    }

    /// The product a hit found.
    pub fn doc(&self, hit: &Hit) -> &Doc {
        &self.docs[hit.doc as usize]
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
        let map: BTreeMap<_, _> = ps
            .into_iter()
            .map(|p| (p.qualified_name(), std::sync::Arc::new(p.into())))
            .collect();
        let index = SearchIndex::new(&map);
        let names = |hits: Vec<Hit>| {
            hits.iter()
                .map(|h| index.doc(h).qualified.clone())
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
        assert_eq!(hit.matched(), vec!["name", "domain", "description"]);
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
