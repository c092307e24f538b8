use std::collections::VecDeque;
use std::collections::{HashMap, HashSet};

/// Hash maps and sets with a fast hasher (the keys are names and ids, not attacker-chosen).
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type Set<K> = HashSet<K, foldhash::fast::RandomState>;
use std::fmt;
use std::str::FromStr;

use crate::model::LineageEdge;

/// Which way a walk follows the edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Towards the sources a product reads from.
    Upstream,
    /// Towards the products that read from it.
    Downstream,
}

impl FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "upstream" | "up" => Ok(Self::Upstream),
            "downstream" | "down" => Ok(Self::Downstream),
            other => Err(format!(
                "unknown direction '{other}': use 'upstream' or 'downstream'"
            )),
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Upstream => "upstream",
            Self::Downstream => "downstream",
        })
    }
}

/// A product (or a product's column) a walk reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    /// The product, `domain.product`.
    pub product: String,
    /// The column, in a column-level walk that followed column edges to it; `None` when the
    /// product as a whole is reached.
    pub column: Option<String>,
    /// Hops from the start (1 for a direct neighbour).
    pub depth: u32,
    /// The nodes between the start and this one, both included (`product` or
    /// `product.column`), in the direction the data flows: from the start downstream, towards
    /// the start upstream.
    pub path: Vec<String>,
}

/// The lineage graph, built once per version of `meta.lineage`: products interned as numbers,
/// the edges out of and into each kept as lists, so a walk touches only what it reaches.
#[derive(Debug, Default)]
pub struct LineageGraph {
    edges: Vec<LineageEdge>,
    ids: Map<String, u32>,
    names: Vec<String>,
    out: Vec<Vec<u32>>,
    inn: Vec<Vec<u32>>,
    /// (source, target) pairs linked by at least one column edge: between them, an edge
    /// without columns only sums the column edges up.
    column_linked: Set<(u32, u32)>,
}

/// A node of a column-level walk: a product, and a column of it or the whole product.
type Node = (u32, Option<String>);

impl LineageGraph {
    /// The graph of these edges.
    pub fn new(edges: Vec<LineageEdge>) -> Self {
        let mut g = LineageGraph {
            edges: Vec::with_capacity(edges.len()),
            ..Default::default()
        };
        for e in edges {
            let s = g.intern(&e.source);
            let t = g.intern(&e.target);
            let i = g.edges.len() as u32;
            g.out[s as usize].push(i);
            g.inn[t as usize].push(i);
            if e.source_column.is_some() || e.target_column.is_some() {
                g.column_linked.insert((s, t));
            }
            g.edges.push(e);
        }
        g
    }

    /// This graph with the `remove` edges (and any edge `add` repeats) taken out and the `add`
    /// edges put in: the graph of a commit this process made, without reading the table again.
    pub fn with_changes(&self, remove: &[LineageEdge], add: &[LineageEdge]) -> Self {
        let gone: Set<String> = remove
            .iter()
            .chain(add)
            .map(LineageEdge::identity)
            .collect();
        let kept = self
            .edges
            .iter()
            .filter(|e| !gone.contains(&e.identity()))
            .cloned();
        LineageGraph::new(kept.chain(add.iter().cloned()).collect())
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.to_string(), id);
        self.names.push(name.to_string());
        self.out.push(Vec::new());
        self.inn.push(Vec::new());
        id
    }

    /// Every edge.
    pub fn edges(&self) -> &[LineageEdge] {
        &self.edges
    }

    /// The number of products that have an edge.
    pub fn product_count(&self) -> usize {
        self.names.len()
    }

    /// The edges into and out of a product.
    pub fn edges_of<'a>(&'a self, product: &str) -> impl Iterator<Item = &'a LineageEdge> + 'a {
        let id = self.ids.get(product).map(|&i| i as usize);
        id.into_iter().flat_map(move |i| {
            self.inn[i]
                .iter()
                .chain(&self.out[i])
                .map(|&e| &self.edges[e as usize])
        })
    }

    /// Every product reachable from `start` in `direction`, nearest first, each once with its
    /// shortest depth and one shortest path. Cycles end where a product repeats; `max_depth`
    /// limits the hops (`None`: no limit).
    pub fn walk(&self, start: &str, direction: Direction, max_depth: Option<u32>) -> Vec<Reached> {
        self.bfs((start, None), direction, max_depth)
    }

    /// Column-level walk from `product.column`: column edges lead to columns; an edge without
    /// columns (a product-level edge) leads to the whole product, and from a whole product every
    /// edge leads on to whole products — a dependency whose columns are unknown is kept, not
    /// dropped.
    pub fn walk_column(
        &self,
        product: &str,
        column: &str,
        direction: Direction,
        max_depth: Option<u32>,
    ) -> Vec<Reached> {
        self.bfs((product, Some(column)), direction, max_depth)
    }

    fn bfs(
        &self,
        (product, column): (&str, Option<&str>),
        direction: Direction,
        max_depth: Option<u32>,
    ) -> Vec<Reached> {
        let Some(&start) = self.ids.get(product) else {
            return Vec::new();
        };
        let column_level = column.is_some();
        let root: Node = (start, column.map(str::to_string));
        // node -> (parent index in `order`, depth)
        let mut seen: Map<Node, usize> = Map::default();
        let mut order: Vec<(Node, Option<usize>, u32)> = vec![(root.clone(), None, 0)];
        seen.insert(root, 0);
        let mut queue = VecDeque::from([0usize]);
        while let Some(i) = queue.pop_front() {
            let ((id, col), _, depth) = order[i].clone();
            if max_depth.is_some_and(|m| depth >= m) {
                continue;
            }
            let list = match direction {
                Direction::Downstream => &self.out[id as usize],
                Direction::Upstream => &self.inn[id as usize],
            };
            for &e in list {
                let edge = &self.edges[e as usize];
                let (near_col, far, far_col) = match direction {
                    Direction::Downstream => {
                        (&edge.source_column, &edge.target, &edge.target_column)
                    }
                    Direction::Upstream => (&edge.target_column, &edge.source, &edge.source_column),
                };
                let far_id = self.ids[far.as_str()];
                let next_col = match (&col, near_col) {
                    // product level, or a whole product reached: whole products follow
                    (None, _) => None,
                    // a column edge at this very column
                    (Some(c), Some(n)) if c == n => far_col.clone(),
                    // a column edge at another column
                    (Some(_), Some(_)) => continue,
                    // upstream, a column that only shaped the rows: it reaches every column
                    (Some(_), None) if far_col.is_some() => far_col.clone(),
                    // an edge without columns that sums up column edges: those decide
                    (Some(_), None)
                        if self.column_linked.contains(&pair(id, far_id, direction)) =>
                    {
                        continue;
                    }
                    // an edge without columns: the whole product depends on this one
                    (Some(_), None) => None,
                };
                let next: Node = (far_id, next_col.filter(|_| column_level));
                if seen.contains_key(&next) {
                    continue;
                }
                let k = order.len();
                seen.insert(next.clone(), k);
                order.push((next, Some(i), depth + 1));
                queue.push_back(k);
            }
        }
        let label = |(id, col): &Node| match col {
            Some(c) => format!("{}.{c}", self.names[*id as usize]),
            None => self.names[*id as usize].clone(),
        };
        let mut out = Vec::with_capacity(order.len().saturating_sub(1));
        for k in 1..order.len() {
            let (node, _, depth) = &order[k];
            let mut path = Vec::with_capacity(*depth as usize + 1);
            let mut at = Some(k);
            while let Some(j) = at {
                path.push(label(&order[j].0));
                at = order[j].1;
            }
            // arrows follow the data: start first downstream, start last upstream
            if direction == Direction::Downstream {
                path.reverse();
            }
            out.push(Reached {
                product: self.names[node.0 as usize].clone(),
                column: node.1.clone(),
                depth: *depth,
                path,
            });
        }
        out
    }
}

/// The (source, target) pair of an edge walked from `near` to `far`.
fn pair(near: u32, far: u32, direction: Direction) -> (u32, u32) {
    match direction {
        Direction::Downstream => (near, far),
        Direction::Upstream => (far, near),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(s: &str, t: &str, cols: Option<(&str, &str)>) -> LineageEdge {
        LineageEdge {
            source: s.into(),
            target: t.into(),
            source_column: cols.map(|c| c.0.to_string()),
            target_column: cols.map(|c| c.1.to_string()),
            kind: "declared".into(),
            statement: None,
            created_at: 0,
            created_by: "test".into(),
        }
    }

    fn names(r: &[Reached]) -> Vec<(String, u32)> {
        r.iter()
            .map(|x| {
                let n = match &x.column {
                    Some(c) => format!("{}.{c}", x.product),
                    None => x.product.clone(),
                };
                (n, x.depth)
            })
            .collect()
    }

    #[test]
    fn walks_handle_cycles_depth_and_paths() {
        // a -> b -> c -> a (a cycle), b -> d, and a diamond a -> e -> d
        let g = LineageGraph::new(vec![
            edge("s.a", "s.b", None),
            edge("s.b", "s.c", None),
            edge("s.c", "s.a", None),
            edge("s.b", "s.d", None),
            edge("s.a", "s.e", None),
            edge("s.e", "s.d", None),
        ]);
        let down = g.walk("s.a", Direction::Downstream, None);
        assert_eq!(
            names(&down),
            vec![
                ("s.b".into(), 1),
                ("s.e".into(), 1),
                ("s.c".into(), 2),
                ("s.d".into(), 2)
            ]
        );
        assert_eq!(down[3].path, vec!["s.a", "s.b", "s.d"]);
        let one = g.walk("s.a", Direction::Downstream, Some(1));
        assert_eq!(one.len(), 2);
        let up = g.walk("s.d", Direction::Upstream, None);
        assert_eq!(
            names(&up),
            vec![
                ("s.b".into(), 1),
                ("s.e".into(), 1),
                ("s.a".into(), 2),
                ("s.c".into(), 3)
            ]
        );
        assert_eq!(up[3].path, vec!["s.c", "s.a", "s.b", "s.d"]);
        assert!(g.walk("s.nope", Direction::Downstream, None).is_empty());
        assert!(g.walk("s.a", Direction::Downstream, Some(0)).is_empty());
    }

    #[test]
    fn column_walks_follow_columns_and_keep_unknown_ones() {
        let g = LineageGraph::new(vec![
            edge("o.f", "r.rev", Some(("total", "revenue"))),
            edge("o.f", "r.rev", Some(("id", "n"))),
            edge("r.rev", "x.dash", Some(("revenue", "chart"))),
            edge("r.rev", "x.audit", None),
            edge("x.audit", "x.archive", Some(("k", "k"))),
        ]);
        let r = g.walk_column("o.f", "total", Direction::Downstream, None);
        assert_eq!(
            names(&r),
            vec![
                ("r.rev.revenue".into(), 1),
                ("x.dash.chart".into(), 2),
                ("x.audit".into(), 2),
                ("x.archive".into(), 3)
            ]
        );
        assert_eq!(
            r[1].path,
            vec!["o.f.total", "r.rev.revenue", "x.dash.chart"]
        );
        // the id column does not reach the dashboard's chart
        let r = g.walk_column("o.f", "id", Direction::Downstream, None);
        assert!(!names(&r).iter().any(|(n, _)| n == "x.dash.chart"), "{r:?}");
        // an edge without columns next to column edges sums them up: it adds nothing
        let mut edges = g.edges().to_vec();
        edges.push(edge("o.f", "r.rev", None));
        // a column that only filtered the rows of the revenue feeds all of it
        edges.push(LineageEdge {
            target_column: None,
            ..edge("o.f", "r.rev", Some(("status", "")))
        });
        let g = LineageGraph::new(edges);
        let r = g.walk_column("o.f", "total", Direction::Downstream, None);
        assert_eq!(r[0].column.as_deref(), Some("revenue"));
        assert!(
            !r.iter().any(|x| x.product == "r.rev" && x.column.is_none()),
            "{r:?}"
        );
        let r = g.walk_column("o.f", "status", Direction::Downstream, None);
        assert_eq!(
            (r[0].product.as_str(), r[0].column.as_deref()),
            ("r.rev", None)
        );
        let up = g.walk_column("r.rev", "revenue", Direction::Upstream, None);
        assert_eq!(
            names(&up),
            vec![("o.f.total".into(), 1), ("o.f.status".into(), 1)]
        );
        let up = g.walk_column("x.dash", "chart", Direction::Upstream, None);
        assert_eq!(
            names(&up),
            vec![
                ("r.rev.revenue".into(), 1),
                ("o.f.total".into(), 2),
                ("o.f.status".into(), 2)
            ]
        );
    }
}
