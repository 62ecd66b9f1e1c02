//! Errors with spans, rendered with a caret under the input.

use std::fmt;

use crate::ast::Span;

/// One problem with a selector, at a place in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong (lowercase, one line, user input in backticks).
    pub message: String,
    /// Where.
    pub span: Span,
    /// A suggestion, when there is one (`did you mean `region`?`).
    pub help: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(message: impl Into<String>, span: Span) -> Self {
        Self {
            message: message.into(),
            span,
            help: None,
        }
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The message, then the input line with a caret line under the span, then the help.
    ///
    /// ```text
    /// unknown property `reigon`
    ///   reigon = "eu-west-1"
    ///   ^^^^^^
    ///   help: did you mean `region`?
    /// ```
    #[must_use]
    pub fn render(&self, source: &str) -> String {
        let mut out = self.message.clone();
        // Show the line holding the span's start; selectors are usually one line.
        let start = self.span.start.min(source.len());
        let line_start = source
            .get(..start)
            .and_then(|s| s.rfind('\n'))
            .map_or(0, |i| i + 1);
        let line_end = source
            .get(start..)
            .and_then(|s| s.find('\n'))
            .map_or(source.len(), |i| start + i);
        let line = source.get(line_start..line_end).unwrap_or("");
        let col = source
            .get(line_start..start)
            .map_or(0, |s| s.chars().count());
        let width = source
            .get(start..self.span.end.min(line_end).max(start))
            .map_or(1, |s| s.chars().count())
            .max(1);
        out.push_str("\n  ");
        out.push_str(line);
        out.push_str("\n  ");
        out.push_str(&" ".repeat(col));
        out.push_str(&"^".repeat(width));
        if let Some(h) = &self.help {
            out.push_str("\n  help: ");
            out.push_str(h);
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (at bytes {}..{})",
            self.message, self.span.start, self.span.end
        )?;
        if let Some(h) = &self.help {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

/// How many diagnostics [`SelectorError::render`] shows (each repeats its source line).
pub const RENDER_LIMIT: usize = 20;

/// A selector that could not be parsed or does not fit the schema. Holds every problem found
/// and the source text, so it can render them.
///
/// # Example
///
/// ```
/// use fleet_core::{PropertyDef, Schema, ValueType};
/// use fleet_selectors::compile;
///
/// let schema = Schema::new().with("region", PropertyDef::new(ValueType::String));
/// let err = compile("reigon = \"eu-west-1\"", &schema).unwrap_err();
/// assert_eq!(err.render(), "unknown property `reigon`\n  reigon = \"eu-west-1\"\n  ^^^^^^\n  help: did you mean `region`?");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SelectorError {
    /// The text the selector came from (empty for selectors built in code).
    pub input: String,
    /// Every problem, in order of position.
    pub diagnostics: Vec<Diagnostic>,
}

impl SelectorError {
    pub(crate) fn new(source: &str, mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
        Self {
            input: source.to_owned(),
            diagnostics,
        }
    }

    /// The first [`RENDER_LIMIT`] diagnostics rendered with their caret lines, separated by
    /// blank lines, then how many more there were.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = self
            .diagnostics
            .iter()
            .take(RENDER_LIMIT)
            .map(|d| d.render(&self.input))
            .collect::<Vec<_>>()
            .join("\n\n");
        let more = self.diagnostics.len().saturating_sub(RENDER_LIMIT);
        if more > 0 {
            out.push_str(&format!(
                "\n\n... and {more} more problem{}",
                if more == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.diagnostics.as_slice() {
            [] => f.write_str("invalid selector"),
            [one] => write!(f, "invalid selector: {one}"),
            [first, rest @ ..] => write!(
                f,
                "invalid selector: {first} (and {} more problem{})",
                rest.len(),
                if rest.len() == 1 { "" } else { "s" }
            ),
        }
    }
}
