//! Lineage captured from the logical plan of a statement that writes a data product (`CREATE
//! TABLE … AS SELECT`, `INSERT INTO … SELECT`): which source columns feed each target column —
//! through projections, joins, aggregates, CASE, window functions, unions and subqueries — and
//! which were only used to filter, join, group or order.

use std::collections::BTreeSet;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, TableReference};
use datafusion::logical_expr::{Expr, LogicalPlan};

use crate::model::{LineageEdge, ProductName, edge_kind, now_micros};

/// A column of a data product that a statement read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceColumn {
    /// The product.
    pub product: ProductName,
    /// The column.
    pub column: String,
}

/// What one statement's plan reads and how its output derives from it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Captured {
    /// Per output column, by position: the source columns its values come from.
    pub outputs: Vec<BTreeSet<SourceColumn>>,
    /// Source columns that decide which rows there are (filters, join keys, grouping, order)
    /// but feed no output column.
    pub shaping_only: BTreeSet<SourceColumn>,
    /// Every data product the plan reads.
    pub products: BTreeSet<ProductName>,
}

impl Captured {
    /// The edges into `target` (whose columns are `target_columns`, by position): one per
    /// product read, one per source column feeding a target column, and one from each column
    /// that only shaped the rows to the whole target. A product feeding itself is left out.
    pub fn edges(
        &self,
        target: &ProductName,
        target_columns: &[String],
        statement: &str,
        who: &str,
    ) -> Vec<LineageEdge> {
        let now = now_micros();
        let edge = |source: &ProductName, sc: Option<&str>, tc: Option<&str>| LineageEdge {
            source: source.to_string(),
            target: target.to_string(),
            source_column: sc.map(str::to_string),
            target_column: tc.map(str::to_string),
            kind: edge_kind::CAPTURED.into(),
            statement: Some(statement.to_string()),
            created_at: now,
            created_by: who.to_string(),
        };
        let mut out = Vec::new();
        for p in self.products.iter().filter(|p| *p != target) {
            out.push(edge(p, None, None));
        }
        for (sources, column) in self.outputs.iter().zip(target_columns) {
            for s in sources.iter().filter(|s| &s.product != target) {
                out.push(edge(&s.product, Some(&s.column), Some(column)));
            }
        }
        for s in self.shaping_only.iter().filter(|s| &s.product != target) {
            out.push(edge(&s.product, Some(&s.column), None));
        }
        out
    }
}

/// The lineage of a plan. `product_of` names the data product behind a scanned table, or
/// `None` for tables that are not data products (the system tables, say).
pub fn capture(
    plan: &LogicalPlan,
    product_of: &dyn Fn(&TableReference) -> Option<ProductName>,
) -> Captured {
    let mut walk = Walk {
        product_of,
        shaping: BTreeSet::new(),
        products: BTreeSet::new(),
    };
    let outputs = walk.flow(plan);
    let feeding: BTreeSet<&SourceColumn> = outputs.iter().flatten().collect();
    let shaping_only = walk
        .shaping
        .iter()
        .filter(|c| !feeding.contains(c))
        .cloned()
        .collect();
    Captured {
        outputs,
        shaping_only,
        products: walk.products,
    }
}

type Flow = Vec<BTreeSet<SourceColumn>>;

struct Walk<'a> {
    product_of: &'a dyn Fn(&TableReference) -> Option<ProductName>,
    shaping: BTreeSet<SourceColumn>,
    products: BTreeSet<ProductName>,
}

impl Walk<'_> {
    /// The sources of each output column of `plan`.
    fn flow(&mut self, plan: &LogicalPlan) -> Flow {
        let width = plan.schema().fields().len();
        match plan {
            LogicalPlan::TableScan(scan) => {
                let Some(product) = (self.product_of)(&scan.table_name) else {
                    return vec![BTreeSet::new(); width];
                };
                self.products.insert(product.clone());
                for f in &scan.filters {
                    let s = self.sources(f, &[], &[]);
                    self.shaping.extend(s);
                }
                scan.projected_schema
                    .fields()
                    .iter()
                    .map(|f| {
                        BTreeSet::from([SourceColumn {
                            product: product.clone(),
                            column: f.name().clone(),
                        }])
                    })
                    .collect()
            }
            LogicalPlan::Projection(p) => {
                let input = self.flow(&p.input);
                let inputs = [p.input.as_ref()];
                p.expr
                    .iter()
                    .map(|e| self.sources(e, &inputs, std::slice::from_ref(&input)))
                    .collect()
            }
            LogicalPlan::Filter(f) => {
                let input = self.flow(&f.input);
                let s = self.sources(
                    &f.predicate,
                    &[f.input.as_ref()],
                    std::slice::from_ref(&input),
                );
                self.shaping.extend(s);
                input
            }
            LogicalPlan::Aggregate(a) => {
                let input = self.flow(&a.input);
                let inputs = [a.input.as_ref()];
                let flows = std::slice::from_ref(&input);
                let mut out: Flow = Vec::with_capacity(width);
                for g in &a.group_expr {
                    let s = self.sources(g, &inputs, flows);
                    self.shaping.extend(s.iter().cloned());
                    out.push(s);
                }
                for e in &a.aggr_expr {
                    out.push(self.sources(e, &inputs, flows));
                }
                fit(out, width)
            }
            LogicalPlan::Window(w) => {
                let mut out = self.flow(&w.input);
                let inputs = [w.input.as_ref()];
                let flows = [out.clone()];
                for e in &w.window_expr {
                    out.push(self.sources(e, &inputs, &flows));
                }
                fit(out, width)
            }
            LogicalPlan::Join(j) => {
                let left = self.flow(&j.left);
                let right = self.flow(&j.right);
                let inputs = [j.left.as_ref(), j.right.as_ref()];
                let flows = [left.clone(), right.clone()];
                let mut keys = BTreeSet::new();
                for (l, r) in &j.on {
                    keys.extend(self.sources(l, &inputs, &flows));
                    keys.extend(self.sources(r, &inputs, &flows));
                }
                if let Some(f) = &j.filter {
                    keys.extend(self.sources(f, &inputs, &flows));
                }
                self.shaping.extend(keys);
                let (l, r) = (left.len(), right.len());
                if width == l + r {
                    left.into_iter().chain(right).collect()
                } else if width == l {
                    left
                } else if width == r {
                    right
                } else {
                    // a mark join: the left side and a flag of whether the right matched
                    fit(left, width)
                }
            }
            LogicalPlan::Union(u) => {
                let mut out: Flow = vec![BTreeSet::new(); width];
                for input in &u.inputs {
                    for (i, s) in self.flow(input).into_iter().enumerate().take(width) {
                        out[i].extend(s);
                    }
                }
                out
            }
            LogicalPlan::Sort(s) => {
                let input = self.flow(&s.input);
                for e in &s.expr {
                    let src =
                        self.sources(&e.expr, &[s.input.as_ref()], std::slice::from_ref(&input));
                    self.shaping.extend(src);
                }
                input
            }
            other => {
                // SubqueryAlias, Limit, Distinct, Repartition, Subquery …: the output columns are
                // the input's, position by position; any expressions of the node shape the rows
                let inputs = other.inputs();
                let flows: Vec<Flow> = inputs.iter().map(|i| self.flow(i)).collect();
                for e in other.expressions() {
                    let s = self.sources(&e, &inputs, &flows);
                    self.shaping.extend(s);
                }
                match flows.as_slice() {
                    [one] if one.len() == width => one.clone(),
                    _ => {
                        // unknown shape: every output may derive from everything read
                        let all: BTreeSet<SourceColumn> =
                            flows.into_iter().flatten().flatten().collect();
                        vec![all; width]
                    }
                }
            }
        }
    }

    /// The source columns an expression over `inputs` reads, subqueries included.
    fn sources(
        &mut self,
        expr: &Expr,
        inputs: &[&LogicalPlan],
        flows: &[Flow],
    ) -> BTreeSet<SourceColumn> {
        let mut out = BTreeSet::new();
        for c in expr.column_refs() {
            out.extend(lookup(c, inputs, flows));
        }
        let mut subqueries = Vec::new();
        let _ = expr.apply(|e| {
            match e {
                Expr::ScalarSubquery(s) => subqueries.push(s.subquery.as_ref().clone()),
                Expr::InSubquery(s) => subqueries.push(s.subquery.subquery.as_ref().clone()),
                Expr::Exists(s) => subqueries.push(s.subquery.subquery.as_ref().clone()),
                _ => {}
            }
            Ok(TreeNodeRecursion::Continue)
        });
        for plan in subqueries {
            for s in self.flow(&plan) {
                out.extend(s);
            }
        }
        out
    }
}

/// The sources of a column of one of the inputs.
fn lookup(c: &Column, inputs: &[&LogicalPlan], flows: &[Flow]) -> BTreeSet<SourceColumn> {
    for (input, flow) in inputs.iter().zip(flows) {
        if let Some(i) = input.schema().maybe_index_of_column(c)
            && let Some(s) = flow.get(i)
        {
            return s.clone();
        }
    }
    BTreeSet::new()
}

/// A flow of exactly `width` columns (a plan whose expressions and schema disagree is padded
/// or cut rather than trusted to panic).
fn fit(mut flow: Flow, width: usize) -> Flow {
    flow.resize(width, BTreeSet::new());
    flow
}
