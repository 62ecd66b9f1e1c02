//! Errors from loading policies and declaring overrides.

use std::fmt;

/// One problem in a policy file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadProblem {
    /// The field path, such as `policies[2].rules[0].window.cron` (with the policy and rule
    /// ids after it when known).
    pub path: String,
    /// 1-based line, when the parser knows it.
    pub line: Option<usize>,
    /// 1-based column, when the parser knows it.
    pub column: Option<usize>,
    /// What is wrong, one line.
    pub message: String,
    /// A caret snippet under the offending text (selectors, cron expressions), if any.
    pub snippet: Option<String>,
}

impl fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: ")?,
            (Some(l), None) => write!(f, "line {l}: ")?,
            _ => {}
        }
        if !self.path.is_empty() && self.path != "." {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Why policies could not be loaded, or an override or approval could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The policy file is malformed or inconsistent; every problem found is listed.
    #[error("{} in the policy file; first: {}", plural(.0.len()), .0.first().map(ToString::to_string).unwrap_or_default())]
    Load(Vec<LoadProblem>),
    /// A break-glass override is incomplete or names rules that do not exist.
    #[error("invalid override `{id}`: {message}")]
    Override {
        /// The override's id.
        id: String,
        /// What is wrong.
        message: String,
    },
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 problem".to_owned()
    } else {
        format!("{n} problems")
    }
}

impl PolicyError {
    /// The load problems (empty for other errors).
    #[must_use]
    pub fn problems(&self) -> &[LoadProblem] {
        match self {
            Self::Load(p) => p,
            Self::Override { .. } => &[],
        }
    }

    /// Every problem, one per line, with snippets.
    #[must_use]
    pub fn render(&self) -> String {
        match self {
            Self::Load(problems) => {
                let mut out = String::new();
                for p in problems {
                    out.push_str(&p.to_string());
                    out.push('\n');
                    if let Some(s) = &p.snippet {
                        for line in s.lines() {
                            out.push_str("    ");
                            out.push_str(line);
                            out.push('\n');
                        }
                    }
                }
                out
            }
            Self::Override { .. } => format!("{self}\n"),
        }
    }
}
