//! The planner: inputs in, a [`Plan`] out, no clock and no IO.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use chrono::{DateTime, Utc};
use fleet_core::{HoldScope, Schema, Slot, Snapshot, StoredValue, TargetId, ValueRef, Workload};
use fleet_selectors::TargetSet;

use super::error::PlanError;
use super::gates::{Gate, Gates};
use super::graph::Csr;
use super::inputs::{DeploymentEdge, Edge, GroupEdge};
use super::output::{Entry, ExEntry, Excl, NONE, Plan, WaveKind, WaveRec, Why};
use super::strategy::{Bake, GroupOrder, Strategy};

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
        let slots = self.selected_slots()?;
        let n = slots.len();
        let mut index_of = vec![NONE; snap.slot_end() as usize];
        for (i, &s) in slots.iter().enumerate() {
            if let Some(x) = index_of.get_mut(s as usize) {
                *x = i as u32;
            }
        }
        let idx = |slot: u32| index_of.get(slot as usize).copied().unwrap_or(NONE);

        // --- groups -------------------------------------------------------------------
        let grouping = strategy.groups.as_ref();
        if let Some(g) = grouping {
            check_property(self.schema, &g.by, "groups.by".into())?;
        }
        for (k, e) in self.group_edges.iter().enumerate() {
            check_property(self.schema, &e.property, format!("group edge {k}"))?;
        }
        let groups = match grouping {
            Some(g) => column(snap, &slots, &g.by),
            None => Column {
                of: vec![0; n],
                names: vec![String::new()],
                sizes: vec![n as u32],
            },
        };
        // rank: `first` values in order, then by the strategy's order; no value last
        let mut by_rank: Vec<u32> = (0..groups.names.len() as u32).collect();
        if let Some(g) = grouping {
            let first_pos = |name: &str| g.first.iter().position(|f| f == name);
            let key = |gi: u32| {
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
            };
            by_rank.sort_by_cached_key(|&gi| key(gi));
            for e in &self.group_edges {
                if e.property != g.by {
                    continue;
                }
                let (b, a) = (first_pos(&e.before), first_pos(&e.after));
                let conflict = match (b, a) {
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

        // --- the graph: targets 0..n, then one barrier node per group edge ---------------
        let barriers = self.group_edges.len();
        let nodes = n + barriers;
        let mut edges: Vec<(u32, u32)> = Vec::new();
        for (i, &s) in slots.iter().enumerate() {
            let Some(t) = snap.slot(Slot(s)) else {
                continue;
            };
            for &sym in t.dependency_syms() {
                if let Some(d) = snap.slot_of_sym(sym) {
                    let di = idx(d.0);
                    if di != NONE {
                        edges.push((di, i as u32));
                    }
                }
            }
        }
        for (k, e) in self.edges.iter().enumerate() {
            let b = idx(self.slot_of(&e.before, || format!("edge {k}"))?);
            let a = idx(self.slot_of(&e.after, || format!("edge {k}"))?);
            if b != NONE && a != NONE {
                edges.push((b, a));
            }
        }
        for (k, e) in self.group_edges.iter().enumerate() {
            let col = column(snap, &slots, &e.property);
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
        let topo = match graph.toposort() {
            Ok(order) => order,
            Err(cycle) => {
                let names = cycle
                    .iter()
                    .map(|&u| match slots.get(u as usize) {
                        Some(&s) => snap
                            .slot(Slot(s))
                            .map_or_else(String::new, |t| t.id().to_owned()),
                        None => self
                            .group_edges
                            .get(u as usize - n)
                            .map_or_else(String::new, GroupEdge::label),
                    })
                    .collect();
                return Err(PlanError::Cycle {
                    cycle: rotate_to_smallest(names),
                });
            }
        };
        let stages = if self.deployments.is_empty() {
            Vec::new()
        } else {
            stages(&self.deployments, &self.deployment_edges)?
        };

        // --- gates and holds -----------------------------------------------------------
        let empty = Gates::new();
        let gates = self.gates.unwrap_or(&empty);
        let mut gate_of = vec![NONE; n];
        let mut gate_table: Vec<Gate> = Vec::new();
        let mut excl: Vec<Option<Excl>> = vec![None; n];
        for (id, gate) in &gates.gates {
            let i = idx(self.slot_of(id, || "the gates".into())?);
            if i == NONE {
                continue;
            }
            if let (Some(g), Some(x)) = (gate_of.get_mut(i as usize), excl.get_mut(i as usize)) {
                *g = gate_table.len() as u32;
                if !gate.denied.is_empty() {
                    *x = Some(Excl::Denied);
                } else if gate.window == Some(None) {
                    *x = Some(Excl::NoWindow);
                }
            }
            gate_table.push(gate.clone());
        }
        let mut holds = Vec::new();
        for hold in &gates.holds {
            let applies = match &hold.scope {
                HoldScope::Workload { name } => self.workload.is_none_or(|w| &w.name == name),
                _ => true,
            };
            if !applies || !hold.is_active(now) {
                continue;
            }
            let Some(t) = snap.get(hold.target.as_str()) else {
                continue;
            };
            let i = idx(t.slot().0);
            if let Some(x) = excl.get_mut(i as usize) {
                *x = Some(Excl::Held(holds.len() as u32));
                holds.push(hold.clone());
            }
        }
        // exclusions pass down target edges, in topological order
        for &u in &topo {
            let Some(Some(_)) = excl.get(u as usize) else {
                continue;
            };
            let Some(&su) = slots.get(u as usize) else {
                continue;
            };
            for &v in graph.succ(u) {
                if let Some(x) = excl.get_mut(v as usize)
                    && x.is_none()
                {
                    *x = Some(Excl::Dependency(su));
                }
            }
        }
        drop(topo);
        let excluded_count = excl.iter().filter(|x| x.is_some()).count();
        let deployable = n - excluded_count;
        let window_of = |i: u32| -> Option<DateTime<Utc>> {
            let g = gate_of.get(i as usize).copied().unwrap_or(NONE);
            gate_table.get(g as usize)?.window.flatten()
        };
        let pending = |i: u32| {
            let g = gate_of.get(i as usize).copied().unwrap_or(NONE);
            gate_table
                .get(g as usize)
                .is_some_and(|g| !g.pending_approval.is_empty())
        };

        // --- limits ----------------------------------------------------------------------
        let max_per_group = grouping.and_then(|g| g.max_per_group);
        let mut limit_names: Vec<String> = Vec::new();
        if let Some(m) = max_per_group {
            limit_names.push(format!("groups.max_per_group ({m})"));
        }
        let first_policy_limit = limit_names.len() as u32;
        // per policy limit: its maximum, and by target index the target's group (or NONE)
        let mut policy_limits: Vec<(u32, Vec<u32>)> = Vec::new();
        for (limit, ids) in &gates.limits {
            let col = column(snap, &slots, &limit.group_by);
            let mut member = vec![NONE; n];
            let mut deployable_members = 0usize;
            for id in ids {
                let i = idx(self.slot_of(id, || format!("the limit `{}`", limit.rule))?);
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
            limit_names.push(format!(
                "{} (at most {} per {})",
                limit.rule, limit.max_in_flight, limit.group_by
            ));
            policy_limits.push((limit.max_in_flight, member));
        }
        let mut counts: Vec<Vec<u32>> = policy_limits
            .iter()
            .map(|(_, member)| {
                let size = member
                    .iter()
                    .filter(|&&g| g != NONE)
                    .max()
                    .map_or(0, |&g| g as usize + 1);
                vec![0; size]
            })
            .collect();

        // --- the canary selector ---------------------------------------------------------
        let canary_selector = match strategy.canary.as_ref().and_then(|c| c.selector.as_ref()) {
            Some(text) => {
                Some(fleet_selectors::compile(text, self.schema).map_err(PlanError::Selector)?)
            }
            None => None,
        };

        // --- waves -----------------------------------------------------------------------
        let mut sched = Schedule {
            graph: &graph,
            n,
            slots: &slots,
            excl: &excl,
            indeg: vec![0; nodes],
            why: vec![Why::Ready; n],
            ready_at: vec![0; n],
            queues: vec![VecDeque::new(); groups.names.len()],
            deferred: BinaryHeap::new(),
            group_of: &groups.of,
            window_of: &window_of,
        };
        for u in 0..nodes as u32 {
            if (u as usize) < n && excl.get(u as usize) != Some(&None) {
                continue;
            }
            for &v in graph.succ(u) {
                if let Some(d) = sched.indeg.get_mut(v as usize) {
                    *d += 1;
                }
            }
        }
        let mut base = now;
        for u in 0..nodes as u32 {
            let live = (u as usize) >= n || excl.get(u as usize) == Some(&None);
            if live && sched.indeg.get(u as usize) == Some(&0) {
                sched.became_ready(u, 0, Why::Ready, base);
            }
        }

        let mut waves: Vec<WaveRec> = Vec::new();
        let mut entries: Vec<Entry> = Vec::with_capacity(deployable);
        let mut wave: Vec<u32> = Vec::new();
        let mut skipped: Vec<u32> = Vec::new();
        let mut touched: Vec<(u32, u32)> = Vec::new();
        let mut run_start = 0u32;
        let mut group_capped: Vec<Option<u32>> = vec![None; groups.names.len()];
        let one_at_a_time = grouping.is_some_and(|g| g.one_at_a_time);
        let fits = |i: u32, counts: &Vec<Vec<u32>>| -> Option<u32> {
            for (l, (max, member)) in policy_limits.iter().enumerate() {
                let g = member.get(i as usize).copied().unwrap_or(NONE);
                if g != NONE
                    && counts
                        .get(l)
                        .and_then(|c| c.get(g as usize))
                        .is_some_and(|c| c >= max)
                {
                    return Some(first_policy_limit + l as u32);
                }
            }
            None
        };
        let take = |i: u32, counts: &mut Vec<Vec<u32>>, touched: &mut Vec<(u32, u32)>| {
            for (l, (_, member)) in policy_limits.iter().enumerate() {
                let g = member.get(i as usize).copied().unwrap_or(NONE);
                if g != NONE
                    && let Some(c) = counts.get_mut(l).and_then(|c| c.get_mut(g as usize))
                {
                    *c += 1;
                    touched.push((l as u32, g));
                }
            }
        };

        // the canary
        let mut current: Option<u32> = None;
        let canary_size = strategy.canary_size(deployable);
        if canary_size > 0 && deployable > 0 {
            let mut bound = canary_selector.as_ref().map(|s| s.bind(snap, now));
            let mut chosen_group = None;
            for &g in &by_rank {
                if wave.len() >= canary_size || (one_at_a_time && chosen_group.is_some()) {
                    break;
                }
                let Some(q) = sched.queues.get(g as usize) else {
                    continue;
                };
                let room = max_per_group.map_or(usize::MAX, |m| m as usize);
                let mut taken = 0usize;
                for &i in q {
                    if wave.len() >= canary_size || taken >= room {
                        break;
                    }
                    if pending(i) || fits(i, &counts).is_some() {
                        continue;
                    }
                    if let Some(b) = bound.as_mut() {
                        let Some(t) = slots.get(i as usize).and_then(|&s| snap.slot(Slot(s)))
                        else {
                            continue;
                        };
                        if !b.matches(&t) {
                            continue;
                        }
                    }
                    take(i, &mut counts, &mut touched);
                    wave.push(i);
                    taken += 1;
                    chosen_group = Some(g);
                }
            }
            if wave.is_empty() {
                let canary = strategy.canary.as_ref();
                return Err(match canary.and_then(|c| c.selector.as_ref()) {
                    Some(text) => PlanError::Unsatisfiable {
                        constraint: "canary.selector".into(),
                        reason: format!(
                            "no target that could go first matches `{text}` (it must be deployable, wait for no dependency, window or approval)"
                        ),
                    },
                    None => PlanError::Unsatisfiable {
                        constraint: "canary".into(),
                        reason: "no target can go first: each waits for a dependency, a window or an approval".into(),
                    },
                });
            }
            if one_at_a_time {
                current = chosen_group;
            }
            let mut chosen = wave.clone();
            chosen.sort_unstable();
            for q in &mut sched.queues {
                q.retain(|i| chosen.binary_search(i).is_err());
            }
            let bake = canary_bake(strategy);
            self.finish_wave(
                &mut sched,
                &mut wave,
                WaveKind::Canary,
                &mut waves,
                &mut entries,
                (base, bake),
                &mut run_start,
                &group_capped,
                &gate_of,
                one_at_a_time,
            );
            for (l, g) in touched.drain(..) {
                if let Some(c) = counts
                    .get_mut(l as usize)
                    .and_then(|c| c.get_mut(g as usize))
                {
                    *c = 0;
                }
            }
            base += bake.min_duration.as_delta();
        }

        let mut j = 0usize;
        while entries.len() < deployable {
            sched.release(base, waves.len() as u32);
            if sched.queues.iter().all(VecDeque::is_empty) {
                match sched.deferred.peek() {
                    Some(Reverse((t, _))) => {
                        base = base.max(*t);
                        continue;
                    }
                    None => break,
                }
            }
            if let Some(max) = strategy.max_waves
                && waves.len() >= max as usize
            {
                return Err(PlanError::Unsatisfiable {
                    constraint: "max_waves".into(),
                    reason: format!(
                        "{max} waves place {} of {deployable} deployable targets",
                        entries.len()
                    ),
                });
            }
            let cap = strategy.effective_cap(j, deployable);
            let k = waves.len() as u32;
            // one group at a time: the current group while it has ready targets, then the
            // next one in order that has any, wrapping around to groups whose targets
            // became ready meanwhile (a round robin, so each pass keeps the group order)
            let start = if one_at_a_time {
                current
                    .and_then(|c| rank_pos.get(c as usize).copied())
                    .unwrap_or(0)
            } else {
                0
            };
            let rotated = by_rank.iter().skip(start).chain(by_rank.iter().take(start));
            for &g in rotated {
                if wave.len() >= cap {
                    break;
                }
                let Some(q) = sched.queues.get_mut(g as usize) else {
                    continue;
                };
                if q.is_empty() {
                    continue;
                }
                let room = max_per_group.map_or(usize::MAX, |m| m as usize);
                let mut taken = 0usize;
                while wave.len() < cap && taken < room {
                    let Some(i) = q.pop_front() else { break };
                    if let Some(l) = fits(i, &counts) {
                        if let Some(w) = sched.why.get_mut(i as usize) {
                            *w = Why::Limit(l);
                        }
                        skipped.push(i);
                        continue;
                    }
                    take(i, &mut counts, &mut touched);
                    wave.push(i);
                    taken += 1;
                }
                if taken >= room
                    && !q.is_empty()
                    && let Some(c) = group_capped.get_mut(g as usize)
                {
                    *c = Some(k);
                }
                for &i in skipped.iter().rev() {
                    q.push_front(i);
                }
                skipped.clear();
                if one_at_a_time {
                    current = Some(g);
                    break;
                }
            }
            if wave.is_empty() {
                // every ready target is over a limit of at least 1 that was reset: cannot
                // happen; refuse rather than loop
                return Err(PlanError::Unsatisfiable {
                    constraint: "concurrency limits".into(),
                    reason: format!(
                        "no ready target fits in wave {k} ({} of {deployable} placed)",
                        entries.len()
                    ),
                });
            }
            let bake = strategy.bake;
            self.finish_wave(
                &mut sched,
                &mut wave,
                WaveKind::Wave,
                &mut waves,
                &mut entries,
                (base, bake),
                &mut run_start,
                &group_capped,
                &gate_of,
                one_at_a_time,
            );
            for (l, g) in touched.drain(..) {
                if let Some(c) = counts
                    .get_mut(l as usize)
                    .and_then(|c| c.get_mut(g as usize))
                {
                    *c = 0;
                }
            }
            base += bake.min_duration.as_delta();
            j += 1;
        }
        if entries.len() != deployable {
            return Err(PlanError::Unsatisfiable {
                constraint: "dependencies".into(),
                reason: format!(
                    "{} of {deployable} deployable targets could not be placed",
                    deployable.saturating_sub(entries.len())
                ),
            });
        }

        let excluded: Vec<ExEntry> = excl
            .iter()
            .enumerate()
            .filter_map(|(i, x)| {
                Some(ExEntry {
                    slot: *slots.get(i)?,
                    why: (*x)?,
                    gate: gate_of.get(i).copied().unwrap_or(NONE),
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
            gates: gate_table,
            holds,
            stages,
            lookup: Vec::new(),
        };
        plan.build_lookup();
        Ok(plan)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the wave loop's state, passed apart so the borrows stay disjoint"
    )]
    fn finish_wave(
        &self,
        sched: &mut Schedule<'_>,
        wave: &mut Vec<u32>,
        kind: WaveKind,
        waves: &mut Vec<WaveRec>,
        entries: &mut Vec<Entry>,
        (start, bake): (DateTime<Utc>, Bake),
        run_start: &mut u32,
        group_capped: &[Option<u32>],
        gate_of: &[u32],
        one_at_a_time: bool,
    ) {
        let k = waves.len() as u32;
        let group_of = |i: u32| sched.group_of.get(i as usize).copied().unwrap_or(NONE);
        let first = wave.first().map(|&i| group_of(i));
        let group = first.filter(|&g| wave.iter().all(|&i| group_of(i) == g));
        let prev_group = waves.last().and_then(|w| w.group);
        if k == 0 || prev_group != group || group.is_none() {
            *run_start = k;
        }
        for &i in wave.iter() {
            let g = group_of(i);
            let ready = sched.ready_at.get(i as usize).copied().unwrap_or(0);
            let why = match (
                kind,
                sched.why.get(i as usize).copied().unwrap_or(Why::Ready),
            ) {
                (WaveKind::Canary, _) => Why::Canary,
                (_, Why::Ready | Why::Dependency(_) | Why::GroupEdge(_)) if k > ready => {
                    // it could have joined an earlier wave: say what kept it out
                    if group_capped
                        .get(g as usize)
                        .copied()
                        .flatten()
                        .is_some_and(|c| c >= ready)
                    {
                        Why::Limit(0)
                    } else if one_at_a_time && *run_start > ready {
                        Why::GroupTurn
                    } else {
                        Why::WaveFull
                    }
                }
                (_, w) => w,
            };
            entries.push(Entry {
                slot: sched.slots.get(i as usize).copied().unwrap_or(NONE),
                wave: k,
                why,
                gate: gate_of.get(i as usize).copied().unwrap_or(NONE),
            });
        }
        waves.push(WaveRec {
            kind,
            group,
            start,
            bake,
            end: entries.len() as u32,
        });
        let next_base = start + bake.min_duration.as_delta();
        for &i in wave.iter() {
            let slot = sched.slots.get(i as usize).copied().unwrap_or(NONE);
            sched.done(i, k + 1, Why::Dependency(slot), next_base);
        }
        wave.clear();
    }
}

fn canary_bake(strategy: &Strategy) -> Bake {
    strategy
        .canary
        .as_ref()
        .and_then(|c| c.bake)
        .unwrap_or(strategy.bake)
}

/// The mutable state of the wave loop.
struct Schedule<'s> {
    graph: &'s Csr,
    n: usize,
    slots: &'s [u32],
    excl: &'s [Option<Excl>],
    /// Remaining predecessors that are not excluded.
    indeg: Vec<u32>,
    why: Vec<Why>,
    /// The first wave a target could have joined.
    ready_at: Vec<u32>,
    /// Ready targets by group, first come first served.
    queues: Vec<VecDeque<u32>>,
    /// Ready targets whose window opens later, by opening.
    deferred: BinaryHeap<Reverse<(DateTime<Utc>, u32)>>,
    group_of: &'s [u32],
    window_of: &'s dyn Fn(u32) -> Option<DateTime<Utc>>,
}

impl Schedule<'_> {
    /// Node `u` has no remaining predecessor: queue a target (or defer it for its window);
    /// pass a barrier straight through.
    fn became_ready(&mut self, u: u32, wave: u32, why: Why, base: DateTime<Utc>) {
        if (u as usize) >= self.n {
            let edge = (u as usize - self.n) as u32;
            self.done(u, wave, Why::GroupEdge(edge), base);
            return;
        }
        if self.excl.get(u as usize) != Some(&None) {
            return;
        }
        if let Some(w) = self.why.get_mut(u as usize) {
            *w = why;
        }
        if let Some(r) = self.ready_at.get_mut(u as usize) {
            *r = wave;
        }
        match (self.window_of)(u) {
            Some(t) if t > base => {
                if let Some(w) = self.why.get_mut(u as usize) {
                    *w = Why::Window;
                }
                self.deferred.push(Reverse((t, u)));
            }
            _ => self.enqueue(u),
        }
    }

    fn enqueue(&mut self, u: u32) {
        let g = self.group_of.get(u as usize).copied().unwrap_or(0);
        if let Some(q) = self.queues.get_mut(g as usize) {
            q.push_back(u);
        }
    }

    /// Node `u` is placed (or, for a barrier, passed): release its successors.
    fn done(&mut self, u: u32, wave: u32, why: Why, base: DateTime<Utc>) {
        let graph = self.graph;
        for &v in graph.succ(u) {
            let Some(d) = self.indeg.get_mut(v as usize) else {
                continue;
            };
            if *d == 0 {
                // an excluded target's successor that is itself excluded
                continue;
            }
            *d -= 1;
            if *d == 0 {
                self.became_ready(v, wave, why, base);
            }
        }
    }

    /// Moves deferred targets whose window is open at `base` into their queues.
    fn release(&mut self, base: DateTime<Utc>, wave: u32) {
        while let Some(Reverse((t, u))) = self.deferred.peek().copied() {
            if t > base {
                break;
            }
            self.deferred.pop();
            if let Some(r) = self.ready_at.get_mut(u as usize) {
                *r = wave;
            }
            self.enqueue(u);
        }
    }
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
