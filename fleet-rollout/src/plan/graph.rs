//! The dependency graph in compressed sparse row form, over dense `u32` node numbers.

/// Edges `from -> to` ("`to` goes after `from`"), grouped by `from`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Csr {
    /// `offsets[u]..offsets[u + 1]` indexes `to` for node `u`; `nodes + 1` entries.
    offsets: Vec<u32>,
    to: Vec<u32>,
}

impl Csr {
    /// Builds from an edge list by counting sort (stable: a node's successors keep the
    /// list's order). Edges naming a node `>= nodes` are dropped (callers never make them).
    pub(crate) fn from_edges(nodes: usize, edges: &[(u32, u32)]) -> Self {
        let mut offsets = vec![0u32; nodes + 1];
        for &(from, to) in edges {
            if (to as usize) < nodes
                && let Some(c) = offsets.get_mut(from as usize + 1)
            {
                *c += 1;
            }
        }
        for i in 1..offsets.len() {
            let prev = offsets.get(i - 1).copied().unwrap_or(0);
            if let Some(c) = offsets.get_mut(i) {
                *c += prev;
            }
        }
        let total = offsets.last().copied().unwrap_or(0) as usize;
        let mut to = vec![0u32; total];
        let mut next: Vec<u32> = offsets.clone();
        for &(from, t) in edges {
            if (t as usize) >= nodes {
                continue;
            }
            if let Some(n) = next.get_mut(from as usize)
                && let Some(slot) = to.get_mut(*n as usize)
            {
                *slot = t;
                *n += 1;
            }
        }
        Self { offsets, to }
    }

    pub(crate) fn nodes(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    #[cfg(test)]
    pub(crate) fn edges(&self) -> usize {
        self.to.len()
    }

    /// The successors of `u`.
    #[inline]
    pub(crate) fn succ(&self, u: u32) -> &[u32] {
        let u = u as usize;
        match (self.offsets.get(u), self.offsets.get(u + 1)) {
            (Some(&a), Some(&b)) => self.to.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// In-degrees.
    pub(crate) fn indegrees(&self) -> Vec<u32> {
        let mut d = vec![0u32; self.nodes()];
        for &t in &self.to {
            if let Some(x) = d.get_mut(t as usize) {
                *x += 1;
            }
        }
        d
    }

    /// Kahn's algorithm: a topological order, or, when the graph has a cycle, one cycle as
    /// node numbers, each depending on the next (walking predecessors).
    pub(crate) fn toposort(&self) -> Result<Vec<u32>, Vec<u32>> {
        let n = self.nodes();
        let mut indeg = self.indegrees();
        let mut order: Vec<u32> = Vec::with_capacity(n);
        for (u, &d) in indeg.iter().enumerate() {
            if d == 0 {
                order.push(u as u32);
            }
        }
        // `order` doubles as the queue: everything before `head` is done.
        let mut head = 0;
        while let Some(&u) = order.get(head) {
            head += 1;
            for &v in self.succ(u) {
                if let Some(d) = indeg.get_mut(v as usize) {
                    *d -= 1;
                    if *d == 0 {
                        order.push(v);
                    }
                }
            }
        }
        if order.len() == n {
            Ok(order)
        } else {
            Err(self.cycle_among(&indeg))
        }
    }

    /// A cycle among the nodes Kahn's algorithm left (in-degree still > 0). Every such node
    /// has a predecessor that is also left, so walking predecessors from the smallest one
    /// must revisit a node.
    fn cycle_among(&self, indeg: &[u32]) -> Vec<u32> {
        let left = |u: u32| indeg.get(u as usize).is_some_and(|&d| d > 0);
        // one remaining predecessor per remaining node, found in one pass over the edges
        let mut pred = vec![u32::MAX; self.nodes()];
        for u in 0..self.nodes() as u32 {
            if !left(u) {
                continue;
            }
            for &v in self.succ(u) {
                if left(v)
                    && let Some(p) = pred.get_mut(v as usize)
                    && *p == u32::MAX
                {
                    *p = u;
                }
            }
        }
        let Some(start) = (0..self.nodes() as u32).find(|&u| left(u)) else {
            return Vec::new();
        };
        let mut seen_at = std::collections::HashMap::new();
        let mut walk = Vec::new();
        let mut u = start;
        while !seen_at.contains_key(&u) {
            seen_at.insert(u, walk.len());
            walk.push(u);
            match pred.get(u as usize) {
                Some(&p) if p != u32::MAX => u = p,
                _ => return walk,
            }
        }
        let from = seen_at.get(&u).copied().unwrap_or(0);
        walk.split_off(from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_keeps_edges_per_node() {
        let g = Csr::from_edges(4, &[(0, 1), (0, 2), (2, 3), (1, 3), (0, 9)]);
        assert_eq!(g.nodes(), 4);
        assert_eq!(g.edges(), 4, "the edge to a missing node is dropped");
        assert_eq!(g.succ(0), &[1, 2]);
        assert_eq!(g.succ(3), &[] as &[u32]);
        assert_eq!(g.succ(7), &[] as &[u32]);
        let order = g.toposort().unwrap();
        let pos = |x| order.iter().position(|&u| u == x).unwrap();
        assert!(pos(0) < pos(1) && pos(1) < pos(3) && pos(2) < pos(3));
    }

    #[test]
    fn finds_a_cycle_behind_a_tail() {
        // 0 -> 1 -> 2 -> 3 -> 1, and 3 -> 4
        let g = Csr::from_edges(5, &[(0, 1), (1, 2), (2, 3), (3, 1), (3, 4)]);
        let c = g.toposort().unwrap_err();
        // each depends on the next: 1 after 3 after 2 after 1
        assert_eq!(c, [1, 3, 2]);
        let self_loop = Csr::from_edges(2, &[(1, 1)]);
        assert_eq!(self_loop.toposort().unwrap_err(), [1]);
    }
}
