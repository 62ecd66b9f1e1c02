//! # fleet-selectors
//!
//! One selector language for a fleet: queries, policy scopes, rollout groups, drift rules and
//! placement all name their targets with it. Use this crate to turn "every cluster running
//! 4.2 in the EU, owned by team Atlas, not touched in 30 days" into a set of targets, cheaply
//! and with an explanation for every target that did not match.
//!
//! Three input forms compile to one syntax tree ([`Selector`]):
//!
//! * the **text form**, for people and CLIs ([`parse`], [`compile`]);
//! * the **structured form** of policy and rollout files ([`TargetSelectorSpec`]);
//! * **Kubernetes label selectors**, string and `matchLabels`/`matchExpressions` forms, with
//!   apimachinery's exact semantics ([`LabelSelector`], [`LabelSelectorSpec`]).
//!
//! A selector is checked against a fleet [`Schema`](fleet_core::Schema) ([`compile`],
//! [`CompiledSelector::new`]): bare names are schema properties and literals take the
//! property's type, so `version = 4.2` is a version comparison. Then it is evaluated either
//! by scanning ([`CompiledSelector::matches`], on a [`fleet_core::Target`] or an inventory
//! [`fleet_core::TargetRef`]) or through a [`SelectorIndex`] kept current from the
//! inventory's change feed, which returns a [`TargetSet`]. Both paths return the same
//! targets (a differential property test holds them to it). [`CompiledSelector::explain`]
//! says, clause by clause, which value decided.
//!
//! # The text form
//!
//! ```text
//! selector   := or | (nothing: matches every target)
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | "(" or ")" | predicate
//! predicate  := subject "=" | "!=" | "<" | "<=" | ">" | ">=" value
//!             | subject ["not"] "in" "(" value ("," value)* ")"
//!             | subject "~" glob            (glob match)
//!             | subject "contains" value    (lists, capabilities, label keys)
//!             | subject "exists"
//! subject    := property                    region, last_touched, properties["odd name"]
//!             | "label." key                label.team, label.topology.kubernetes.io/region
//!             | "labels[" string "]"        labels["team/name"]
//!             | "label"                     the set of label keys: label in (frozen)
//!             | "capabilities" | "id" | "kind" | "substrate"
//!             | ("observed" | "desired") "." path   document paths (scan only)
//! value      := "string" | 'string' | bare | "now" [("-" | "+") duration]
//! bare       := letters, digits and . _ - + : / * ? @   (production, 4.2, 1.29.3-eks-2f008fe, 30d)
//! ```
//!
//! Semantics:
//!
//! * A literal takes the type the schema gives its property: `nodes > 10` compares integers,
//!   `last_touched < now - 30d` instants, `version >= 1.29` versions.
//! * `version = 4.2` means "lies under 4.2": any 4.2.x, whatever its distribution suffix, and
//!   not 4.20. Write the full version (with its suffix) for an exact match.
//! * `in (..)` members and `~` operands that contain `*`, `?`, `[..]` or `{a,b}` are globs
//!   (globset's syntax; `*` also crosses `/`). `=` compares exactly.
//! * A missing value fails every comparison, except `!=` and `not in`, which it passes (as in
//!   Kubernetes). `not` is plain negation.
//! * Label values compare as strings; `<` and `>` on a label compare integers (Kubernetes'
//!   `Gt`/`Lt`).
//! * `now` is the instant passed to evaluation; this crate never reads a clock.
//!
//! # Example
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use fleet_core::synth::{FleetSpec, generate, schema};
//! use fleet_selectors::{SelectorIndex, compile};
//!
//! let mut inventory = generate(&FleetSpec::new(5_000).seed(1)).into_inventory(Default::default()).unwrap();
//! let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
//!
//! let sel = compile(
//!     r#"version = 1.29 and region in ("eu-*", "europe-*") and owner = atlas and last_touched < now - 30d"#,
//!     &schema(),
//! )?;
//! let index = SelectorIndex::build(inventory.view());
//! let hits = index.query(&sel, inventory.view(), now).unwrap();
//! assert!(hits.len() > 0);
//!
//! // Why did a target not match?
//! let miss = inventory.view().iter().find(|t| !hits.contains(t.slot())).unwrap();
//! let why = sel.explain(&miss, now);
//! assert!(!why.matched);
//! println!("{}: {why}", miss.id());
//! # Ok::<(), fleet_selectors::SelectorError>(())
//! ```
//!
//! Errors carry spans and render a caret under the input:
//!
//! ```
//! use fleet_core::synth::schema;
//!
//! let err = fleet_selectors::compile("reigon = eu-west-1 and nodes ~ \"1*\"", &schema()).unwrap_err();
//! assert_eq!(err.diagnostics.len(), 2);
//! assert!(err.render().starts_with("unknown property `reigon`\n  reigon = eu-west-1"));
//! ```
//!
//! # Crate features
//!
//! None. The crate does no IO and never reads the clock.

mod ast;
mod bound;
mod compile;
mod error;
mod eval;
mod glob;
mod index;
mod k8s;
mod parse;
mod spec;

pub use ast::{
    CmpOp, DocRoot, KEYWORDS, Literal, LiteralKind, Predicate, Selector, Span, Subject, Test,
};
pub use bound::BoundSelector;
pub use compile::{CompiledSelector, compile};
pub use error::{Diagnostic, RENDER_LIMIT, SelectorError};
pub use eval::{ExplainLine, Explanation, TargetView};
pub use glob::{GlobError, GlobPattern};
pub use index::{QueryError, SelectorIndex, TargetSet};
pub use k8s::{
    LabelExpression, LabelOp, LabelSelector, LabelSelectorError, LabelSelectorSpec, Requirement,
    is_valid_label_key, is_valid_label_value,
};
pub use parse::{MAX_DEPTH, parse};
pub use spec::{OneOrMany, SpecValue, TargetSelectorDocument, TargetSelectorSpec};
