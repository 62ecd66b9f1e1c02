//! The plan: waves of targets with start times, and why each target is where it is.
//!
//! Internally compact (a plan of a million targets holds no string per target: ids are
//! read from the snapshot the plan keeps, which costs nothing to hold); the public
//! accessors and serde output resolve names on the way out.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use fleet_core::{Hold, Slot, Snapshot};
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use super::gates::Gate;
use super::inputs::GroupEdge;
use super::strategy::Bake;

pub(crate) const NONE: u32 = u32::MAX;
const EXCLUDED_BIT: u32 = 1 << 31;

/// Why a planned target is in its wave (compact, internal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    Canary,
    Ready,
    /// The slot of the dependency whose wave it follows.
    Dependency(u32),
    /// The group edge it waited for.
    GroupEdge(u32),
    GroupTurn,
    /// An index into `Plan::limits`.
    Limit(u32),
    WaveFull,
    Window,
}

/// Why a target is excluded (compact, internal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Excl {
    Denied,
    /// An index into `Plan::holds`.
    Held(u32),
    NoWindow,
    /// The slot of the excluded dependency.
    Dependency(u32),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) slot: u32,
    pub(crate) wave: u32,
    pub(crate) why: Why,
    /// An index into `Plan::gates`, or `NONE`.
    pub(crate) gate: u32,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ExEntry {
    pub(crate) slot: u32,
    pub(crate) why: Excl,
    pub(crate) gate: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct WaveRec {
    pub(crate) kind: WaveKind,
    pub(crate) group: Option<u32>,
    pub(crate) start: DateTime<Utc>,
    pub(crate) bake: Bake,
    /// One past the wave's last entry.
    pub(crate) end: u32,
}

/// What a wave is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaveKind {
    /// The one box or canary wave.
    Canary,
    /// A regular wave.
    Wave,
}

/// A rollout plan: waves in order, each with its targets and earliest start, every target's
/// reason for its place, and every selected target that will not be deployed with the
/// reason. Made by [`Planner::plan`](super::Planner::plan).
///
/// Serializes (serde) to a deterministic document: the same inputs give the same bytes.
///
/// A plan keeps the snapshot it was made on (a clone is O(1) and shares everything), so
/// ids resolve without a copy per target; while a plan is alive, the inventory does not
/// reuse the slots of targets removed since.
#[derive(Clone)]
pub struct Plan {
    pub(crate) snapshot: Snapshot,
    pub(crate) now: DateTime<Utc>,
    pub(crate) selected: usize,
    pub(crate) waves: Vec<WaveRec>,
    pub(crate) entries: Vec<Entry>,
    pub(crate) excluded: Vec<ExEntry>,
    pub(crate) group_by: Option<String>,
    pub(crate) group_names: Vec<String>,
    pub(crate) group_edges: Vec<GroupEdge>,
    pub(crate) limits: Vec<String>,
    pub(crate) gates: Vec<Gate>,
    pub(crate) holds: Vec<Hold>,
    pub(crate) stages: Vec<Vec<String>>,
    /// By slot: an entry index, `EXCLUDED_BIT | excluded index`, or `NONE`.
    pub(crate) lookup: Vec<u32>,
}

impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("now", &self.now)
            .field("selected", &self.selected)
            .field("waves", &self.waves.len())
            .field("planned", &self.entries.len())
            .field("excluded", &self.excluded.len())
            .finish_non_exhaustive()
    }
}

impl Plan {
    pub(crate) fn build_lookup(&mut self) {
        let mut lookup = vec![NONE; self.snapshot.slot_end() as usize];
        for (i, e) in self.entries.iter().enumerate() {
            if let Some(l) = lookup.get_mut(e.slot as usize) {
                *l = i as u32;
            }
        }
        for (i, e) in self.excluded.iter().enumerate() {
            if let Some(l) = lookup.get_mut(e.slot as usize) {
                *l = EXCLUDED_BIT | i as u32;
            }
        }
        self.lookup = lookup;
    }

    fn id(&self, slot: u32) -> &str {
        self.snapshot.slot(Slot(slot)).map_or("", |t| t.id())
    }

    /// The instant the plan was made for.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// How many targets were selected.
    #[must_use]
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// How many targets are planned (in some wave).
    #[must_use]
    pub fn planned(&self) -> usize {
        self.entries.len()
    }

    /// The waves, in order.
    pub fn waves(&self) -> impl ExactSizeIterator<Item = WaveView<'_>> + '_ {
        (0..self.waves.len()).map(move |index| WaveView { plan: self, index })
    }

    /// The wave at `index`.
    #[must_use]
    pub fn wave(&self, index: usize) -> Option<WaveView<'_>> {
        (index < self.waves.len()).then_some(WaveView { plan: self, index })
    }

    /// The deployment stages every target goes through, in order: deployments of one stage
    /// may go together, each stage after the one before (from deployment-level edges).
    #[must_use]
    pub fn stages(&self) -> &[Vec<String>] {
        &self.stages
    }

    /// Every excluded target, in slot order.
    pub fn excluded(&self) -> impl ExactSizeIterator<Item = Excluded<'_>> + '_ {
        self.excluded.iter().map(move |e| self.excluded_view(e))
    }

    /// Where `id` is: planned (with its wave and reason), excluded (with the reason), or
    /// `None` when it was not selected.
    #[must_use]
    pub fn placement(&self, id: &str) -> Option<Placement<'_>> {
        let slot = self.snapshot.get(id)?.slot();
        let l = *self.lookup.get(slot.index())?;
        if l == NONE {
            None
        } else if l & EXCLUDED_BIT != 0 {
            let e = self.excluded.get((l & !EXCLUDED_BIT) as usize)?;
            Some(Placement::Excluded(self.excluded_view(e)))
        } else {
            let e = self.entries.get(l as usize)?;
            Some(Placement::Planned(self.placed_view(e)))
        }
    }

    fn gate(&self, i: u32) -> Option<&Gate> {
        if i == NONE {
            None
        } else {
            self.gates.get(i as usize)
        }
    }

    fn placed_view<'p>(&'p self, e: &Entry) -> Placed<'p> {
        let gate = self.gate(e.gate);
        let reason = match e.why {
            Why::Canary => Reason::Canary,
            Why::Ready => Reason::Ready,
            Why::Dependency(s) => Reason::Dependency { after: self.id(s) },
            Why::GroupEdge(g) => match self.group_edges.get(g as usize) {
                Some(edge) => Reason::GroupEdge {
                    property: &edge.property,
                    before: &edge.before,
                    after: &edge.after,
                },
                None => Reason::Ready,
            },
            Why::GroupTurn => Reason::GroupTurn,
            Why::Limit(l) => Reason::Concurrency {
                limit: self.limits.get(l as usize).map_or("", String::as_str),
            },
            Why::WaveFull => Reason::WaveFull,
            Why::Window => Reason::Window {
                opens_at: gate.and_then(|g| g.window.flatten()).unwrap_or(self.now),
            },
        };
        let start = self
            .waves
            .get(e.wave as usize)
            .map_or(self.now, |w| w.start);
        Placed {
            id: self.id(e.slot),
            slot: Slot(e.slot),
            wave: e.wave as usize,
            earliest_start: start,
            reason,
            pending_approval: gate.map_or(&[], |g| g.pending_approval.as_slice()),
        }
    }

    fn excluded_view<'p>(&'p self, e: &ExEntry) -> Excluded<'p> {
        let reason = match e.why {
            Excl::Denied => Exclusion::Denied {
                rules: self.gate(e.gate).map_or(&[], |g| g.denied.as_slice()),
            },
            Excl::Held(h) => match self.holds.get(h as usize) {
                Some(hold) => Exclusion::Held { hold },
                None => Exclusion::NoWindow,
            },
            Excl::NoWindow => Exclusion::NoWindow,
            Excl::Dependency(s) => Exclusion::Dependency { on: self.id(s) },
        };
        Excluded {
            id: self.id(e.slot),
            slot: Slot(e.slot),
            reason,
        }
    }

    /// Counts for people: waves with their sizes, groups and starts; exclusions by reason.
    #[must_use]
    pub fn summary(&self) -> PlanSummary {
        let mut exclusions: BTreeMap<&'static str, usize> = BTreeMap::new();
        for e in self.excluded() {
            *exclusions.entry(e.reason.kind()).or_default() += 1;
        }
        PlanSummary {
            selected: self.selected,
            planned: self.entries.len(),
            excluded: self.excluded.len(),
            pending_approval: self
                .entries
                .iter()
                .filter(|e| {
                    self.gate(e.gate)
                        .is_some_and(|g| !g.pending_approval.is_empty())
                })
                .count(),
            waves: self
                .waves()
                .map(|w| WaveSummary {
                    index: w.index,
                    kind: w.kind(),
                    group: w.group().map(str::to_owned),
                    size: w.len(),
                    earliest_start: w.earliest_start(),
                })
                .collect(),
            exclusions,
        }
    }
}

/// One wave of a [`Plan`].
#[derive(Debug, Clone, Copy)]
pub struct WaveView<'p> {
    plan: &'p Plan,
    index: usize,
}

impl<'p> WaveView<'p> {
    fn rec(&self) -> Option<&'p WaveRec> {
        self.plan.waves.get(self.index)
    }

    fn range(&self) -> std::ops::Range<usize> {
        let start = match self.index.checked_sub(1) {
            Some(prev) => self.plan.waves.get(prev).map_or(0, |w| w.end as usize),
            None => 0,
        };
        start..self.rec().map_or(start, |w| w.end as usize)
    }

    /// Its position, from 0.
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// Canary or regular.
    #[must_use]
    pub fn kind(&self) -> WaveKind {
        self.rec().map_or(WaveKind::Wave, |w| w.kind)
    }

    /// The group all its targets share, if they do (always with `one_at_a_time`).
    #[must_use]
    pub fn group(&self) -> Option<&'p str> {
        self.plan.group_by.as_ref()?;
        let g = self.rec()?.group?;
        self.plan.group_names.get(g as usize).map(String::as_str)
    }

    /// The earliest instant it may start: `now` for the first wave, then the previous
    /// wave's start plus its bake, later when every target waits for a window.
    #[must_use]
    pub fn earliest_start(&self) -> DateTime<Utc> {
        self.rec().map_or(self.plan.now, |w| w.start)
    }

    /// The bake after it.
    #[must_use]
    pub fn bake(&self) -> Bake {
        self.rec().map(|w| w.bake).unwrap_or_default()
    }

    /// How many targets it holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.range().len()
    }

    /// Whether it holds no target (never, in a plan the planner made).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.range().is_empty()
    }

    /// Its targets, in the order they were chosen.
    pub fn targets(&self) -> impl ExactSizeIterator<Item = Placed<'p>> + use<'p> {
        let plan = self.plan;
        let entries = plan.entries.get(self.range()).unwrap_or(&[]);
        entries.iter().map(move |e| plan.placed_view(e))
    }
}

/// A planned target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed<'p> {
    /// Its id.
    pub id: &'p str,
    /// Its slot in the snapshot.
    pub slot: Slot,
    /// Its wave.
    pub wave: usize,
    /// Its wave's earliest start.
    pub earliest_start: DateTime<Utc>,
    /// Why it is in this wave.
    pub reason: Reason<'p>,
    /// Approval rules it still waits for (the executor's gate holds it until they pass).
    pub pending_approval: &'p [String],
}

/// Why a planned target is in its wave: what last decided its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason<'p> {
    /// Chosen for the canary wave.
    Canary,
    /// In the first wave it could join: nothing held it back.
    Ready,
    /// In the first wave after this dependency's wave.
    Dependency {
        /// The dependency it waited for.
        after: &'p str,
    },
    /// In the first wave after every target of a group it must follow.
    GroupEdge {
        /// The property of the edge.
        property: &'p str,
        /// The group that goes first.
        before: &'p str,
        /// Its own group.
        after: &'p str,
    },
    /// It waited while other groups had their turn (one group at a time).
    GroupTurn,
    /// A concurrency limit kept it out of earlier waves.
    Concurrency {
        /// The limit: a strategy field or a policy rule.
        limit: &'p str,
    },
    /// Earlier waves were full (their size or `max_concurrency`; the canary wave takes
    /// canaries only).
    WaveFull,
    /// It waited for a change window to open.
    Window {
        /// When the window opens.
        opens_at: DateTime<Utc>,
    },
}

/// A selected target that will not be deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded<'p> {
    /// Its id.
    pub id: &'p str,
    /// Its slot in the snapshot.
    pub slot: Slot,
    /// Why.
    pub reason: Exclusion<'p>,
}

/// Why a selected target will not be deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Exclusion<'p> {
    /// Policy denies it.
    Denied {
        /// The deciding rules, `policy/rule`.
        rules: &'p [String],
    },
    /// A hold is in force on it.
    Held {
        /// The hold.
        hold: &'p Hold,
    },
    /// No change window opens for it.
    NoWindow,
    /// It depends (directly) on a target that is excluded.
    Dependency {
        /// That target.
        on: &'p str,
    },
}

impl Exclusion<'_> {
    /// A short name: `denied`, `held`, `no_window`, `dependency`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Denied { .. } => "denied",
            Self::Held { .. } => "held",
            Self::NoWindow => "no_window",
            Self::Dependency { .. } => "dependency",
        }
    }
}

/// Where a target is in a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement<'p> {
    /// In a wave.
    Planned(Placed<'p>),
    /// Not deployed.
    Excluded(Excluded<'p>),
}

/// A plan in numbers, for people. `Display` prints one line per wave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    /// Targets selected.
    pub selected: usize,
    /// Targets planned.
    pub planned: usize,
    /// Targets excluded.
    pub excluded: usize,
    /// Planned targets that still wait for approvals.
    pub pending_approval: usize,
    /// Each wave.
    pub waves: Vec<WaveSummary>,
    /// Excluded targets by reason ([`Exclusion::kind`]).
    pub exclusions: BTreeMap<&'static str, usize>,
}

/// One wave in numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaveSummary {
    /// Its position.
    pub index: usize,
    /// Canary or regular.
    pub kind: WaveKind,
    /// The group its targets share, if any.
    pub group: Option<String>,
    /// Its size.
    pub size: usize,
    /// Its earliest start.
    pub earliest_start: DateTime<Utc>,
}

impl fmt::Display for PlanSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} selected: {} planned in {} waves, {} excluded, {} waiting for approval",
            self.selected,
            self.planned,
            self.waves.len(),
            self.excluded,
            self.pending_approval
        )?;
        for w in &self.waves {
            let kind = match w.kind {
                WaveKind::Canary => "canary",
                WaveKind::Wave => "wave",
            };
            write!(
                f,
                "  {:>3} {kind:<6} {:>7} targets  from {}",
                w.index,
                w.size,
                w.earliest_start.format("%Y-%m-%d %H:%M UTC")
            )?;
            if let Some(g) = &w.group {
                write!(f, "  {g}")?;
            }
            writeln!(f)?;
        }
        for (k, n) in &self.exclusions {
            writeln!(f, "  excluded ({k}): {n}")?;
        }
        Ok(())
    }
}

struct PlacedOut<'p>(Placed<'p>);

impl Serialize for PlacedOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = &self.0;
        let n = 2 + usize::from(!p.pending_approval.is_empty());
        let mut st = s.serialize_struct("Placed", n)?;
        st.serialize_field("id", p.id)?;
        st.serialize_field("reason", &p.reason)?;
        if !p.pending_approval.is_empty() {
            st.serialize_field("pending_approval", p.pending_approval)?;
        }
        st.end()
    }
}

struct Targets<'p>(WaveView<'p>);

impl Serialize for Targets<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for p in self.0.targets() {
            seq.serialize_element(&PlacedOut(p))?;
        }
        seq.end()
    }
}

impl Serialize for WaveView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Wave", 6)?;
        st.serialize_field("index", &self.index)?;
        st.serialize_field("kind", &self.kind())?;
        st.serialize_field("group", &self.group())?;
        st.serialize_field("earliest_start", &self.earliest_start())?;
        st.serialize_field("bake", &self.bake())?;
        st.serialize_field("targets", &Targets(*self))?;
        st.end()
    }
}

struct Waves<'p>(&'p Plan);

impl Serialize for Waves<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.waves.len()))?;
        for w in self.0.waves() {
            seq.serialize_element(&w)?;
        }
        seq.end()
    }
}

impl Serialize for Excluded<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Excluded", 2)?;
        st.serialize_field("id", self.id)?;
        st.serialize_field("reason", &self.reason)?;
        st.end()
    }
}

struct ExcludedOut<'p>(&'p Plan);

impl Serialize for ExcludedOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.excluded.len()))?;
        for e in self.0.excluded() {
            seq.serialize_element(&e)?;
        }
        seq.end()
    }
}

impl Serialize for Plan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Plan", 8)?;
        st.serialize_field("now", &self.now)?;
        st.serialize_field("selected", &self.selected)?;
        st.serialize_field("planned", &self.entries.len())?;
        st.serialize_field("group_by", &self.group_by)?;
        st.serialize_field("stages", &self.stages)?;
        st.serialize_field("waves", &Waves(self))?;
        st.serialize_field("excluded", &ExcludedOut(self))?;
        st.end()
    }
}
