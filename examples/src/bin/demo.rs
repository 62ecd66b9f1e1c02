//! The fleet demo: a synthetic 10,000-target fleet on the embedded default (no services).
//!
//! ```text
//! cargo run -p fleet-examples --bin demo [-- --targets N --seed S]
//! ```

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, bail};
use fleet_core::synth::{FleetSpec, generate};
use fleet_core::{Fleet, InventoryOptions, Snapshot, ValueRef};

struct Args {
    targets: usize,
    seed: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut out = Args {
        targets: 10_000,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--targets" => out.targets = it.next().context("--targets needs a number")?.parse()?,
            "--seed" => out.seed = it.next().context("--seed needs a number")?.parse()?,
            "-h" | "--help" => {
                println!("usage: demo [--targets N] [--seed S]");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}`; try --help"),
        }
    }
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    println!(
        "fleet demo: {} synthetic targets, seed {}",
        args.targets, args.seed
    );

    let t0 = Instant::now();
    let fleet = generate(
        &FleetSpec::new(args.targets)
            .seed(args.seed)
            .edges_per_target(2),
    );
    let generated = t0.elapsed();

    // Round-trip through the YAML fleet file format, as a platform team would store it.
    let t1 = Instant::now();
    let yaml = fleet.to_yaml_string()?;
    let fleet = Fleet::from_yaml_str(&yaml)?;
    let reparsed = t1.elapsed();

    let t2 = Instant::now();
    let mut inventory = fleet.into_inventory(InventoryOptions::default())?;
    let built = t2.elapsed();
    let snapshot = inventory.snapshot();

    println!(
        "generated in {generated:.1?}; YAML fleet file {} KiB written and read back in {reparsed:.1?}; inventory built in {built:.1?} (generation {})",
        yaml.len() / 1024,
        snapshot.generation()
    );
    println!();
    summary(&snapshot);
    println!();
    selectors(&mut inventory, &snapshot)?;
    println!();
    policy(&mut inventory, &snapshot)?;
    println!();
    let now =
        chrono::DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")?.with_timezone(&chrono::Utc);
    fleet_examples::drift::run(&snapshot, now, 1_000)?;
    println!();
    fleet_examples::rollout::run(&mut inventory, now)?;
    Ok(())
}

/// The policy part of the demo: one release evaluated against the whole fleet.
fn policy(inventory: &mut fleet_core::Inventory, snapshot: &Snapshot) -> anyhow::Result<()> {
    use fleet_policy::{BulkRequest, Outcome};
    use fleet_selectors::SelectorIndex;

    let at =
        chrono::DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")?.with_timezone(&chrono::Utc);
    let schema = fleet_core::synth::schema();
    let release = fleet_examples::release::DemoRelease::load(at)?;
    let set = &release.policies;
    println!(
        "policy: {} rules loaded from examples/policies/demo.yaml",
        set.rule_count()
    );
    let (workload, artifact, actor) = (&release.workload, &release.artifact, &release.actor);
    // SRE has approved; security has not yet.
    let approvals = &release.approvals;

    let index = SelectorIndex::build(inventory.view());
    let everything = index.query(&fleet_selectors::compile("", &schema)?, snapshot, at)?;
    let t = Instant::now();
    let req =
        BulkRequest::new(release.request_id, workload, artifact, actor, at).approvals(approvals);
    let bulk = set.evaluate_bulk(&index, snapshot, &everything, &req)?;
    let s = &bulk.summary;
    println!(
        "release sigstore-js 2.1.0 at {}: {} allowed, {} pending, {} denied ({} targets in {:.1?})",
        at.to_rfc3339(),
        s.allowed,
        s.pending,
        s.denied,
        bulk.decisions.len(),
        t.elapsed()
    );
    for (rule, c) in &s.by_rule {
        println!(
            "  {rule:<32} failed {:>6}  pending {:>6}",
            c.failed, c.pending
        );
    }
    for want in [Outcome::Allow, Outcome::Pending, Outcome::Deny] {
        if let Some(d) = bulk.decisions.iter().find(|d| d.outcome == want) {
            println!();
            print!("{d}");
        }
    }
    Ok(())
}

/// The selector part of the demo: the seed sentence and the seed YAML, indexed and scanned.
fn selectors(inventory: &mut fleet_core::Inventory, snapshot: &Snapshot) -> anyhow::Result<()> {
    use fleet_selectors::{SelectorIndex, TargetSelectorDocument, compile};

    // The demo's "now" is the synthetic fleet's reference instant, so output is repeatable.
    let now =
        chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")?.with_timezone(&chrono::Utc);
    let schema = fleet_core::synth::schema();
    let t0 = Instant::now();
    let index = SelectorIndex::build(inventory.view());
    println!(
        "selector index built over {} targets in {:.1?}",
        index.len(),
        t0.elapsed()
    );

    let sentence = r#"version = 1.29 and region in ("eu-*", "europe-*", "*europe", "germany*", "france*", "sweden*", "edge-eu-*") and owner = atlas and last_touched < now - 30d"#;
    let yaml = "target_selector:\n  region: [\"us-*\", \"eu-*\"]\n  tier: \"production\"\n  exclude_labels: [\"frozen\", \"compliance-hold\"]\n";
    let from_yaml = serde_yaml_ng::from_str::<TargetSelectorDocument>(yaml)?
        .target_selector
        .compile(&schema)
        .map_err(|e| anyhow::anyhow!(e.render()))?;
    let from_text = compile(sentence, &schema).map_err(|e| anyhow::anyhow!(e.render()))?;

    for (title, sel) in [
        (
            "\"every cluster running 1.29 in the EU, owned by team Atlas, not touched in 30 days\"",
            &from_text,
        ),
        ("the YAML target_selector", &from_yaml),
    ] {
        println!();
        println!("{title}");
        println!("  selector: {sel}");
        let t = Instant::now();
        let hits = index.query(sel, inventory.view(), now)?;
        let indexed = t.elapsed();
        // The scan path: the selector bound to the snapshot, then every target checked.
        let t = Instant::now();
        let mut bound = sel.bind(snapshot, now);
        let scanned = snapshot.iter().filter(|x| bound.matches(x)).count();
        let scan = t.elapsed();
        anyhow::ensure!(scanned as u64 == hits.len(), "index and scan disagree");
        println!(
            "  {} targets match (indexed query {indexed:.1?}; full scan {scan:.1?}, same answer)",
            hits.len()
        );
        let first: Vec<&str> = hits.ids(snapshot).take(5).collect();
        println!("  first matches: {}", first.join(", "));
        if let Some(miss) = snapshot.iter().find(|x| !hits.contains(x.slot())) {
            println!("  why not `{}`?", miss.id());
            for line in sel.explain(&miss, now).to_string().lines() {
                println!("    {line}");
            }
        }
    }
    Ok(())
}

fn string_prop<'a>(t: &fleet_core::TargetRef<'a>, name: &str) -> &'a str {
    match t.property(name) {
        Some(ValueRef::String(s)) => s,
        _ => "-",
    }
}

fn summary(snapshot: &Snapshot) {
    let mut by_substrate: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_region: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut by_minor: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_flavour: BTreeMap<&str, usize> = BTreeMap::new();
    let mut frozen = 0;
    let mut held = 0;
    for t in snapshot.iter() {
        *by_substrate.entry(t.substrate()).or_default() += 1;
        *by_region
            .entry((t.substrate(), string_prop(&t, "region")))
            .or_default() += 1;
        if let Some(ValueRef::Version(v)) = t.property("version") {
            *by_minor
                .entry(format!("{}.{}", v.major(), v.minor()))
                .or_default() += 1;
            let flavour = match v.suffix() {
                s if s.starts_with("-eks") => "eks",
                s if s.starts_with("-gke") => "gke",
                s if s.contains("k3s") => "k3s",
                s if s.contains("rke2") => "rke2",
                _ => "upstream",
            };
            *by_flavour.entry(flavour).or_default() += 1;
        }
        frozen += usize::from(t.label("frozen").is_some());
        held += usize::from(t.label("compliance-hold").is_some());
    }
    let total = snapshot.len();
    let pct = |n: usize| 100.0 * n as f64 / total.max(1) as f64;

    println!("by substrate");
    for (s, n) in &by_substrate {
        println!("  {s:<10} {n:>7}  {:>5.1}%", pct(*n));
    }
    println!();
    println!("by region ({} regions; top 12)", by_region.len());
    let mut regions: Vec<_> = by_region.into_iter().collect();
    regions.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for ((sub, region), n) in regions.iter().take(12) {
        println!("  {region:<24} {sub:<8} {n:>6}");
    }
    println!();
    println!("by Kubernetes minor version");
    for (m, n) in &by_minor {
        println!(
            "  {m:<6} {n:>7}  {:>5.1}%  {}",
            pct(*n),
            "#".repeat((pct(*n) / 2.0) as usize)
        );
    }
    println!(
        "  distributions: {}",
        by_flavour
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!();
    println!("labelled frozen: {frozen}; under compliance-hold: {held}");
}
