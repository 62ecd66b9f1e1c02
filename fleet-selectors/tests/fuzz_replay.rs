//! The fuzz targets' checks, on stable: every seed in `fuzz/seeds/selector_text/` and
//! `fuzz/seeds/label_selector/` plus random inputs. A crash found by cargo-fuzz is copied into
//! the seeds and stays fixed here.

// Test helpers panic on purpose: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::LazyLock;

use fleet_core::Schema;
use fleet_selectors::{LabelSelector, MAX_DEPTH, compile, parse};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Built once: compiling against it is what the `selector_text` target does.
static SCHEMA: LazyLock<Schema> = LazyLock::new(fleet_core::synth::schema);

fn seeds(target: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .filter_map(|b| String::from_utf8(b).ok())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

/// The `selector_text` target: never panics; what parses prints and parses back equal;
/// compiling never panics and its errors render. Returns whether the text parsed.
fn check_text(s: &str) -> bool {
    let parsed = match parse(s) {
        Ok(sel) => {
            let text = sel.to_string();
            let again = parse(&text)
                .unwrap_or_else(|e| panic!("{s:?} prints as {text:?}, which fails: {e}"));
            assert_eq!(again, sel, "{s:?} prints as {text:?}");
            true
        }
        Err(e) => {
            assert!(!e.render().is_empty(), "{s:?}");
            false
        }
    };
    if let Err(e) = compile(s, &SCHEMA) {
        let rendered = e.render();
        // Beyond the fuzz target: a failed compile always says why.
        assert!(
            !rendered.is_empty() && !e.diagnostics.is_empty(),
            "{s:?} fails to compile with no diagnostic"
        );
    }
    parsed
}

/// The `label_selector` target: never panics; what parses prints (canonically) and parses
/// back equal. Returns whether the text parsed.
fn check_label(s: &str) -> bool {
    match LabelSelector::parse(s) {
        Ok(sel) => {
            let text = sel.to_string();
            let again = LabelSelector::parse(&text)
                .unwrap_or_else(|e| panic!("{s:?} prints as {text:?}, which fails: {e}"));
            assert_eq!(again, sel, "{s:?} prints as {text:?}");
            true
        }
        Err(_) => false,
    }
}

#[test]
fn seeds_pass_the_fuzz_checks() {
    let text = seeds("selector_text");
    let parsed = text.iter().filter(|s| check_text(s)).count();
    assert!(parsed >= 15, "most selector seeds should parse ({parsed})");
    assert!(
        parsed < text.len(),
        "some selector seeds are malformed on purpose"
    );

    let label = seeds("label_selector");
    let parsed = label.iter().filter(|s| check_label(s)).count();
    assert!(
        parsed >= 8,
        "most label selector seeds should parse ({parsed})"
    );
    assert!(
        parsed < label.len(),
        "some label selector seeds are malformed on purpose"
    );
}

/// A selector that fails to compile says why (found by this file's checks: `now` in a
/// document path's list used to fail with no diagnostic).
#[test]
fn compile_errors_always_explain_themselves() {
    for (s, want) in [
        (
            "observed.a in (now)",
            "`now` is not compared with documents",
        ),
        (
            "desired.spec.x not in (1, now - 30d)",
            "`now` is not compared with documents",
        ),
        ("observed.a ~ now", "expected a glob"),
    ] {
        let e = compile(s, &SCHEMA).unwrap_err();
        assert_eq!(e.diagnostics.len(), 1, "{s:?}: {e}");
        assert_eq!(e.diagnostics[0].message, want, "{s:?}");
    }
}

/// Rendering stays bounded however many problems a selector has.
#[test]
fn render_shows_a_bounded_number_of_problems() {
    let s = "nope exists and ".repeat(500) + "nope exists";
    let e = compile(&s, &SCHEMA).unwrap_err();
    assert_eq!(e.diagnostics.len(), 501);
    let r = e.render();
    assert_eq!(
        r.matches("unknown property `nope`").count(),
        fleet_selectors::RENDER_LIMIT
    );
    assert!(
        r.ends_with("... and 481 more problems"),
        "{}",
        &r[r.len() - 60..]
    );
}

/// Hostile nesting is an error, not a stack overflow (this runs on the test harness's
/// default 2 MiB thread stack).
#[test]
fn deep_nesting_is_an_error() {
    let n = 10_000;
    let deep = [
        "(".repeat(n),
        format!("{}a exists{}", "(".repeat(n), ")".repeat(n)),
        "not ".repeat(n),
        format!("{}a exists", "not ".repeat(n)),
        format!("{}a exists{}", "not (".repeat(n), ")".repeat(n)),
        "( not ".repeat(n),
    ];
    for s in &deep {
        let e = parse(s).unwrap_err();
        assert!(e.render().contains("levels deep"), "{}", e.render());
        assert!(compile(s, &SCHEMA).is_err());
        check_text(s);
    }
    // The limit itself parses, prints and parses back.
    let ok = format!("{}a exists{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(check_text(&ok));
    let ok = format!("{}a exists", "not ".repeat(MAX_DEPTH));
    assert!(check_text(&ok));
    // Long flat chains do not recurse. (Known properties: with an unknown one, `render()`
    // repeats the 200 kB line under each of 10,000 diagnostics, about 2 GB.)
    let flat = vec!["nodes > 1"; n].join(" and ");
    assert!(check_text(&flat));
    let flat = vec!["label.a exists"; n].join(" or ");
    assert!(check_text(&flat));
    // Label selectors do not nest, but take long lists.
    assert!(!check_label(&"(".repeat(n)));
    assert!(check_label(&format!("x in ({})", vec!["a"; n].join(","))));
}

/// Pieces of the text form, so random selectors get past the lexer and into the parser's
/// deeper paths: subjects, operators, literals (`now`, escapes, globs), lists and nesting.
const TEXT_TOKENS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "not in",
    "exists",
    "contains",
    "now",
    "now - 30d",
    "now-12h",
    "now +1h30m",
    "now -",
    "now - -5d",
    "-",
    "+",
    "30d",
    "label",
    "labels",
    "properties",
    "capabilities",
    "id",
    "kind",
    "substrate",
    "observed",
    "desired",
    "observed.status.ready",
    "desired.spec.0.name",
    "observed.",
    "label.team",
    "label.app.kubernetes.io/name",
    "label.",
    "label.-x",
    "region",
    "version",
    "tier",
    "nodes",
    "last_touched",
    "created",
    "cost_per_hour",
    "autoscaling",
    "reigon",
    "_x9",
    "9lives",
    "=",
    "==",
    "!=",
    "!",
    "<",
    "<=",
    ">",
    ">=",
    "~",
    "(",
    ")",
    "[",
    "]",
    ",",
    "\"",
    "'",
    "\\",
    "4.2",
    "1.29.3-eks-2f008fe",
    "10",
    "-1",
    "1.5",
    "true",
    "2026-01-31",
    "2026-01-31T12:00:00Z",
    "eu-*",
    "\"eu-*\"",
    "\"gpu.*\"",
    "\"[a-\"",
    "\"{a,b}\"",
    "\"at\\\"las\"",
    "\"caf\\u{e9}\"",
    "\"\\u{110000}\"",
    "\"\\u{e9\"",
    "\"\\q\"",
    "\"\\n\\t\\r\\\\\"",
    "'it\\'s'",
    "\"\"",
    "\"odd name\"",
    "[\"topology.kubernetes.io/region\"]",
    "[\"a b\"]",
    "[\"\"]",
    "é",
    "\u{7}",
];

/// Random token sequences, each token followed by a space or nothing (so `now-30d` and
/// `a=b` forms appear too).
fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (prop::sample::select(TEXT_TOKENS), prop::bool::weighted(0.8)),
        0..16,
    )
    .prop_map(|toks| {
        let mut s = String::new();
        for (t, space) in toks {
            s.push_str(t);
            if space {
                s.push(' ');
            }
        }
        s
    })
}

/// A quoted string, in either quote: mostly printable text and valid escapes (control
/// characters, astral code points), sometimes broken escapes or arbitrary text.
fn quoted() -> impl Strategy<Value = String> {
    let escape = |v: Vec<&'static str>| prop::sample::select(v).prop_map(|e| (false, e.to_owned()));
    // `(true, text)` is raw text, in which the closing quote gets escaped.
    let piece = prop_oneof![
        20 => "[a-z0-9 *?.-]{0,4}".prop_map(|t| (true, t)),
        6 => escape(vec![
            "\\\"", "\\'", "\\\\", "\\n", "\\t", "\\r", "\\u{e9}", "\\u{1F600}", "\\u{0}",
            "\\u{7}",
        ]),
        4 => prop::sample::select(vec![
            "\u{7}", "\n", "\u{85}", "\u{2028}", "é", "'", "\"", "{a,b}", "[!a]", "[",
        ])
        .prop_map(|t| (true, t.to_owned())),
        1 => "\\PC{0,3}".prop_map(|t| (true, t)),
        1 => escape(vec![
            "\\u{110000}", "\\u{d800}", "\\u{}", "\\u{1234567}", "\\u", "\\u{e9", "\\x",
        ]),
    ];
    (
        prop::collection::vec(piece, 0..4),
        prop::sample::select(vec!['"', '\'']),
    )
        .prop_map(|(pieces, q)| {
            let body: String = pieces
                .into_iter()
                .map(|(raw, t)| {
                    if raw {
                        t.replace(q, &format!("\\{q}"))
                    } else {
                        t
                    }
                })
                .collect();
            format!("{q}{body}{q}")
        })
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => quoted(),
        3 => "[a-z0-9][a-z0-9._:/*?@+-]{0,10}",
        1 => prop::sample::select(vec![
            "now", "now - 30d", "now-12h", "now + 1h30m", "now+0s", "now - 500ms", "now-1w2d",
            "now - x", "now -", "4.2", "1.29.3-eks-2f008fe", "-1", "1e9", "true", "false",
            "2026-01-31", "2026-01-31T12:00:00Z", "and", "in", "now-", "nowhere",
        ])
        .prop_map(str::to_owned),
    ]
}

/// `.a.b` segments, then (as the syntax requires) `["c"]` segments: at least one.
fn path() -> impl Strategy<Value = String> {
    let dotted = prop_oneof![
        3 => "[a-z_][a-z0-9_]{0,6}",
        1 => "[0-9-][a-z0-9-]{0,3}",
    ]
    .prop_map(|s| format!(".{s}"));
    let bracketed = quoted().prop_map(|q| {
        if q.len() == 2 {
            "[\"x\"]".to_owned() // an empty segment is an error
        } else {
            format!("[{q}]")
        }
    });
    (
        prop::collection::vec(dotted, 0..3),
        prop::collection::vec(bracketed, 0..3),
        prop::sample::select(vec!["observed", "desired"]),
    )
        .prop_map(|(d, b, root)| {
            let path = format!("{}{}", d.concat(), b.concat());
            if path.is_empty() {
                format!("{root}.x")
            } else {
                format!("{root}{path}")
            }
        })
}

fn subject() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "region", "version", "tier", "nodes", "last_touched", "created", "cost_per_hour",
            "autoscaling", "owner", "geo", "reigon", "label", "capabilities", "id", "kind",
            "substrate", "and", "not",
        ])
        .prop_map(str::to_owned),
        1 => "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
        2 => "[a-z0-9][a-z0-9./_-]{0,12}".prop_map(|k| format!("label.{k}")),
        1 => quoted().prop_map(|q| format!("labels[{q}]")),
        1 => quoted().prop_map(|q| format!("properties[{q}]")),
        2 => path(),
    ]
}

fn predicate() -> impl Strategy<Value = String> {
    let op = prop::sample::select(vec!["=", "==", "!=", "<", "<=", ">", ">=", "~"]);
    let list = prop_oneof![
        20 => prop::collection::vec(literal(), 1..4).prop_map(|l| l.join(", ")),
        1 => "[ ,]{0,2}",
    ];
    let test = prop_oneof![
        1 => Just(" exists".to_owned()),
        4 => (op, literal()).prop_map(|(o, l)| format!(" {o} {l}")),
        1 => literal().prop_map(|l| format!(" contains {l}")),
        2 => (any::<bool>(), list).prop_map(|(n, l)| {
            format!(" {}in ({l})", if n { "not " } else { "" })
        }),
    ];
    (subject(), test).prop_map(|(s, t)| format!("{s}{t}"))
}

/// Mostly well-formed selectors: predicates joined by `and`/`or`, under `not` and parens.
fn grammar() -> impl Strategy<Value = String> {
    predicate().prop_recursive(4, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|x| format!("({x})")),
            inner.clone().prop_map(|x| format!("not {x}")),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|xs| xs.join(" and ")),
            prop::collection::vec(inner, 2..4).prop_map(|xs| xs.join(" or ")),
        ]
    })
}

/// A seed with a random span replaced by random text.
fn mutated(seeds: Vec<String>, junk: &'static str) -> impl Strategy<Value = String> {
    (
        prop::sample::select(seeds),
        any::<prop::sample::Index>(),
        0usize..12,
        junk,
    )
        .prop_map(|(seed, at, len, junk)| {
            let mut chars: Vec<char> = seed.chars().collect();
            let start = at.index(chars.len() + 1);
            let end = (start + len).min(chars.len());
            chars.splice(start..end, junk.chars());
            chars.into_iter().collect()
        })
}

fn text_input() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "\\PC{0,40}",
        3 => token_soup(),
        5 => grammar(),
        1 => mutated(seeds("selector_text"), "\\PC{0,8}"),
    ]
}

/// Pieces of the label selector string form.
const LABEL_TOKENS: &[&str] = &[
    "a",
    "app",
    "env",
    "x",
    "in",
    "notin",
    "a.b.c/d-e",
    "example.com/name",
    "-a",
    "a-",
    "a_b",
    "A/b",
    "/a",
    "a/",
    "a/b/c",
    "prod",
    "staging",
    "f_g",
    "1",
    "01",
    "-1",
    "+1",
    "é",
    "=",
    "==",
    "!=",
    "!",
    ">",
    "<",
    "<=",
    "(",
    ")",
    ",",
    " ",
    "\t",
    "",
];

fn label_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(LABEL_TOKENS), 0..14).prop_map(|t| t.concat())
}

/// 64 characters: one too many for a label name.
const LONG_KEY: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Mostly valid requirements (with some invalid keys and values), comma-joined.
fn label_requirements() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        6 => "[a-z0-9]([a-z0-9._-]{0,6}[a-z0-9])?",
        2 => "[a-z0-9]{1,4}(\\.[a-z0-9]{1,4}){0,2}/[a-zA-Z0-9][a-zA-Z0-9._-]{0,4}",
        1 => prop::sample::select(vec!["in", "notin", "-a", "a/", "A.b/c", LONG_KEY])
            .prop_map(str::to_owned),
    ];
    let value = prop_oneof![
        8 => "([a-zA-Z0-9]([a-zA-Z0-9._-]{0,4}[a-zA-Z0-9])?)?",
        1 => prop::sample::select(vec!["in", "notin", "-1", "_a", "9223372036854775808"])
            .prop_map(str::to_owned),
    ];
    let values = prop::collection::vec(value.clone(), 0..4).prop_map(|v| v.join(","));
    let req = prop_oneof![
        (
            key.clone(),
            prop::sample::select(vec!["=", "==", "!="]),
            value.clone()
        )
            .prop_map(|(k, o, v)| format!("{k}{o}{v}")),
        (
            key.clone(),
            prop::sample::select(vec![">", "<"]),
            "-?[0-9]{1,3}"
        )
            .prop_map(|(k, o, v)| format!("{k}{o}{v}")),
        (
            key.clone(),
            prop::sample::select(vec![" in ", " notin ", "  in", " notin"]),
            values
        )
            .prop_map(|(k, o, v)| format!("{k}{o}({v})")),
        key.clone(),
        key.prop_map(|k| format!("!{k}")),
    ];
    prop::collection::vec(req, 0..5).prop_map(|r| r.join(","))
}

fn label_input() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "\\PC{0,30}",
        3 => label_soup(),
        6 => label_requirements(),
        1 => mutated(seeds("label_selector"), "[a-z=!(),<> ]{0,6}"),
    ]
}

/// No regression files under `tests/`: a failing input belongs in `fuzz/seeds/<target>/`.
fn config(cases: u32) -> Config {
    Config {
        failure_persistence: None,
        ..Config::with_cases(cases)
    }
}

proptest! {
    #![proptest_config(config(10_000))]

    /// The `selector_text` checks on 10,000 inputs: arbitrary text, token soup, generated
    /// selectors and mutated seeds.
    #[test]
    fn random_selector_text(s in text_input()) {
        check_text(&s);
    }
}

proptest! {
    #![proptest_config(config(3_000))]

    /// The `label_selector` checks on 3,000 inputs: arbitrary text, token soup, generated
    /// requirements and mutated seeds.
    #[test]
    fn random_label_selectors(s in label_input()) {
        check_label(&s);
    }
}
