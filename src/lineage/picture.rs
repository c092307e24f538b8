//! A picture of a product's lineage: the products around it, upstream to the left and
//! downstream to the right, coloured by their latest quality status, as Mermaid, Graphviz DOT or
//! a self-contained SVG.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::graph::{Direction, LineageGraph};

/// One product of the picture.
#[derive(Debug, Clone, PartialEq)]
pub struct PictureNode {
    /// `domain.product`.
    pub name: String,
    /// Hops from the centre: negative upstream, 0 the centre, positive downstream.
    pub depth: i32,
    /// Latest quality status (`pass`, `fail`, `error`), `None` when never checked.
    pub status: Option<String>,
    /// Latest quality score.
    pub score: Option<f64>,
}

/// A product's latest quality status and score, `None` when never checked.
pub type Quality = (Option<String>, Option<f64>);

/// The products around one, and the edges between them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Picture {
    /// The products, the centre first.
    pub nodes: Vec<PictureNode>,
    /// Edges as (source, target) indexes into `nodes`, each pair once.
    pub edges: Vec<(usize, usize)>,
}

impl Picture {
    /// The products up to `depth` hops upstream and downstream of `center` and every edge
    /// among them; `quality` gives a product's latest status and score.
    pub fn around(
        graph: &LineageGraph,
        center: &str,
        depth: Option<u32>,
        quality: &dyn Fn(&str) -> Quality,
    ) -> Self {
        let mut at: BTreeMap<String, i32> = BTreeMap::from([(center.to_string(), 0)]);
        for r in graph.walk(center, Direction::Upstream, depth) {
            at.entry(r.product).or_insert(-(r.depth as i32));
        }
        for r in graph.walk(center, Direction::Downstream, depth) {
            at.entry(r.product).or_insert(r.depth as i32);
        }
        let mut names: Vec<(&String, &i32)> = at.iter().collect();
        names.sort_by_key(|(n, d)| (**d != 0, **d, (*n).clone()));
        let nodes: Vec<PictureNode> = names
            .iter()
            .map(|(n, d)| {
                let (status, score) = quality(n);
                PictureNode {
                    name: (*n).clone(),
                    depth: **d,
                    status,
                    score,
                }
            })
            .collect();
        let index: BTreeMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect();
        let mut edges = BTreeSet::new();
        for n in &nodes {
            for e in graph.edges_of(&n.name) {
                if let (Some(&s), Some(&t)) =
                    (index.get(e.source.as_str()), index.get(e.target.as_str()))
                    && s != t
                {
                    edges.insert((s, t));
                }
            }
        }
        Picture {
            nodes,
            edges: edges.into_iter().collect(),
        }
    }

    /// A Mermaid flowchart.
    pub fn mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for (i, n) in self.nodes.iter().enumerate() {
            let _ = writeln!(out, "  n{i}[\"{}<br/>{}\"]", n.name, quality_text(n));
        }
        for (s, t) in &self.edges {
            let _ = writeln!(out, "  n{s} --> n{t}");
        }
        for (class, (fill, stroke)) in STATUSES.iter().map(|s| (s, colours(Some(s)))) {
            let members: Vec<String> = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| status_class(n) == *class)
                .map(|(i, _)| format!("n{i}"))
                .collect();
            if !members.is_empty() {
                let _ = writeln!(out, "  classDef {class} fill:{fill},stroke:{stroke}");
                let _ = writeln!(out, "  class {} {class}", members.join(","));
            }
        }
        let _ = writeln!(out, "  style n0 stroke-width:3px");
        out
    }

    /// A Graphviz digraph.
    pub fn dot(&self) -> String {
        let mut out = String::from(
            "digraph lineage {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", \
             fontname=\"Helvetica\"];\n",
        );
        for (i, n) in self.nodes.iter().enumerate() {
            let (fill, stroke) = colours(n.status.as_deref());
            let width = if i == 0 { 3 } else { 1 };
            let _ = writeln!(
                out,
                "  \"{}\" [label=\"{}\\n{}\", fillcolor=\"{fill}\", color=\"{stroke}\", \
                 penwidth={width}];",
                n.name,
                n.name,
                quality_text(n)
            );
        }
        for (s, t) in &self.edges {
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\";",
                self.nodes[*s].name, self.nodes[*t].name
            );
        }
        out.push_str("}\n");
        out
    }

    /// A self-contained SVG: one column per depth, upstream left of the centre.
    pub fn svg(&self) -> String {
        const W: i32 = 230;
        const H: i32 = 46;
        const GAP_X: i32 = 70;
        const GAP_Y: i32 = 24;
        const PAD: i32 = 20;
        let min = self.nodes.iter().map(|n| n.depth).min().unwrap_or(0);
        let mut rows: BTreeMap<i32, i32> = BTreeMap::new();
        let mut pos = Vec::with_capacity(self.nodes.len());
        for n in &self.nodes {
            let row = rows.entry(n.depth).or_insert(0);
            pos.push((
                PAD + (n.depth - min) * (W + GAP_X),
                PAD + *row * (H + GAP_Y),
            ));
            *row += 1;
        }
        let columns = rows.len() as i32;
        let tallest = rows.values().copied().max().unwrap_or(1);
        let width = 2 * PAD + columns * W + (columns - 1).max(0) * GAP_X;
        let height = 2 * PAD + tallest * H + (tallest - 1).max(0) * GAP_Y;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"Helvetica, Arial, sans-serif\">"
        );
        out.push_str(
            "  <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
             markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
             <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker></defs>\n",
        );
        let _ = writeln!(
            out,
            "  <rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
        );
        for (s, t) in &self.edges {
            let (sx, sy) = pos[*s];
            let (tx, ty) = pos[*t];
            let (x1, y1, x2, y2) = (sx + W, sy + H / 2, tx, ty + H / 2);
            let bend = ((x2 - x1).abs() / 2).max(40);
            let _ = writeln!(
                out,
                "  <path d=\"M {x1} {y1} C {} {y1}, {} {y2}, {x2} {y2}\" fill=\"none\" \
                 stroke=\"#555\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>",
                x1 + bend,
                x2 - bend
            );
        }
        for (i, n) in self.nodes.iter().enumerate() {
            let (x, y) = pos[i];
            let (fill, stroke) = colours(n.status.as_deref());
            let stroke_width = if i == 0 { 3 } else { 1 };
            let _ = writeln!(
                out,
                "  <g><title>{}</title><rect x=\"{x}\" y=\"{y}\" width=\"{W}\" height=\"{H}\" \
                 rx=\"8\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{stroke_width}\"/>\
                 <text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\" \
                 fill=\"#222\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"11\" \
                 text-anchor=\"middle\" fill=\"#555\">{}</text></g>",
                xml(&n.name),
                x + W / 2,
                y + 19,
                xml(&n.name),
                x + W / 2,
                y + 36,
                xml(&quality_text(n))
            );
        }
        out.push_str("</svg>\n");
        out
    }
}

const STATUSES: [&str; 4] = ["pass", "fail", "error", "unchecked"];

fn status_class(n: &PictureNode) -> &str {
    match n.status.as_deref() {
        Some(s @ ("pass" | "fail" | "error")) => s,
        _ => "unchecked",
    }
}

/// Fill and stroke colours of a quality status.
fn colours(status: Option<&str>) -> (&'static str, &'static str) {
    match status {
        Some("pass") => ("#e8f5e9", "#2e7d32"),
        Some("fail") => ("#ffebee", "#c62828"),
        Some("error") => ("#fff3e0", "#ef6c00"),
        _ => ("#f5f5f5", "#757575"),
    }
}

fn quality_text(n: &PictureNode) -> String {
    match (&n.status, n.score) {
        (Some(s), Some(score)) => format!("{s}, score {score:.0}"),
        (Some(s), None) => s.clone(),
        _ => "not checked".into(),
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LineageEdge;

    fn edge(s: &str, t: &str) -> LineageEdge {
        LineageEdge {
            source: s.into(),
            target: t.into(),
            source_column: None,
            target_column: None,
            kind: "declared".into(),
            statement: None,
            created_at: 0,
            created_by: "t".into(),
        }
    }

    #[test]
    fn pictures_place_upstream_left_and_colour_by_status() {
        let g = LineageGraph::new(vec![
            edge("a.src", "a.mid"),
            edge("a.mid", "b.out"),
            edge("b.out", "c.far"),
        ]);
        let quality = |n: &str| match n {
            "b.out" => (Some("fail".to_string()), Some(40.0)),
            _ => (None, None),
        };
        let p = Picture::around(&g, "a.mid", Some(1), &quality);
        let names: Vec<(&str, i32)> = p.nodes.iter().map(|n| (n.name.as_str(), n.depth)).collect();
        assert_eq!(names, vec![("a.mid", 0), ("a.src", -1), ("b.out", 1)]);
        assert_eq!(p.edges, vec![(0, 2), (1, 0)]);
        let m = p.mermaid();
        assert!(m.contains("n1 --> n0") && m.contains("n0 --> n2"), "{m}");
        assert!(m.contains("class n2 fail"), "{m}");
        let d = p.dot();
        assert!(d.contains("\"a.src\" -> \"a.mid\";"), "{d}");
        assert!(d.contains("fail, score 40"), "{d}");
        let s = p.svg();
        assert!(
            s.starts_with("<svg") && s.trim_end().ends_with("</svg>"),
            "{s}"
        );
        assert_eq!(s.matches("marker-end=").count(), 2, "{s}");
        assert!(s.contains("#ffebee"), "the failing product is red: {s}");
    }
}
