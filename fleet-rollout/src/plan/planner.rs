//! The planner: inputs in, a [`Plan`] out, no clock and no IO.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use fleet_core::{HoldScope, Schema, Slot, Snapshot, StoredValue, TargetId, ValueRef, Workload};
use fleet_selectors::TargetSet;

use super::error::PlanError;
use super::gates::{Gate, Gates};
use super::graph::Csr;
use super::inputs::{DeploymentEdge, Edge, GroupEdge};
use super::output::{ExEntry, Excl, NONE, Plan};
use super::schedule::{Limits, Prepared, schedule};
use super::strategy::{GroupOrder, Strategy};

#[derive(Debug, Clone, Copy)]
enum Selection<'a> {
    All,
    Set(&'a TargetSet),
    Ids(&'a [TargetId]),
}

/// Plans a rollout: which targets go in which wave, from the target set, the dependency
/// graph, a [`Strategy`] and policy [`Gates`], at an instant `now`.
///
/// # Semantics
///
/// - **Selection**: every target of the snapshot, a [`TargetSet`] (a selector's result on
///   the same snapshot) or a list of ids. Every selected target ends up planned or
///   excluded with a reason, never dropped.
/// - **Dependencies**: the inventory's `depends_on` plus [`Edge`]s: a target goes in a
///   later wave than each selected dependency (dependencies outside the selection are taken
///   as done). [`GroupEdge`]s order whole groups. A cycle is an error that names it.
/// - **Exclusions**: a target denied by policy, held (an active [`fleet_core::Hold`] on the
///   target, on this release's workload — any workload when none is given — or on paths,
///   which a release may touch), or with no change window ever opening, is excluded; so is
///   every target that depends on an excluded one, transitively (group edges do not pass
///   exclusions on).
/// - **Waves**: the canary first (chosen in group order among targets with nothing to wait
///   for and no pending approval, matching the canary selector if any), then waves sized by
///   the strategy. A wave takes ready targets in group order, first come first served (with
///   `one_at_a_time`, from one group only: the current one while it has ready targets, then
///   the next in order that has any, wrapping around — a round robin over the groups), up to the wave size,
///   `max_concurrency`, `groups.max_per_group` and every policy concurrency limit — the
///   smallest wins. Ties are broken by slot order, so the plan is a function of its inputs.
/// - **Time**: the first wave starts at `now`; each wave may start once the one before has
///   baked (`bake.min_duration` after its start). A target whose windows are closed at a
///   wave's start waits for the first wave at or after the opening; when nothing else is
///   ready, the next wave starts at that opening.
/// - **Deployments**: with several deployments per release, [`DeploymentEdge`]s order them
///   into stages applied in turn on each target ([`Plan::stages`]).
#[derive(Debug, Clone)]
#[must_use]
pub struct Planner<'a> {
    snapshot: &'a Snapshot,
    schema: &'a Schema,
    strategy: &'a Strategy,
    selection: Selection<'a>,
    edges: Vec<Edge>,
    group_edges: Vec<GroupEdge>,
    deployments: Vec<String>,
    deployment_edges: Vec<DeploymentEdge>,
    gates: Option<&'a Gates>,
    workload: Option<&'a Workload>,
}

/// The per-target values of a property, as dense group numbers.
struct Column {
    /// By target index: the group number.
    of: Vec<u32>,
    /// By group number: its value as text (`""` for targets without the property).
    names: Vec<String>,
    /// By group number: how many selected targets it has.
    sizes: Vec<u32>,
}

fn value_text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::String(s) => s.to_owned(),
        other => other.to_value().to_string(),
    }
}

fn column(snapshot: &Snapshot, slots: &[u32], property: &str) -> Column {
    let col = snapshot
        .symbols()
        .lookup(property)
        .and_then(|sym| snapshot.property_column(sym));
    // strings (the common case) find their group through a table by symbol; other values
    // through a hash map
    let mut by_sym: Vec<u32> = Vec::new();
    let mut ids: HashMap<StoredValue, u32> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut sizes: Vec<u32> = Vec::new();
    let mut of = Vec::with_capacity(slots.len());
    let mut new_group = |v: StoredValue| {
        names.push(
            v.resolve(snapshot.symbols())
                .map(value_text)
                .unwrap_or_default(),
        );
        sizes.push(0);
        (names.len() - 1) as u32
    };
    for &s in slots {
        let v = col
            .as_ref()
            .and_then(|c| c.get(Slot(s)))
            .unwrap_or(StoredValue::Absent);
        let g = match v {
            StoredValue::Str(sym) => {
                if by_sym.is_empty() {
                    by_sym = vec![NONE; snapshot.symbols().len()];
                }
                match by_sym.get_mut(sym.index()) {
                    Some(g) if *g != NONE => *g,
                    Some(g) => {
                        *g = new_group(v);
                        *g
                    }
                    None => *ids.entry(v).or_insert_with(|| new_group(v)),
                }
            }
            _ => *ids.entry(v).or_insert_with(|| new_group(v)),
        };
        of.push(g);
    }
    for &g in &of {
        if let Some(n) = sizes.get_mut(g as usize) {
            *n += 1;
        }
    }
    Column { of, names, sizes }
}

fn check_property(schema: &Schema, property: &str, field: String) -> Result<(), PlanError> {
    if schema.property(property).is_some() {
        return Ok(());
    }
    Err(PlanError::UnknownProperty {
        property: property.to_owned(),
        field,
        suggestion: schema.suggest(property).map(str::to_owned),
    })
}

/// The stages of the deployments: Kahn's algorithm by levels, each level in the given order.
fn stages(names: &[String], edges: &[DeploymentEdge]) -> Result<Vec<Vec<String>>, PlanError> {
    let index: BTreeMap<&str, u32> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let mut pairs = Vec::with_capacity(edges.len());
    for (k, e) in edges.iter().enumerate() {
        let find = |name: &str| {
            index
                .get(name)
                .copied()
                .ok_or_else(|| PlanError::UnknownDeployment {
                    name: name.to_owned(),
                    edge: k,
                })
        };
        pairs.push((find(&e.before)?, find(&e.after)?));
    }
    let g = Csr::from_edges(names.len(), &pairs);
    if let Err(cycle) = g.toposort() {
        let cycle = cycle
            .iter()
            .filter_map(|&u| names.get(u as usize).cloned())
            .collect();
        return Err(PlanError::DeploymentCycle {
            cycle: rotate_to_smallest(cycle),
        });
    }
    let mut indeg = g.indegrees();
    let mut level: Vec<u32> = (0..names.len() as u32)
        .filter(|&u| indeg.get(u as usize) == Some(&0))
        .collect();
    let mut out = Vec::new();
    while !level.is_empty() {
        let mut next = Vec::new();
        for &u in &level {
            for &v in g.succ(u) {
                if let Some(d) = indeg.get_mut(v as usize) {
                    *d -= 1;
                    if *d == 0 {
                        next.push(v);
                    }
                }
            }
        }
        next.sort_unstable();
        out.push(
            level
                .iter()
                .filter_map(|&u| names.get(u as usize).cloned())
                .collect(),
        );
        level = next;
    }
    Ok(out)
}

/// A cycle starting at its smallest member, so the message does not depend on where the
/// search began.
fn rotate_to_smallest(mut cycle: Vec<String>) -> Vec<String> {
    if let Some((at, _)) = cycle.iter().enumerate().min_by(|a, b| a.1.cmp(b.1)) {
        cycle.rotate_left(at);
    }
    cycle
}

impl<'a> Planner<'a> {
    /// A planner over `snapshot` (whose properties `schema` declares) with `strategy`;
    /// every target of the snapshot is selected until [`select`](Self::select) or
    /// [`targets`](Self::targets) says otherwise.
    pub fn new(snapshot: &'a Snapshot, schema: &'a Schema, strategy: &'a Strategy) -> Self {
        Self {
            snapshot,
            schema,
            strategy,
            selection: Selection::All,
            edges: Vec::new(),
            group_edges: Vec::new(),
            deployments: Vec::new(),
            deployment_edges: Vec::new(),
            gates: None,
            workload: None,
        }
    }

    /// Plans for the targets of `set` (a selector's result on the same snapshot).
    pub fn select(mut self, set: &'a TargetSet) -> Self {
        self.selection = Selection::Set(set);
        self
    }

    /// Plans for these targets.
    pub fn targets(mut self, ids: &'a [TargetId]) -> Self {
        self.selection = Selection::Ids(ids);
        self
    }

    /// Adds a target-level edge besides the inventory's `depends_on`.
    pub fn edge(mut self, before: &str, after: &str) -> Self {
        self.edges.push(Edge {
            before: before.to_owned(),
            after: after.to_owned(),
        });
        self
    }

    /// Adds target-level edges.
    pub fn edges(mut self, edges: impl IntoIterator<Item = Edge>) -> Self {
        self.edges.extend(edges);
        self
    }

    /// Adds a group-level edge.
    pub fn group_edge(mut self, edge: GroupEdge) -> Self {
        self.group_edges.push(edge);
        self
    }

    /// The release's deployments, in their preferred order, and the edges between them.
    pub fn deployments(
        mut self,
        names: impl IntoIterator<Item = String>,
        edges: impl IntoIterator<Item = DeploymentEdge>,
    ) -> Self {
        self.deployments = names.into_iter().collect();
        self.deployment_edges = edges.into_iter().collect();
        self
    }

    /// Policy inputs.
    pub fn gates(mut self, gates: &'a Gates) -> Self {
        self.gates = Some(gates);
        self
    }

    /// The workload being rolled out (holds on other workloads then do not apply).
    pub fn workload(mut self, workload: &'a Workload) -> Self {
        self.workload = Some(workload);
        self
    }

    fn selected_slots(&self) -> Result<Vec<u32>, PlanError> {
        let snap = self.snapshot;
        Ok(match self.selection {
            Selection::All => snap.iter().map(|t| t.slot().0).collect(),
            Selection::Set(set) => {
                if set.generation() != snap.generation() {
                    return Err(PlanError::Stale {
                        set: set.generation().0,
                        snapshot: snap.generation().0,
                    });
                }
                set.slots()
                    .filter(|&s| snap.slot(s).is_some())
                    .map(|s| s.0)
                    .collect()
            }
            Selection::Ids(ids) => {
                let mut slots = Vec::with_capacity(ids.len());
                for id in ids {
                    let t = snap
                        .get(id.as_str())
                        .ok_or_else(|| PlanError::UnknownTarget {
                            id: id.as_str().to_owned(),
                            place: "the target list".into(),
                        })?;
                    slots.push(t.slot().0);
                }
                slots.sort_unstable();
                slots.dedup();
                slots
            }
        })
    }

    fn slot_of(&self, id: &str, place: impl FnOnce() -> String) -> Result<u32, PlanError> {
        self.snapshot
            .get(id)
            .map(|t| t.slot().0)
            .ok_or_else(|| PlanError::UnknownTarget {
                id: id.to_owned(),
                place: place(),
            })
    }

    /// Makes the plan.
    ///
    /// # Errors
    ///
    /// - [`PlanError::Cycle`] when dependencies (target or group edges) form a cycle, naming
    ///   it; [`PlanError::DeploymentCycle`] for deployment edges;
    /// - [`PlanError::Unsatisfiable`] when a constraint cannot be met: no target can be the
    ///   canary (`canary`, `canary.selector`), more waves needed than `max_waves`, a policy
    ///   limit of 0 in flight over deployable targets, `groups.first` against a group edge;
    /// - [`PlanError::UnknownTarget`], [`PlanError::UnknownDeployment`],
    ///   [`PlanError::UnknownProperty`], [`PlanError::Selector`] for inputs that name what
    ///   does not exist; [`PlanError::Stale`] for a target set from another generation;
    ///   [`PlanError::Strategy`] for an invalid strategy.
    pub fn plan(&self, now: DateTime<Utc>) -> Result<Plan, PlanError> {
        let strategy = self.strategy;
        strategy.validate()?;
        let snap = self.snapshot;
        let sel = Selected::new(self.selected_slots()?, snap.slot_end());
        let n = sel.slots.len();

        let grouping = strategy.groups.as_ref();
        if let Some(g) = grouping {
            check_property(self.schema, &g.by, "groups.by".into())?;
        }
        for (k, e) in self.group_edges.iter().enumerate() {
            check_property(self.schema, &e.property, format!("group edge {k}"))?;
        }
        let groups = match grouping {
            Some(g) => column(snap, &sel.slots, &g.by),
            None => Column {
                of: vec![0; n],
                names: vec![String::new()],
                sizes: vec![n as u32],
            },
        };
        let (by_rank, rank_pos) = self.rank_groups(&groups)?;
        let (graph, topo) = self.graph(&sel)?;
        let stages = if self.deployments.is_empty() {
            Vec::new()
        } else {
            stages(&self.deployments, &self.deployment_edges)?
        };
        let empty = Gates::new();
        let gates = self.gates.unwrap_or(&empty);
        let ex = self.exclusions(gates, &sel, &graph, &topo, now)?;
        drop(topo);
        let deployable = n - ex.excl.iter().filter(|x| x.is_some()).count();
        let (limits, limit_names) = self.limits(gates, &sel, &ex.excl)?;
        let canary_selector = match strategy.canary.as_ref().and_then(|c| c.selector.as_ref()) {
            Some(text) => {
                Some(fleet_selectors::compile(text, self.schema).map_err(PlanError::Selector)?)
            }
            None => None,
        };

        let (waves, entries) = schedule(&Prepared {
            snapshot: snap,
            strategy,
            now,
            slots: &sel.slots,
            graph: &graph,
            excl: &ex.excl,
            deployable,
            group_of: &groups.of,
            groups: groups.names.len(),
            by_rank: &by_rank,
            rank_pos: &rank_pos,
            gate_of: &ex.gate_of,
            gates: &ex.gate_table,
            limits: &limits,
            canary_selector: canary_selector.as_ref(),
        })?;

        let excluded: Vec<ExEntry> = ex
            .excl
            .iter()
            .enumerate()
            .filter_map(|(i, x)| {
                Some(ExEntry {
                    slot: *sel.slots.get(i)?,
                    why: (*x)?,
                    gate: ex.gate_of.get(i).copied().unwrap_or(NONE),
                })
            })
            .collect();
        let mut plan = Plan {
            snapshot: snap.clone(),
            now,
            selected: n,
            waves,
            entries,
            excluded,
            group_by: grouping.map(|g| g.by.clone()),
            group_names: groups.names,
            group_edges: self.group_edges.clone(),
            limits: limit_names,
            gates: ex.gate_table,
            holds: ex.holds,
            stages,
            lookup: Vec::new(),
        };
        plan.build_lookup();
        Ok(plan)
    }

    /// Groups in order (`first` values in order, then the strategy's order, targets
    /// without the property last) and each group's position in it; refuses a `first`
    /// order that contradicts a group edge on the same property.
    fn rank_groups(&self, groups: &Column) -> Result<(Vec<u32>, Vec<usize>), PlanError> {
        let mut by_rank: Vec<u32> = (0..groups.names.len() as u32).collect();
        if let Some(g) = self.strategy.groups.as_ref() {
            let first_pos = |name: &str| g.first.iter().position(|f| f == name);
            by_rank.sort_by_cached_key(|&gi| {
                let name = groups.names.get(gi as usize).map_or("", String::as_str);
                let size = groups.sizes.get(gi as usize).copied().unwrap_or(0);
                let by_size = match g.order {
                    GroupOrder::Name => 0i64,
                    GroupOrder::SmallestFirst => i64::from(size),
                    GroupOrder::LargestFirst => -i64::from(size),
                };
                (
                    name.is_empty(),
                    first_pos(name).unwrap_or(usize::MAX),
                    by_size,
                    name.to_owned(),
                )
            });
            for e in self.group_edges.iter().filter(|e| e.property == g.by) {
                let conflict = match (first_pos(&e.before), first_pos(&e.after)) {
                    (Some(b), Some(a)) => a < b,
                    (None, Some(_)) => true,
                    _ => false,
                };
                if conflict {
                    return Err(PlanError::Unsatisfiable {
                        constraint: "groups.first".into(),
                        reason: format!(
                            "it puts `{}` before `{}`, but a group edge orders `{}` first",
                            e.after, e.before, e.before
                        ),
                    });
                }
            }
        }
        let mut rank_pos = vec![0usize; by_rank.len()];
        for (pos, &g) in by_rank.iter().enumerate() {
            if let Some(p) = rank_pos.get_mut(g as usize) {
                *p = pos;
            }
        }
        Ok((by_rank, rank_pos))
    }

    /// The graph over targets `0..n` and one barrier node per group edge (`n + k`), in
    /// CSR form, with a topological order; a cycle is an error naming it.
    fn graph(&self, sel: &Selected) -> Result<(Csr, Vec<u32>), PlanError> {
        let snap = self.snapshot;
        let n = sel.slots.len();
        let nodes = n + self.group_edges.len();
        let mut edges: Vec<(u32, u32)> = Vec::new();
        for (i, &s) in sel.slots.iter().enumerate() {
            let Some(t) = snap.slot(Slot(s)) else {
                continue;
            };
            for &sym in t.dependency_syms() {
                if let Some(d) = snap.slot_of_sym(sym) {
                    let di = sel.index(d.0);
                    if di != NONE {
                        edges.push((di, i as u32));
                    }
                }
            }
        }
        for (k, e) in self.edges.iter().enumerate() {
            let b = sel.index(self.slot_of(&e.before, || format!("edge {k}"))?);
            let a = sel.index(self.slot_of(&e.after, || format!("edge {k}"))?);
            if b != NONE && a != NONE {
                edges.push((b, a));
            }
        }
        for (k, e) in self.group_edges.iter().enumerate() {
            let col = column(snap, &sel.slots, &e.property);
            let find = |v: &str| col.names.iter().position(|x| x == v).map(|p| p as u32);
            let (before, after) = (find(&e.before), find(&e.after));
            let node = (n + k) as u32;
            for (i, &g) in col.of.iter().enumerate() {
                if Some(g) == before {
                    edges.push((i as u32, node));
                }
                if Some(g) == after {
                    edges.push((node, i as u32));
                }
            }
        }
        let graph = Csr::from_edges(nodes, &edges);
        drop(edges);
        match graph.toposort() {
            Ok(order) => Ok((graph, order)),
            Err(cycle) => {
                let names = cycle
                    .iter()
                    .map(|&u| match sel.slots.get(u as usize) {
                        Some(&s) => snap
                            .slot(Slot(s))
                            .map_or_else(String::new, |t| t.id().to_owned()),
                        None => self
                            .group_edges
                            .get((u as usize).saturating_sub(n))
                            .map_or_else(String::new, GroupEdge::label),
                    })
                    .collect();
                Err(PlanError::Cycle {
                    cycle: rotate_to_smallest(names),
                })
            }
        }
    }

    /// Gates and holds per target, and the exclusions they cause, passed down target
    /// edges in topological order.
    fn exclusions(
        &self,
        gates: &Gates,
        sel: &Selected,
        graph: &Csr,
        topo: &[u32],
        now: DateTime<Utc>,
    ) -> Result<Exclusions, PlanError> {
        let n = sel.slots.len();
        let mut ex = Exclusions {
            gate_of: vec![NONE; n],
            gate_table: Vec::new(),
            excl: vec![None; n],
            holds: Vec::new(),
        };
        for (id, gate) in &gates.gates {
            let i = sel.index(self.slot_of(id, || "the gates".into())?);
            if let (Some(g), Some(x)) =
                (ex.gate_of.get_mut(i as usize), ex.excl.get_mut(i as usize))
            {
                *g = ex.gate_table.len() as u32;
                if !gate.denied.is_empty() {
                    *x = Some(Excl::Denied);
                } else if gate.window == Some(None) {
                    *x = Some(Excl::NoWindow);
                }
                ex.gate_table.push(gate.clone());
            }
        }
        for hold in &gates.holds {
            let applies = match &hold.scope {
                HoldScope::Workload { name } => self.workload.is_none_or(|w| &w.name == name),
                _ => true,
            };
            if !applies || !hold.is_active(now) {
                continue;
            }
            let Some(t) = self.snapshot.get(hold.target.as_str()) else {
                continue;
            };
            if let Some(x) = ex.excl.get_mut(sel.index(t.slot().0) as usize) {
                *x = Some(Excl::Held(ex.holds.len() as u32));
                ex.holds.push(hold.clone());
            }
        }
        for &u in topo {
            let Some(Some(_)) = ex.excl.get(u as usize) else {
                continue;
            };
            let Some(&su) = sel.slots.get(u as usize) else {
                continue;
            };
            for &v in graph.succ(u) {
                if let Some(x) = ex.excl.get_mut(v as usize)
                    && x.is_none()
                {
                    *x = Some(Excl::Dependency(su));
                }
            }
        }
        Ok(ex)
    }

    /// The concurrency limits besides the wave size, with their names for reasons; a
    /// policy limit of 0 over deployable targets is unsatisfiable.
    fn limits(
        &self,
        gates: &Gates,
        sel: &Selected,
        excl: &[Option<Excl>],
    ) -> Result<(Limits, Vec<String>), PlanError> {
        let n = sel.slots.len();
        let mut limits = Limits {
            max_per_group: self.strategy.groups.as_ref().and_then(|g| g.max_per_group),
            ..Limits::default()
        };
        let mut names: Vec<String> = Vec::new();
        if let Some(m) = limits.max_per_group {
            names.push(format!("groups.max_per_group ({m})"));
        }
        limits.first_policy = names.len() as u32;
        for (limit, ids) in &gates.limits {
            let col = column(self.snapshot, &sel.slots, &limit.group_by);
            let mut member = vec![NONE; n];
            let mut deployable_members = 0usize;
            for id in ids {
                let i = sel.index(self.slot_of(id, || format!("the limit `{}`", limit.rule))?);
                if let (Some(m), Some(&g)) = (member.get_mut(i as usize), col.of.get(i as usize)) {
                    if *m == NONE && excl.get(i as usize) == Some(&None) {
                        deployable_members += 1;
                    }
                    *m = g;
                }
            }
            if limit.max_in_flight == 0 && deployable_members > 0 {
                return Err(PlanError::Unsatisfiable {
                    constraint: limit.rule.clone(),
                    reason: format!(
                        "it allows 0 targets in flight per `{}`, and {deployable_members} deployable targets fall under it",
                        limit.group_by
                    ),
                });
            }
            names.push(format!(
                "{} (at most {} per {})",
                limit.rule, limit.max_in_flight, limit.group_by
            ));
            limits.policy.push((limit.max_in_flight, member));
        }
        Ok((limits, names))
    }
}

/// The selected targets: their slots, ascending, and each slot's index among them.
struct Selected {
    slots: Vec<u32>,
    /// By slot: the target's index, or `NONE` when it is not selected.
    index_of: Vec<u32>,
}

impl Selected {
    fn new(slots: Vec<u32>, slot_end: u32) -> Self {
        let mut index_of = vec![NONE; slot_end as usize];
        for (i, &s) in slots.iter().enumerate() {
            if let Some(x) = index_of.get_mut(s as usize) {
                *x = i as u32;
            }
        }
        Self { slots, index_of }
    }

    fn index(&self, slot: u32) -> u32 {
        self.index_of.get(slot as usize).copied().unwrap_or(NONE)
    }
}

/// Gates and holds resolved per target, and the exclusions they cause.
struct Exclusions {
    /// By target index: an index into `gate_table`, or `NONE`.
    gate_of: Vec<u32>,
    gate_table: Vec<Gate>,
    excl: Vec<Option<Excl>>,
    holds: Vec<fleet_core::Hold>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_stages_follow_edges() {
        let names: Vec<String> = ["ingress", "cert-manager", "app", "crds"]
            .map(String::from)
            .to_vec();
        let e = |b: &str, a: &str| DeploymentEdge {
            before: b.into(),
            after: a.into(),
        };
        let s = stages(
            &names,
            &[
                e("cert-manager", "ingress"),
                e("crds", "cert-manager"),
                e("ingress", "app"),
            ],
        )
        .unwrap();
        assert_eq!(s, [["crds"], ["cert-manager"], ["ingress"], ["app"]]);
        let err = stages(
            &names,
            &[e("ingress", "cert-manager"), e("cert-manager", "ingress")],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "deployment order cycle: `cert-manager` -> `ingress` -> `cert-manager` (each goes after the next)"
        );
        let err = stages(&names, &[e("nginx", "app")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown deployment `nginx` in deployment edge 0"
        );
    }
}
