//! # fleet-selectors
//!
//! placeholder
mod ast;
mod compile;
mod error;
mod eval;
mod index;
mod k8s;
mod parse;
mod spec;

pub use ast::{CmpOp, DocRoot, Literal, LiteralKind, Predicate, Selector, Span, Subject, Test};
pub use compile::{CompiledSelector, compile};
pub use error::{Diagnostic, SelectorError};
pub use eval::{ExplainLine, Explanation, TargetView};
pub use index::{QueryError, SelectorIndex, TargetSet};
pub use k8s::{
    LabelExpression, LabelOp, LabelSelector, LabelSelectorError, LabelSelectorSpec, Requirement,
    is_valid_label_key, is_valid_label_value,
};
pub use parse::{MAX_DEPTH, parse};
pub use spec::{OneOrMany, SpecValue, TargetSelectorDocument, TargetSelectorSpec};
