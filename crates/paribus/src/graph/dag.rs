//! Causal graphs: directed acyclic graphs with latent confounders, read from a DOT subset or an
//! edge list, with d-separation.
//!
//! A bidirected edge `a <-> b` (a latent common cause) is kept as an explicit latent node
//! `U[a,b]` with edges into `a` and `b`; latent nodes are never adjusted for, so d-separation on
//! the expanded DAG is m-separation on the graph with bidirected edges.

use std::collections::BTreeSet;

use crate::{Error, Result};

/// A causal DAG over named nodes (observed, plus latent nodes for bidirected edges).
#[derive(Debug, Clone, PartialEq)]
pub struct Dag {
    names: Vec<String>,
    latent: Vec<bool>,
    children: Vec<Vec<usize>>,
    parents: Vec<Vec<usize>>,
}

/// A set of nodes by index.
pub type NodeSet = BTreeSet<usize>;

/// Edges as `(from, to)` index pairs.
pub type EdgeList = Vec<(usize, usize)>;

impl Dag {
    /// An empty graph.
    pub fn new() -> Dag {
        Dag {
            names: Vec::new(),
            latent: Vec::new(),
            children: Vec::new(),
            parents: Vec::new(),
        }
    }

    /// The index of a node, added if new.
    pub fn node(&mut self, name: &str) -> usize {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return i;
        }
        self.names.push(name.to_string());
        self.latent.push(false);
        self.children.push(Vec::new());
        self.parents.push(Vec::new());
        self.names.len() - 1
    }

    /// Adds `a -> b` (once).
    pub fn edge(&mut self, a: &str, b: &str) {
        let (i, j) = (self.node(a), self.node(b));
        if !self.children[i].contains(&j) {
            self.children[i].push(j);
            self.parents[j].push(i);
        }
    }

    /// Marks a node as latent (unobserved: never in an adjustment set, never conditioned on).
    pub fn mark_latent(&mut self, name: &str) {
        let i = self.node(name);
        self.latent[i] = true;
    }

    /// Adds `a <-> b`: a latent common cause.
    pub fn bidirected(&mut self, a: &str, b: &str) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let u = format!("U[{lo},{hi}]");
        if self.names.contains(&u) {
            return;
        }
        let k = self.node(&u);
        self.latent[k] = true;
        self.edge(&u, a);
        self.edge(&u, b);
    }

    /// Number of nodes (latent ones included).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True for a graph without nodes.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Node names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// True for a latent node (from a bidirected edge).
    pub fn is_latent(&self, i: usize) -> bool {
        self.latent[i]
    }

    /// The index of an existing node.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Children of a node.
    pub fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    /// Parents of a node.
    pub fn parents(&self, i: usize) -> &[usize] {
        &self.parents[i]
    }

    /// Directed edges `(from, to)` between observed nodes, and bidirected pairs.
    pub fn edges(&self) -> (EdgeList, EdgeList) {
        let mut directed = Vec::new();
        let mut bi = Vec::new();
        for (i, ch) in self.children.iter().enumerate() {
            if self.latent[i] {
                if let [a, b] = ch[..] {
                    bi.push((a, b));
                }
                continue;
            }
            for &j in ch {
                directed.push((i, j));
            }
        }
        (directed, bi)
    }

    /// A directed cycle, if there is one (as the node names along it, first repeated last).
    pub fn find_cycle(&self) -> Option<Vec<String>> {
        // iterative DFS with colours: 0 unvisited, 1 on the stack, 2 done
        let n = self.len();
        let mut colour = vec![0u8; n];
        let mut parent = vec![usize::MAX; n];
        for s in 0..n {
            if colour[s] != 0 {
                continue;
            }
            let mut stack = vec![(s, 0usize)];
            colour[s] = 1;
            while let Some(&mut (v, ref mut k)) = stack.last_mut() {
                if *k < self.children[v].len() {
                    let w = self.children[v][*k];
                    *k += 1;
                    if colour[w] == 1 {
                        let mut cycle = vec![w];
                        let mut u = v;
                        while u != w {
                            cycle.push(u);
                            u = parent[u];
                        }
                        cycle.push(w);
                        cycle.reverse();
                        return Some(cycle.into_iter().map(|i| self.names[i].clone()).collect());
                    }
                    if colour[w] == 0 {
                        colour[w] = 1;
                        parent[w] = v;
                        stack.push((w, 0));
                    }
                } else {
                    colour[v] = 2;
                    stack.pop();
                }
            }
        }
        None
    }

    /// Descendants of the nodes (themselves included).
    pub fn descendants(&self, of: &NodeSet) -> NodeSet {
        self.closure(of, &self.children)
    }

    /// Ancestors of the nodes (themselves included).
    pub fn ancestors(&self, of: &NodeSet) -> NodeSet {
        self.closure(of, &self.parents)
    }

    fn closure(&self, of: &NodeSet, next: &[Vec<usize>]) -> NodeSet {
        let mut seen: NodeSet = of.clone();
        let mut stack: Vec<usize> = of.iter().copied().collect();
        while let Some(v) = stack.pop() {
            for &w in &next[v] {
                if seen.insert(w) {
                    stack.push(w);
                }
            }
        }
        seen
    }

    /// True when every node of `x` is d-separated from every node of `y` given `z`
    /// (the reachability algorithm of Koller & Friedman 2009, Alg. 3.1), in the graph without
    /// the edges out of the nodes in `cut_out` (for back-door queries).
    pub fn d_separated(&self, x: &NodeSet, y: &NodeSet, z: &NodeSet, cut_out: &NodeSet) -> bool {
        let n = self.len();
        // ancestors of z in the cut graph (for colliders)
        let mut anc_z: NodeSet = z.clone();
        let mut up: Vec<usize> = z.iter().copied().collect();
        while let Some(v) = up.pop() {
            for &p in &self.parents[v] {
                if !cut_out.contains(&p) && anc_z.insert(p) {
                    up.push(p);
                }
            }
        }
        // visited[(node, direction)]: 0 = arrived from a child (moving up), 1 = from a parent
        let mut visited = vec![[false; 2]; n];
        let mut stack: Vec<(usize, usize)> = x.iter().map(|&v| (v, 0)).collect();
        let has_edge = |a: usize, b: usize| !cut_out.contains(&a) || !self.children[a].contains(&b);
        while let Some((v, dir)) = stack.pop() {
            if visited[v][dir] {
                continue;
            }
            visited[v][dir] = true;
            if !z.contains(&v) && y.contains(&v) {
                return false;
            }
            if dir == 0 {
                // arrived from a child: if v is not observed, go up to parents and down to children
                if !z.contains(&v) {
                    for &p in &self.parents[v] {
                        if has_edge(p, v) {
                            stack.push((p, 0));
                        }
                    }
                    for &c in &self.children[v] {
                        if has_edge(v, c) {
                            stack.push((c, 1));
                        }
                    }
                }
            } else {
                // arrived from a parent: a chain continues down if v is unobserved; a collider
                // opens if v or a descendant is observed
                if !z.contains(&v) {
                    for &c in &self.children[v] {
                        if has_edge(v, c) {
                            stack.push((c, 1));
                        }
                    }
                }
                if anc_z.contains(&v) {
                    for &p in &self.parents[v] {
                        if has_edge(p, v) {
                            stack.push((p, 0));
                        }
                    }
                }
            }
        }
        true
    }
}

impl Default for Dag {
    fn default() -> Self {
        Dag::new()
    }
}

/// Parses a graph: a DOT subset (`digraph { a -> b; b -> c -> d; a -> {b c}; x -> y
/// [dir=both]; a; }`, with `--` refused) or an edge list (one `a -> b`, `a <-> b` or `a`
/// per line, `#` comments).
///
/// # Errors
/// [`Error::InvalidData`] naming the line and the construct outside the subset, or the cycle.
pub fn parse(text: &str) -> Result<Dag> {
    let body = text.trim();
    let mut g = Dag::new();
    let is_dot = body.starts_with("digraph")
        || body.starts_with("strict digraph")
        || body.starts_with("graph");
    if is_dot {
        if body.starts_with("graph") || body.starts_with("strict graph") {
            return Err(Error::InvalidData(
                "line 1: `graph` (undirected) is outside the DOT subset: a causal graph is a `digraph`".into(),
            ));
        }
        let open = body
            .find('{')
            .ok_or_else(|| Error::InvalidData("line 1: a DOT digraph needs `{`".into()))?;
        let close = body
            .rfind('}')
            .ok_or_else(|| Error::InvalidData("the DOT digraph has no closing `}`".into()))?;
        let inner = &body[open + 1..close];
        let first_line = body[..open].lines().count().max(1);
        // statements end at ';' or a newline; keep track of lines for messages
        for (ln, line) in inner.lines().enumerate() {
            let line_no = first_line + ln;
            let line = strip_comment(line);
            for stmt in line.split(';') {
                let stmt = stmt.trim();
                if stmt.is_empty() {
                    continue;
                }
                dot_statement(&mut g, stmt, line_no)?;
            }
        }
    } else {
        for (ln, line) in body.lines().enumerate() {
            let line = strip_comment(line).trim();
            if line.is_empty() {
                continue;
            }
            edge_line(&mut g, line, ln + 1)?;
        }
    }
    if let Some(c) = g.find_cycle() {
        return Err(Error::InvalidData(format!(
            "the graph has a directed cycle: {}",
            c.join(" -> ")
        )));
    }
    Ok(g)
}

fn strip_comment(line: &str) -> &str {
    let cut = [line.find("//"), line.find('#')]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(line.len());
    &line[..cut]
}

fn node_name(raw: &str, line: usize) -> Result<String> {
    let s = raw.trim().trim_matches('"');
    if s.is_empty() {
        return Err(Error::InvalidData(format!(
            "line {line}: an empty node name"
        )));
    }
    if s.chars()
        .any(|c| c.is_whitespace() || "{}[]=;,<>-".contains(c))
    {
        return Err(Error::InvalidData(format!(
            "line {line}: `{}` is not a node name of the subset (letters, digits, _ and ., or a quoted name)",
            raw.trim()
        )));
    }
    Ok(s.to_string())
}

fn dot_statement(g: &mut Dag, stmt: &str, line: usize) -> Result<()> {
    let first = stmt
        .split(|c: char| c.is_whitespace() || c == '[' || c == '{' || c == '=')
        .next()
        .unwrap_or("");
    for kw in ["subgraph", "node", "edge", "graph", "rankdir", "label"] {
        if first == kw {
            return Err(Error::InvalidData(format!(
                "line {line}: `{kw}` statements are outside the DOT subset (edges `a -> b`, chains, `{{a b}}` groups, `[dir=both]` for a latent confounder, and bare nodes)"
            )));
        }
    }
    if stmt.contains("--") {
        return Err(Error::InvalidData(format!(
            "line {line}: undirected edges `--` are outside the DOT subset: write `a -> b`, or `a -> b [dir=both]` for a latent confounder"
        )));
    }
    let (core, attrs) = match stmt.find('[') {
        Some(k) => {
            let end = stmt
                .rfind(']')
                .ok_or_else(|| Error::InvalidData(format!("line {line}: `[` without `]`")))?;
            (&stmt[..k], Some(stmt[k + 1..end].trim()))
        }
        None => (stmt, None),
    };
    let both = match attrs {
        None => false,
        Some(a) => {
            let a: String = a.chars().filter(|c| !c.is_whitespace()).collect();
            if a == "dir=both" || a == "dir=\"both\"" {
                true
            } else {
                return Err(Error::InvalidData(format!(
                    "line {line}: the attribute `[{a}]` is outside the DOT subset (only `[dir=both]`, a latent confounder)"
                )));
            }
        }
    };
    if core.contains('=') {
        return Err(Error::InvalidData(format!(
            "line {line}: graph attributes (`{}`) are outside the DOT subset",
            core.trim()
        )));
    }
    let parts: Vec<&str> = core.split("->").collect();
    let groups: Vec<Vec<String>> = parts
        .iter()
        .map(|p| {
            let p = p.trim();
            if p.starts_with('{') && p.ends_with('}') {
                p[1..p.len() - 1]
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|s| !s.is_empty())
                    .map(|s| node_name(s, line))
                    .collect()
            } else {
                node_name(p, line).map(|n| vec![n])
            }
        })
        .collect::<Result<_>>()?;
    if groups.len() == 1 {
        if both {
            return Err(Error::InvalidData(format!(
                "line {line}: `[dir=both]` needs an edge"
            )));
        }
        for n in &groups[0] {
            g.node(n);
        }
        return Ok(());
    }
    for w in groups.windows(2) {
        for a in &w[0] {
            for b in &w[1] {
                if both {
                    g.bidirected(a, b);
                } else {
                    g.edge(a, b);
                }
            }
        }
    }
    Ok(())
}

fn edge_line(g: &mut Dag, line: &str, ln: usize) -> Result<()> {
    if let Some((a, b)) = line.split_once("<->") {
        g.bidirected(&node_name(a, ln)?, &node_name(b, ln)?);
    } else if let Some((a, b)) = line.split_once("->") {
        g.edge(&node_name(a, ln)?, &node_name(b, ln)?);
    } else if line.contains("--") || line.contains("<-") {
        return Err(Error::InvalidData(format!(
            "line {ln}: `{line}`: write edges as `a -> b` (cause first) or `a <-> b` (a latent confounder)"
        )));
    } else {
        g.node(&node_name(line, ln)?);
    }
    Ok(())
}

/// Renders a graph as DOT (bidirected edges as `[dir=both]`), readable by [`parse`].
pub fn to_dot(g: &Dag) -> String {
    let mut s = String::from("digraph {\n");
    for (i, n) in g.names().iter().enumerate() {
        if !g.is_latent(i) {
            s.push_str(&format!("  \"{n}\";\n"));
        }
    }
    let (d, b) = g.edges();
    for (i, j) in d {
        s.push_str(&format!(
            "  \"{}\" -> \"{}\";\n",
            g.names()[i],
            g.names()[j]
        ));
    }
    for (i, j) in b {
        s.push_str(&format!(
            "  \"{}\" -> \"{}\" [dir=both];\n",
            g.names()[i],
            g.names()[j]
        ));
    }
    s.push_str("}\n");
    s
}
