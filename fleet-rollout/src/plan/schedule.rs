//! The wave loop: Kahn's algorithm over the resolved graph, one wave at a time, with the
//! strategy's sizes and every concurrency limit.
//!
//! Targets are dense indices `0..n` (positions in the selection), barrier nodes of group
//! edges follow them. Per target the loop keeps a few words in flat vectors (remaining
//! predecessors, why it waits, the first wave it could have joined); ready targets wait in
//! one first-come-first-served queue per group, targets behind a closed window in a heap by
//! opening. Nothing is allocated per target.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use chrono::{DateTime, Utc};
use fleet_core::{Slot, Snapshot};
use fleet_selectors::CompiledSelector;

use super::error::PlanError;
use super::gates::Gate;
use super::graph::Csr;
use super::output::{Entry, Excl, NONE, WaveKind, WaveRec, Why};
use super::strategy::{Bake, Strategy};

/// Concurrency limits besides the wave size and `max_concurrency`.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    /// `groups.max_per_group` (reason index 0 when set).
    pub(crate) max_per_group: Option<u32>,
    /// The reason index of the first policy limit.
    pub(crate) first_policy: u32,
    /// Per policy limit: its maximum, and by target index the target's group in it (or
    /// `NONE` when the limit does not apply to the target).
    pub(crate) policy: Vec<(u32, Vec<u32>)>,
}

/// What the wave loop needs, resolved from the planner's inputs.
pub(crate) struct Prepared<'a> {
    pub(crate) snapshot: &'a Snapshot,
    pub(crate) strategy: &'a Strategy,
    pub(crate) now: DateTime<Utc>,
    pub(crate) slots: &'a [u32],
    pub(crate) graph: &'a Csr,
    pub(crate) excl: &'a [Option<Excl>],
    pub(crate) deployable: usize,
    /// By target index: its group.
    pub(crate) group_of: &'a [u32],
    pub(crate) groups: usize,
    /// Groups in order, and each group's position in it.
    pub(crate) by_rank: &'a [u32],
    pub(crate) rank_pos: &'a [usize],
    /// By target index: an index into `gates`, or `NONE`.
    pub(crate) gate_of: &'a [u32],
    pub(crate) gates: &'a [Gate],
    pub(crate) limits: &'a Limits,
    pub(crate) canary_selector: Option<&'a CompiledSelector>,
}

/// The waves and their entries, in order.
pub(crate) fn schedule(p: &Prepared<'_>) -> Result<(Vec<WaveRec>, Vec<Entry>), PlanError> {
    let mut s = State::new(p);
    let strategy = p.strategy;
    let mut base = p.now;
    s.start(base);

    let canary_size = strategy.canary_size(p.deployable);
    if canary_size > 0 && p.deployable > 0 {
        // when no target can be a canary now, wait for the next window to open
        while !s.canary(canary_size) {
            match s.deferred.peek() {
                Some(Reverse((t, _))) => {
                    base = base.max(*t);
                    s.release(base);
                }
                None => return Err(no_canary(strategy)),
            }
        }
        let bake = strategy
            .canary
            .as_ref()
            .and_then(|c| c.bake)
            .unwrap_or(strategy.bake);
        s.finish(WaveKind::Canary, base, bake);
        base += bake.min_duration.as_delta();
    }

    let mut j = 0usize;
    while s.entries.len() < p.deployable {
        s.release(base);
        if s.queues.iter().all(VecDeque::is_empty) {
            match s.deferred.peek() {
                Some(Reverse((t, _))) => {
                    base = base.max(*t);
                    continue;
                }
                None => break,
            }
        }
        if let Some(max) = strategy.max_waves
            && s.waves.len() >= max as usize
        {
            return Err(PlanError::Unsatisfiable {
                constraint: "max_waves".into(),
                reason: format!(
                    "{max} waves place {} of {} deployable targets",
                    s.entries.len(),
                    p.deployable
                ),
            });
        }
        s.fill(strategy.effective_cap(j, p.deployable));
        if s.wave.is_empty() {
            // every ready target is over a limit of at least 1 that was reset: cannot
            // happen; refuse rather than loop
            return Err(PlanError::Unsatisfiable {
                constraint: "concurrency limits".into(),
                reason: format!(
                    "no ready target fits in wave {} ({} of {} placed)",
                    s.waves.len(),
                    s.entries.len(),
                    p.deployable
                ),
            });
        }
        s.finish(WaveKind::Wave, base, strategy.bake);
        base += strategy.bake.min_duration.as_delta();
        j += 1;
    }
    if s.entries.len() != p.deployable {
        return Err(PlanError::Unsatisfiable {
            constraint: "dependencies".into(),
            reason: format!(
                "{} of {} deployable targets could not be placed",
                p.deployable.saturating_sub(s.entries.len()),
                p.deployable
            ),
        });
    }
    Ok((s.waves, s.entries))
}

fn no_canary(strategy: &Strategy) -> PlanError {
    match strategy.canary.as_ref().and_then(|c| c.selector.as_ref()) {
        Some(text) => PlanError::Unsatisfiable {
            constraint: "canary.selector".into(),
            reason: format!(
                "no target that could go first matches `{text}` (it must be deployable, wait for no dependency, window or approval)"
            ),
        },
        None => PlanError::Unsatisfiable {
            constraint: "canary".into(),
            reason: "no target can go first: each waits for a dependency, a window or an approval"
                .into(),
        },
    }
}

struct State<'p, 'a> {
    p: &'p Prepared<'a>,
    n: usize,
    one_at_a_time: bool,
    /// Remaining predecessors that are not excluded.
    indeg: Vec<u32>,
    why: Vec<Why>,
    /// The first wave a target could have joined.
    ready_at: Vec<u32>,
    /// Ready targets by group, first come first served.
    queues: Vec<VecDeque<u32>>,
    /// Ready targets whose window opens later, by opening.
    deferred: BinaryHeap<Reverse<(DateTime<Utc>, u32)>>,
    /// Per policy limit and group: targets in the wave being filled.
    counts: Vec<Vec<u32>>,
    touched: Vec<(u32, u32)>,
    /// The wave being filled, and targets a limit kept out of it.
    wave: Vec<u32>,
    skipped: Vec<u32>,
    waves: Vec<WaveRec>,
    entries: Vec<Entry>,
    /// The first wave of the current run of waves of one group.
    run_start: u32,
    /// Per group: the last wave that hit `max_per_group` with targets left over.
    group_capped: Vec<Option<u32>>,
    /// With `one_at_a_time`: the group of the last wave.
    current: Option<u32>,
}

impl<'p, 'a> State<'p, 'a> {
    fn new(p: &'p Prepared<'a>) -> Self {
        let n = p.slots.len();
        let counts = p
            .limits
            .policy
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
        Self {
            p,
            n,
            one_at_a_time: p.strategy.groups.as_ref().is_some_and(|g| g.one_at_a_time),
            indeg: vec![0; p.graph.nodes()],
            why: vec![Why::Ready; n],
            ready_at: vec![0; n],
            queues: vec![VecDeque::new(); p.groups],
            deferred: BinaryHeap::new(),
            counts,
            touched: Vec::new(),
            wave: Vec::new(),
            skipped: Vec::new(),
            waves: Vec::new(),
            entries: Vec::with_capacity(p.deployable),
            run_start: 0,
            group_capped: vec![None; p.groups],
            current: None,
        }
    }

    fn live(&self, u: u32) -> bool {
        (u as usize) >= self.n || self.p.excl.get(u as usize) == Some(&None)
    }

    /// Counts predecessors that are not excluded, and releases every node without one.
    fn start(&mut self, base: DateTime<Utc>) {
        let graph = self.p.graph;
        let nodes = graph.nodes() as u32;
        for u in 0..nodes {
            if !self.live(u) {
                continue;
            }
            for &v in graph.succ(u) {
                if let Some(d) = self.indeg.get_mut(v as usize) {
                    *d += 1;
                }
            }
        }
        for u in 0..nodes {
            if self.live(u) && self.indeg.get(u as usize) == Some(&0) {
                self.became_ready(u, 0, Why::Ready, base);
            }
        }
    }

    fn gate(&self, i: u32) -> Option<&'a Gate> {
        let g = self.p.gate_of.get(i as usize).copied().unwrap_or(NONE);
        self.p.gates.get(g as usize)
    }

    fn group_of(&self, i: u32) -> u32 {
        self.p.group_of.get(i as usize).copied().unwrap_or(NONE)
    }

    /// Node `u` has no remaining predecessor: queue a target (or defer it for its window);
    /// pass a barrier straight through.
    fn became_ready(&mut self, u: u32, wave: u32, why: Why, base: DateTime<Utc>) {
        if (u as usize) >= self.n {
            let edge = (u as usize - self.n) as u32;
            self.done(u, wave, Why::GroupEdge(edge), base);
            return;
        }
        if !self.live(u) {
            return;
        }
        if let Some(r) = self.ready_at.get_mut(u as usize) {
            *r = wave;
        }
        let window = self.gate(u).and_then(|g| g.window.flatten());
        let why = match window {
            Some(t) if t > base => {
                self.deferred.push(Reverse((t, u)));
                Why::Window
            }
            _ => {
                self.enqueue(u);
                why
            }
        };
        if let Some(w) = self.why.get_mut(u as usize) {
            *w = why;
        }
    }

    fn enqueue(&mut self, u: u32) {
        let g = self.group_of(u);
        if let Some(q) = self.queues.get_mut(g as usize) {
            q.push_back(u);
        }
    }

    /// Node `u` is placed (or, for a barrier, passed): release its successors.
    fn done(&mut self, u: u32, wave: u32, why: Why, base: DateTime<Utc>) {
        let graph = self.p.graph;
        for &v in graph.succ(u) {
            let Some(d) = self.indeg.get_mut(v as usize) else {
                continue;
            };
            if *d == 0 {
                // an excluded target: its predecessors were never counted
                continue;
            }
            *d -= 1;
            if *d == 0 {
                self.became_ready(v, wave, why, base);
            }
        }
    }

    /// Moves deferred targets whose window is open at `base` into their queues.
    fn release(&mut self, base: DateTime<Utc>) {
        let wave = self.waves.len() as u32;
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

    /// The policy limit (its reason index) that target `i` would exceed in this wave.
    fn over_limit(&self, i: u32) -> Option<u32> {
        for (l, (max, member)) in self.p.limits.policy.iter().enumerate() {
            let g = member.get(i as usize).copied().unwrap_or(NONE);
            if g != NONE
                && self
                    .counts
                    .get(l)
                    .and_then(|c| c.get(g as usize))
                    .is_some_and(|c| c >= max)
            {
                return Some(self.p.limits.first_policy + l as u32);
            }
        }
        None
    }

    /// Puts target `i` in the wave being filled.
    fn take(&mut self, i: u32) {
        for (l, (_, member)) in self.p.limits.policy.iter().enumerate() {
            let g = member.get(i as usize).copied().unwrap_or(NONE);
            if g != NONE
                && let Some(c) = self.counts.get_mut(l).and_then(|c| c.get_mut(g as usize))
            {
                *c += 1;
                self.touched.push((l as u32, g));
            }
        }
        self.wave.push(i);
    }

    fn room(&self) -> usize {
        self.p
            .limits
            .max_per_group
            .map_or(usize::MAX, |m| m as usize)
    }

    /// Chooses the canaries: in group order, among queued targets (nothing to wait for)
    /// without pending approvals, matching the selector, within every limit. Whether any
    /// was found.
    fn canary(&mut self, size: usize) -> bool {
        let p = self.p;
        let mut bound = p.canary_selector.map(|s| s.bind(p.snapshot, p.now));
        let mut chosen_group = None;
        let room = self.room();
        for &g in p.by_rank {
            if self.wave.len() >= size || (self.one_at_a_time && chosen_group.is_some()) {
                break;
            }
            let len = self.queues.get(g as usize).map_or(0, VecDeque::len);
            let mut taken = 0usize;
            for pos in 0..len {
                if self.wave.len() >= size || taken >= room {
                    break;
                }
                let Some(i) = self
                    .queues
                    .get(g as usize)
                    .and_then(|q| q.get(pos))
                    .copied()
                else {
                    break;
                };
                let pending = self.gate(i).is_some_and(|g| !g.pending_approval.is_empty());
                if pending || self.over_limit(i).is_some() {
                    continue;
                }
                if let Some(b) = bound.as_mut() {
                    let target = p
                        .slots
                        .get(i as usize)
                        .and_then(|&s| p.snapshot.slot(Slot(s)));
                    if !target.is_some_and(|t| b.matches(&t)) {
                        continue;
                    }
                }
                self.take(i);
                taken += 1;
                chosen_group = Some(g);
            }
        }
        if self.wave.is_empty() {
            return false;
        }
        if self.one_at_a_time {
            self.current = chosen_group;
        }
        let mut chosen = self.wave.clone();
        chosen.sort_unstable();
        for q in &mut self.queues {
            q.retain(|i| chosen.binary_search(i).is_err());
        }
        true
    }

    /// Fills a regular wave of at most `cap` targets from the queues.
    fn fill(&mut self, cap: usize) {
        let p = self.p;
        let k = self.waves.len() as u32;
        let room = self.room();
        // one group at a time: the current group while it has ready targets, then the next
        // one in order that has any, wrapping around to groups whose targets became ready
        // meanwhile (a round robin, so each pass keeps the group order)
        let start = if self.one_at_a_time {
            self.current
                .and_then(|c| p.rank_pos.get(c as usize).copied())
                .unwrap_or(0)
        } else {
            0
        };
        let rotated = p
            .by_rank
            .iter()
            .skip(start)
            .chain(p.by_rank.iter().take(start));
        for &g in rotated {
            if self.wave.len() >= cap {
                break;
            }
            if self.queues.get(g as usize).is_none_or(VecDeque::is_empty) {
                continue;
            }
            let mut taken = 0usize;
            while self.wave.len() < cap && taken < room {
                let Some(i) = self
                    .queues
                    .get_mut(g as usize)
                    .and_then(VecDeque::pop_front)
                else {
                    break;
                };
                if let Some(l) = self.over_limit(i) {
                    if let Some(w) = self.why.get_mut(i as usize) {
                        *w = Why::Limit(l);
                    }
                    self.skipped.push(i);
                    continue;
                }
                self.take(i);
                taken += 1;
            }
            if let Some(q) = self.queues.get_mut(g as usize) {
                if taken >= room
                    && !q.is_empty()
                    && let Some(c) = self.group_capped.get_mut(g as usize)
                {
                    *c = Some(k);
                }
                for &i in self.skipped.iter().rev() {
                    q.push_front(i);
                }
            }
            self.skipped.clear();
            if self.one_at_a_time {
                self.current = Some(g);
                break;
            }
        }
    }

    /// Records the filled wave, resets the limit counts, and releases the wave's
    /// dependents for the next one.
    fn finish(&mut self, kind: WaveKind, start: DateTime<Utc>, bake: Bake) {
        let k = self.waves.len() as u32;
        let wave = std::mem::take(&mut self.wave);
        let first = wave.first().map(|&i| self.group_of(i));
        let group = first.filter(|&g| wave.iter().all(|&i| self.group_of(i) == g));
        let prev_group = self.waves.last().and_then(|w| w.group);
        if k == 0 || prev_group != group || group.is_none() {
            self.run_start = k;
        }
        for &i in &wave {
            let g = self.group_of(i);
            let ready = self.ready_at.get(i as usize).copied().unwrap_or(0);
            let why = match (
                kind,
                self.why.get(i as usize).copied().unwrap_or(Why::Ready),
            ) {
                (WaveKind::Canary, _) => Why::Canary,
                (_, Why::Ready | Why::Dependency(_) | Why::GroupEdge(_)) if k > ready => {
                    // it could have joined an earlier wave: say what kept it out
                    if self
                        .group_capped
                        .get(g as usize)
                        .copied()
                        .flatten()
                        .is_some_and(|c| c >= ready)
                    {
                        Why::Limit(0)
                    } else if self.one_at_a_time && self.run_start > ready {
                        Why::GroupTurn
                    } else {
                        Why::WaveFull
                    }
                }
                (_, w) => w,
            };
            self.entries.push(Entry {
                slot: self.p.slots.get(i as usize).copied().unwrap_or(NONE),
                wave: k,
                why,
                gate: self.p.gate_of.get(i as usize).copied().unwrap_or(NONE),
            });
        }
        self.waves.push(WaveRec {
            kind,
            group,
            start,
            bake,
            end: self.entries.len() as u32,
        });
        for (l, g) in self.touched.drain(..) {
            if let Some(c) = self
                .counts
                .get_mut(l as usize)
                .and_then(|c| c.get_mut(g as usize))
            {
                *c = 0;
            }
        }
        let next_base = start + bake.min_duration.as_delta();
        for &i in &wave {
            let slot = self.p.slots.get(i as usize).copied().unwrap_or(NONE);
            self.done(i, k + 1, Why::Dependency(slot), next_base);
        }
        // keep the buffer's capacity for the next wave
        self.wave = wave;
        self.wave.clear();
    }
}
