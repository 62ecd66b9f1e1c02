//! Deterministic synthetic fleets for tests, benchmarks, examples and simulations.
//!
//! A [`FleetSpec`] and its seed decide every byte of the output: the same spec gives the same
//! fleet on every machine and every run. The mix is modelled on real estates: five
//! substrates (`aws`, `gcp`, `azure`, `on-prem`, `edge`), about fifty regions named as each
//! cloud names them (`eu-west-1`, `europe-west4`, `westeurope`), three tiers, a long tail of
//! customers, compliance classes, Kubernetes versions with skew and each distribution's
//! suffix (`-eks-…`, `-gke.…`, `+k3s1`), owners, last-touched times over 180 days, labels
//! (with `frozen` and `compliance-hold` on small fractions), capabilities, native ids in each
//! platform's format, and a dependency DAG.
//!
//! # Example
//!
//! ```
//! use fleet_core::synth::{FleetSpec, generate};
//!
//! let a = generate(&FleetSpec::new(500).seed(42).edges_per_target(2));
//! let b = generate(&FleetSpec::new(500).seed(42).edges_per_target(2));
//! assert_eq!(a, b);
//! assert!(a.validate().is_ok());
//! ```

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use crate::fleet::Fleet;
use crate::id::{NativeId, TargetId};
use crate::properties::Properties;
use crate::schema::{PropertyDef, Schema};
use crate::target::Target;
use crate::value::{Value, ValueType};
use crate::version::Version;

/// What to generate. Defaults: seed 0, one dependency edge per target, no cycle, `now` =
/// 2026-12-01T00:00:00Z.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct FleetSpec {
    targets: usize,
    seed: u64,
    edges_per_target: usize,
    inject_cycle: bool,
    now: DateTime<Utc>,
}

impl FleetSpec {
    /// A spec for `targets` targets.
    pub fn new(targets: usize) -> Self {
        Self {
            targets,
            seed: 0,
            edges_per_target: 1,
            inject_cycle: false,
            now: Utc
                .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
                .single()
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
        }
    }

    /// The seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How many targets each target depends on (fewer for the first few). Edges always point
    /// to earlier targets, so the graph is acyclic unless a cycle is injected.
    pub fn edges_per_target(mut self, n: usize) -> Self {
        self.edges_per_target = n;
        self
    }

    /// Adds one dependency edge that closes a cycle (for testing cycle detection).
    pub fn inject_cycle(mut self, yes: bool) -> Self {
        self.inject_cycle = yes;
        self
    }

    /// The instant "last touched" times count back from.
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// The number of targets.
    #[must_use]
    pub fn len(&self) -> usize {
        self.targets
    }

    /// Whether the spec asks for no targets.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.targets == 0
    }
}

/// A small, fast, seedable generator (SplitMix64). Its output is fixed by this crate, not by
/// a dependency's version, so generated fleets never change under an upgrade.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let n64 = n as u64;
        // Lemire's multiply-shift; the tiny bias is irrelevant for synthetic data.
        ((u128::from(self.next_u64()) * u128::from(n64)) >> 64) as usize
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniform element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }

    /// An index drawn with the given weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut x = self.below(total as usize) as u64;
        for (i, &w) in weights.iter().enumerate() {
            if x < u64::from(w) {
                return i;
            }
            x -= u64::from(w);
        }
        0
    }
}

struct Cloud {
    substrate: &'static str,
    weight: u32,
    prefix: &'static str,
    regions: &'static [(&'static str, &'static str)],
}

const CLOUDS: &[Cloud] = &[
    Cloud {
        substrate: "aws",
        weight: 35,
        prefix: "eks",
        regions: &[
            ("us-east-1", "us"),
            ("us-east-2", "us"),
            ("us-west-1", "us"),
            ("us-west-2", "us"),
            ("ca-central-1", "ca"),
            ("sa-east-1", "latam"),
            ("eu-west-1", "eu"),
            ("eu-west-2", "uk"),
            ("eu-west-3", "eu"),
            ("eu-central-1", "eu"),
            ("eu-north-1", "eu"),
            ("eu-south-1", "eu"),
            ("ap-south-1", "apac"),
            ("ap-southeast-1", "apac"),
            ("ap-southeast-2", "apac"),
            ("ap-northeast-1", "apac"),
            ("ap-northeast-2", "apac"),
            ("me-south-1", "mea"),
            ("af-south-1", "mea"),
        ],
    },
    Cloud {
        substrate: "gcp",
        weight: 25,
        prefix: "gke",
        regions: &[
            ("us-central1", "us"),
            ("us-east1", "us"),
            ("us-east4", "us"),
            ("us-west1", "us"),
            ("northamerica-northeast1", "ca"),
            ("southamerica-east1", "latam"),
            ("europe-west1", "eu"),
            ("europe-west2", "uk"),
            ("europe-west3", "eu"),
            ("europe-west4", "eu"),
            ("europe-north1", "eu"),
            ("asia-east1", "apac"),
            ("asia-northeast1", "apac"),
            ("asia-south1", "apac"),
            ("australia-southeast1", "apac"),
        ],
    },
    Cloud {
        substrate: "azure",
        weight: 20,
        prefix: "aks",
        regions: &[
            ("eastus", "us"),
            ("eastus2", "us"),
            ("westus2", "us"),
            ("westus3", "us"),
            ("centralus", "us"),
            ("canadacentral", "ca"),
            ("brazilsouth", "latam"),
            ("northeurope", "eu"),
            ("westeurope", "eu"),
            ("uksouth", "uk"),
            ("francecentral", "eu"),
            ("germanywestcentral", "eu"),
            ("swedencentral", "eu"),
            ("japaneast", "apac"),
            ("australiaeast", "apac"),
            ("southeastasia", "apac"),
        ],
    },
    Cloud {
        substrate: "on-prem",
        weight: 12,
        prefix: "dc",
        regions: &[
            ("dc-fra-1", "eu"),
            ("dc-ams-1", "eu"),
            ("dc-nyc-1", "us"),
            ("dc-dfw-1", "us"),
            ("dc-sin-1", "apac"),
        ],
    },
    Cloud {
        substrate: "edge",
        weight: 8,
        prefix: "edge",
        regions: &[
            ("edge-eu-west", "eu"),
            ("edge-eu-central", "eu"),
            ("edge-us-east", "us"),
            ("edge-us-west", "us"),
            ("edge-apac", "apac"),
        ],
    },
];

const TIERS: &[(&str, &str, u32)] = &[
    ("production", "prod", 45),
    ("staging", "stg", 25),
    ("development", "dev", 30),
];

const COMPLIANCE: &[(&str, u32)] = &[
    ("standard", 70),
    ("pci", 8),
    ("hipaa", 7),
    ("gdpr-strict", 8),
    ("fedramp-moderate", 4),
    ("fedramp-high", 3),
];

const OWNERS: &[&str] = &[
    "atlas", "borealis", "cassini", "draco", "eos", "fornax", "gemini", "helios", "io", "juno",
    "kepler", "lyra", "mercury", "nova", "orion", "pegasus", "quasar", "rigel", "sirius", "titan",
    "umbra", "vega", "wren", "xenon", "ymir", "zephyr", "apollo", "boreas", "ceres", "dione",
];

const CUSTOMER_STEMS: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "wonka",
    "tyrell",
    "cyberdyne",
    "soylent",
    "aperture",
    "massive",
    "vandelay",
    "gringotts",
    "oscorp",
];

const MINORS: &[(u64, u32)] = &[(27, 5), (28, 15), (29, 35), (30, 30), (31, 15)];

const MANAGERS: &[&str] = &["fleet", "terraform", "crossplane", "pulumi"];
const ONCALL: &[&str] = &[
    "platform-primary",
    "platform-secondary",
    "sre-emea",
    "sre-amer",
    "sre-apac",
];

/// The schema of generated fleets: twelve properties.
#[must_use]
pub fn schema() -> Schema {
    let s = |v: &str| Value::String(v.to_owned());
    Schema::new()
        .with(
            "region",
            PropertyDef::new(ValueType::String)
                .required()
                .description("the platform's region, in its own naming"),
        )
        .with(
            "geo",
            PropertyDef::new(ValueType::String)
                .required()
                .allowed(["us", "ca", "latam", "eu", "uk", "apac", "mea"].map(s)),
        )
        .with(
            "tier",
            PropertyDef::new(ValueType::String)
                .required()
                .allowed(TIERS.iter().map(|t| s(t.0))),
        )
        .with("customer", PropertyDef::new(ValueType::String).required())
        .with(
            "compliance",
            PropertyDef::new(ValueType::String)
                .required()
                .allowed(COMPLIANCE.iter().map(|c| s(c.0))),
        )
        .with("version", PropertyDef::new(ValueType::Version).required())
        .with("owner", PropertyDef::new(ValueType::String).required())
        .with(
            "last_touched",
            PropertyDef::new(ValueType::Timestamp)
                .required()
                .description("when a person last changed the target"),
        )
        .with("created", PropertyDef::new(ValueType::Timestamp))
        .with("nodes", PropertyDef::new(ValueType::Integer))
        .with("cost_per_hour", PropertyDef::new(ValueType::Float))
        .with("autoscaling", PropertyDef::new(ValueType::Bool))
}

fn hex(rng: &mut Rng, n: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..n)
        .map(|_| char::from(HEX.get(rng.below(16)).copied().unwrap_or(b'0')))
        .collect()
}

/// A Kubernetes version as the substrate reports it. Distribution builds are shared the way
/// real fleets share them: one EKS build per patch release, a few GKE builds per patch.
fn version(rng: &mut Rng, substrate: &str) -> Version {
    let minors: Vec<u32> = MINORS.iter().map(|m| m.1).collect();
    let minor = MINORS.get(rng.weighted(&minors)).map_or(29, |m| m.0);
    let patch = rng.below(12) as u64;
    let mut build = Rng::new(minor * 1000 + patch);
    let suffix = match substrate {
        "aws" => format!("-eks-{}", hex(&mut build, 7)),
        "gcp" => {
            let k = rng.below(4);
            let n = (0..=k).map(|_| build.below(900_000)).last().unwrap_or(0);
            format!("-gke.{}", 1_000_000 + n)
        }
        "edge" => "+k3s1".to_owned(),
        "on-prem" if rng.chance(0.5) => "+rke2r1".to_owned(),
        _ => String::new(),
    };
    Version::from_trusted([1, minor, patch], &suffix)
}

fn native_id(rng: &mut Rng, cloud: &Cloud, region: &str, name: &str) -> String {
    match cloud.substrate {
        "aws" => format!(
            "arn:aws:eks:{region}:{:012}:cluster/{name}",
            100_000_000_000 + rng.below(900_000_000_000)
        ),
        "gcp" => format!(
            "https://container.googleapis.com/v1/projects/proj-{}/locations/{region}/clusters/{name}",
            hex(rng, 6)
        ),
        "azure" => format!(
            "/subscriptions/{}-{}-{}-{}-{}/resourceGroups/rg-{region}/providers/Microsoft.ContainerService/managedClusters/{name}",
            hex(rng, 8),
            hex(rng, 4),
            hex(rng, 4),
            hex(rng, 4),
            hex(rng, 12)
        ),
        "on-prem" => format!("kubeconfig:{region}/{name}"),
        _ => format!("edge-site:{name}"),
    }
}

/// Generates a fleet (with [`schema`]) from a spec.
#[must_use]
pub fn generate(spec: &FleetSpec) -> Fleet {
    let mut rng = Rng::new(spec.seed);
    let cloud_weights: Vec<u32> = CLOUDS.iter().map(|c| c.weight).collect();
    let tier_weights: Vec<u32> = TIERS.iter().map(|t| t.2).collect();
    let compliance_weights: Vec<u32> = COMPLIANCE.iter().map(|c| c.1).collect();
    let customers = (spec.targets / 50).clamp(20, 5000);
    let mut targets: Vec<Target> = Vec::with_capacity(spec.targets);
    for i in 0..spec.targets {
        let Some(cloud) = CLOUDS.get(rng.weighted(&cloud_weights)) else {
            continue;
        };
        let (region, geo) = rng
            .pick(cloud.regions)
            .copied()
            .unwrap_or(("unknown", "us"));
        let (tier, tier_short, _) = TIERS
            .get(rng.weighted(&tier_weights))
            .copied()
            .unwrap_or(TIERS[0]);
        // Squaring a uniform draw gives a long tail: a few customers own many targets.
        let c = ((rng.unit() * rng.unit()) * customers as f64) as usize;
        let stem = CUSTOMER_STEMS
            .get(c % CUSTOMER_STEMS.len())
            .copied()
            .unwrap_or("acme");
        let customer = format!("{stem}-{}", c / CUSTOMER_STEMS.len());
        let mut compliance = COMPLIANCE
            .get(rng.weighted(&compliance_weights))
            .map_or("standard", |c| c.0);
        if compliance.starts_with("fedramp") && geo != "us" {
            compliance = "standard";
        }
        let owner = rng.pick(OWNERS).copied().unwrap_or("atlas");
        let name = format!("{}-{tier_short}-{region}-{i:05}", cloud.prefix);
        let id = TargetId::from_trusted(&name);
        let touched = spec.now - TimeDelta::seconds(rng.below(180 * 86_400) as i64);
        let created = touched - TimeDelta::seconds(rng.below(3 * 365 * 86_400) as i64);
        let nodes = match tier {
            "production" => 6 + rng.below(200),
            _ => 1 + rng.below(20),
        } as i64;
        let kind = match cloud.substrate {
            "edge" => "edge-site",
            "on-prem" if rng.chance(0.1) => "vm-pool",
            _ => "cluster",
        };
        // all twelve at once: the property vectors are allocated at their final size
        let properties: [(&str, Value); 12] = [
            ("region", region.into()),
            ("geo", geo.into()),
            ("tier", tier.into()),
            ("customer", customer.clone().into()),
            ("compliance", compliance.into()),
            ("version", version(&mut rng, cloud.substrate).into()),
            ("owner", owner.into()),
            ("last_touched", touched.into()),
            ("created", created.into()),
            ("nodes", nodes.into()),
            (
                "cost_per_hour",
                ((nodes as f64 * (0.08 + rng.unit() * 0.4) * 100.0).round() / 100.0).into(),
            ),
            ("autoscaling", rng.chance(0.6).into()),
        ];
        let mut t = Target {
            properties: Properties::from(properties),
            ..Target::new(id, kind, cloud.substrate)
        }
        .label("team", owner)
        .label("env", tier_short)
        .label("cost-center", format!("cc-{}", 1000 + rng.below(60)))
        .label("customer", customer)
        .label("managed-by", rng.pick(MANAGERS).copied().unwrap_or("fleet"))
        .label(
            "backup",
            if rng.chance(0.8) {
                "enabled"
            } else {
                "disabled"
            },
        )
        .label(
            "oncall",
            rng.pick(ONCALL).copied().unwrap_or("platform-primary"),
        )
        .label("topology.kubernetes.io/region", region);
        if rng.chance(0.02) {
            t = t.label("frozen", "true");
        }
        if rng.chance(0.01) {
            t = t.label(
                "compliance-hold",
                "INC-".to_owned() + &(1000 + rng.below(9000)).to_string(),
            );
        }
        if let Ok(n) = NativeId::new(native_id(&mut rng, cloud, region, &name)) {
            t = t.native_id(n);
        }
        t = t.capability(if rng.chance(0.25) {
            "arch.arm64"
        } else {
            "arch.amd64"
        });
        if rng.chance(0.03) {
            t = t.capability("gpu.nvidia-h100");
        } else if rng.chance(0.04) {
            t = t.capability("gpu.nvidia-a100");
        } else if rng.chance(0.05) {
            t = t.capability("gpu.nvidia-l4");
        }
        if geo == "eu" {
            t = t.capability("sovereign.eu");
        }
        if compliance == "fedramp-high" {
            t = t.capability("compliance.fedramp-high");
        }
        if rng.chance(0.5) {
            t = t.capability("network.ipv6");
        }
        let k = spec.edges_per_target.min(targets.len());
        let mut deps = BTreeSet::new();
        // Bounded attempts: with few earlier targets, duplicates are likely.
        for _ in 0..k.saturating_mul(4) {
            if deps.len() == k {
                break;
            }
            let j = rng.below(targets.len());
            if let Some(d) = targets.get(j) {
                deps.insert(d.id.clone());
            }
        }
        t.depends_on = deps;
        targets.push(t);
    }
    if spec.inject_cycle {
        close_cycle(&mut targets);
    }
    Fleet {
        schema: Some(schema()),
        targets,
    }
}

/// Follows first dependencies from the last target down to one with none, then makes that
/// one depend on the last target: a cycle through every target on the walk.
fn close_cycle(targets: &mut [Target]) {
    let Some(last) = targets.last().map(|t| t.id.clone()) else {
        return;
    };
    let index: std::collections::HashMap<TargetId, usize> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.clone(), i))
        .collect();
    let mut at = targets.len() - 1;
    let mut steps = 0;
    while let Some(next) = targets
        .get(at)
        .and_then(|t| t.depends_on.iter().next())
        .and_then(|d| index.get(d).copied())
    {
        at = next;
        steps += 1;
        if steps > targets.len() {
            break;
        }
    }
    if at == targets.len() - 1 {
        // The last target has no dependencies: make it and the first depend on each other.
        let Some(first) = targets.first().map(|t| t.id.clone()) else {
            return;
        };
        if first == last {
            return;
        }
        if let Some(t) = targets.last_mut() {
            t.depends_on.insert(first);
        }
        at = 0;
    }
    if let Some(t) = targets.get_mut(at) {
        t.depends_on.insert(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    fn has_cycle(f: &Fleet) -> bool {
        // Kahn's algorithm: a cycle leaves nodes with nonzero in-degree.
        let idx: HashMap<&TargetId, usize> = f
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| (&t.id, i))
            .collect();
        let mut indeg = vec![0usize; f.targets.len()];
        for t in &f.targets {
            indeg[idx[&t.id]] = t.depends_on.len();
        }
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); f.targets.len()];
        for t in &f.targets {
            for d in &t.depends_on {
                dependents[idx[d]].push(idx[&t.id]);
            }
        }
        let mut queue: Vec<usize> = (0..indeg.len()).filter(|&i| indeg[i] == 0).collect();
        let mut done = 0;
        while let Some(i) = queue.pop() {
            done += 1;
            for &j in &dependents[i] {
                indeg[j] -= 1;
                if indeg[j] == 0 {
                    queue.push(j);
                }
            }
        }
        done != f.targets.len()
    }

    #[test]
    fn deterministic_and_seed_sensitive() {
        let a = generate(&FleetSpec::new(300).seed(1));
        assert_eq!(a, generate(&FleetSpec::new(300).seed(1)));
        assert_ne!(a, generate(&FleetSpec::new(300).seed(2)));
    }

    #[test]
    fn valid_acyclic_unless_asked() {
        for k in [0, 1, 3] {
            let f = generate(&FleetSpec::new(400).seed(9).edges_per_target(k));
            assert!(f.validate().is_ok(), "{:?}", f.validate());
            assert!(!has_cycle(&f));
            let c = generate(
                &FleetSpec::new(400)
                    .seed(9)
                    .edges_per_target(k)
                    .inject_cycle(true),
            );
            assert!(c.validate().is_ok());
            assert!(has_cycle(&c), "k={k}");
        }
    }

    #[test]
    fn realistic_mix() {
        let f = generate(&FleetSpec::new(10_000).seed(3));
        let mut by_sub: BTreeMap<&str, usize> = BTreeMap::new();
        let mut regions = BTreeSet::new();
        let mut frozen = 0;
        for t in &f.targets {
            *by_sub.entry(t.substrate.as_str()).or_default() += 1;
            regions.insert(t.properties.get("region").unwrap().to_string());
            frozen += usize::from(t.labels.contains_key("frozen"));
            assert_eq!(t.properties.len(), 12);
            assert!(t.labels.len() >= 8);
        }
        assert_eq!(by_sub.len(), 5);
        assert!(by_sub["aws"] > by_sub["edge"]);
        assert!(regions.len() >= 40, "{}", regions.len());
        assert!((100..400).contains(&frozen), "{frozen}");
        // Versions are shared as in real fleets, not unique per target.
        let versions: BTreeSet<String> = f
            .targets
            .iter()
            .map(|t| t.properties.get("version").unwrap().to_string())
            .collect();
        assert!((60..600).contains(&versions.len()), "{}", versions.len());
    }
}
