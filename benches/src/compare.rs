//! The comparison runner's frame: areas, the command line, the `RESULT` line.
//!
//! An area is a function from [`Options`] and a [`Meter`] to an [`Outcome`]: it builds its
//! data from [`SEED`](crate::SEED) before starting any timer, measures fleet and the peer,
//! prints its readable table as it goes, and returns the key/value pairs of its `RESULT`
//! line. The runner binary prints that line last. To add an area, write its function (in its
//! own module) and list it in [`AREAS`].

use std::fmt::Write as _;

/// Heap accounting, supplied by the runner binary's counting global allocator.
pub trait Meter {
    /// Bytes allocated and not yet freed (requested sizes).
    fn live_bytes(&self) -> usize;
    /// Allocation calls so far (`alloc`, `alloc_zeroed`, `realloc`).
    fn allocations(&self) -> u64;
    /// Bytes ever requested by those calls.
    fn allocated_bytes(&self) -> u64;
}

/// A meter that counts nothing, for running an area where no counting allocator is
/// installed (tests). Memory figures then read zero.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMeter;

impl Meter for NoMeter {
    fn live_bytes(&self) -> usize {
        0
    }
    fn allocations(&self) -> u64 {
        0
    }
    fn allocated_bytes(&self) -> u64 {
        0
    }
}

/// How to run an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// The smaller data set: finishes in under a minute.
    pub quick: bool,
}

/// What an area measured: the pairs of its `RESULT` line, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// `key=value` pairs; ratios written as `3.1x`.
    pub result: Vec<(&'static str, String)>,
}

impl Outcome {
    /// The machine-readable line: `RESULT AREA key=value ...`.
    #[must_use]
    pub fn result_line(&self, area: &str) -> String {
        let mut line = format!("RESULT {area}");
        for (k, v) in &self.result {
            let _ = write!(line, " {k}={v}");
        }
        line
    }
}

/// One subsystem the runner can compare.
#[derive(Debug, Clone, Copy)]
pub struct Area {
    /// The name on the command line.
    pub name: &'static str,
    /// One line for the usage text.
    pub about: &'static str,
    /// Runs it.
    pub run: fn(&Options, &dyn Meter) -> anyhow::Result<Outcome>,
}

/// Every known area.
pub const AREAS: &[Area] = &[
    Area {
        name: "core",
        about: "the inventory vs one BTreeMap<String, String> per target (1,000,000 targets)",
        run: crate::core_area::run,
    },
    Area {
        name: "selectors",
        about: "fleet-selectors (indexed, scan) vs kube-core's Selector and cel-interpreter (1,000,000 targets)",
        run: crate::selectors_area::run,
    },
    Area {
        name: "policy",
        about: "fleet-policy's evaluate vs cedar-policy's Authorizer on the same placement rules (100,000 targets)",
        run: crate::policy_area::run,
    },
    Area {
        name: "drift",
        about: "fleet-drift's Differ vs json-patch's diff on real Deployments, and a 1,000,000-object pass",
        run: crate::drift_area::run,
    },
    Area {
        name: "rollout",
        about: "fleet-rollout's planner vs petgraph's toposort on the generator's DAG (1,000,000 targets, 3,000,000 edges)",
        run: crate::rollout_area::run,
    },
];

/// The area called `name`.
#[must_use]
pub fn area(name: &str) -> Option<&'static Area> {
    AREAS.iter().find(|a| a.name == name)
}

/// The usage text, listing the known areas.
#[must_use]
pub fn usage() -> String {
    let mut text = String::from(
        "usage: compare AREA [--quick]\n\n\
         Measures fleet and a peer on the same data in one process, prints a table, and ends\n\
         with one line `RESULT AREA key=value ...`.\n\nareas:\n",
    );
    let width = AREAS.iter().map(|a| a.name.len()).max().unwrap_or(0);
    for a in AREAS {
        let _ = writeln!(text, "  {:<width$}  {}", a.name, a.about);
    }
    text.push_str(
        "\noptions:\n  --quick     a smaller data set (under a minute)\n  -h, --help  this text\n",
    );
    text
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run one area.
    Run {
        /// The area's name (not yet checked against [`AREAS`]).
        area: String,
        /// The run's options.
        options: Options,
    },
    /// `-h` / `--help`.
    Help,
}

/// Parses `AREA [--quick]` (the arguments after the program name).
///
/// # Errors
///
/// A message for the user when there is no area, more than one, or an unknown option.
pub fn parse_args<I>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = String>,
{
    let mut area = None;
    let mut options = Options::default();
    for arg in args {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--quick" => options.quick = true,
            flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
            _ => {
                if let Some(first) = &area {
                    return Err(format!("one area at a time (got `{first}` and `{arg}`)"));
                }
                area = Some(arg);
            }
        }
    }
    match area {
        Some(area) => Ok(Command::Run { area, options }),
        None => Err("no area given".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Command, String> {
        parse_args(a.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_the_command_line() {
        assert_eq!(
            args(&["core"]),
            Ok(Command::Run {
                area: "core".into(),
                options: Options { quick: false }
            })
        );
        assert_eq!(
            args(&["--quick", "core"]),
            Ok(Command::Run {
                area: "core".into(),
                options: Options { quick: true }
            })
        );
        assert_eq!(args(&["core", "--help"]), Ok(Command::Help));
        assert!(args(&[]).is_err());
        assert!(args(&["core", "policy"]).is_err());
        assert!(args(&["core", "--fast"]).is_err());
    }

    #[test]
    fn knows_its_areas() {
        assert!(area("core").is_some());
        assert!(area("policy").is_some());
        assert!(area("drift").is_some());
        assert!(area("rollout").is_some());
        assert!(area("nope").is_none());
        assert!(usage().contains("\n  core  "));
    }

    #[test]
    fn writes_the_result_line() {
        let o = Outcome {
            result: vec![("targets", "10".into()), ("vs_btreemap", "3.1x".into())],
        };
        assert_eq!(
            o.result_line("core"),
            "RESULT core targets=10 vs_btreemap=3.1x"
        );
    }
}
