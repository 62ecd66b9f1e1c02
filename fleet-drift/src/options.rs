//! What the diff treats as equal: ignored fields, defaults, keyed lists, quantities.

use serde_json::{Value, json};

use crate::pattern::FieldPattern;

/// How a leaf value is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeafRule {
    /// A Kubernetes resource quantity (`1000m` = `1`, `1Gi` = `1024Mi`); values that do not
    /// parse as quantities are compared as they are.
    Quantity,
    /// An int-or-string value: a string holding a decimal integer (`"8080"`) equals that
    /// integer (`8080`); other strings (`"25%"`, `"http"`) stay strings.
    IntOrString,
    /// A sensitive string: compared, shown and normalised only as its SHA-256 digest
    /// (salted with [`DiffOptions::secret_salt`] when set).
    Redact,
}

/// One key field of a keyed list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyField {
    pub(crate) name: Box<str>,
    pub(crate) default: Option<Value>,
}

impl KeyField {
    /// A key field that every element must have.
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self {
            name: Box::from(name),
            default: None,
        }
    }

    /// The value an element without this field has (the API server's default, such as
    /// `protocol: TCP` for container ports).
    #[must_use]
    pub fn default_value(mut self, value: Value) -> Self {
        self.default = Some(value);
        self
    }

    /// The field name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// How the elements of a list are matched between two documents.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListRule {
    /// Elements are objects matched by the values of these fields (merge by key).
    Keyed(Vec<KeyField>),
    /// Elements are matched by their whole value; order does not matter.
    Set,
    /// Elements are matched by position (the behaviour without a rule; use it to override a
    /// broader rule).
    Positional,
}

/// What the diff treats as equal, and how lists are matched. Build it from
/// [`DiffOptions::kubernetes`] (also the [`Default`]) or [`DiffOptions::plain`] and add rules.
///
/// # Kubernetes defaults
///
/// Ignored (server-populated or client bookkeeping): `status`, `metadata.managedFields`,
/// `metadata.resourceVersion`, `metadata.uid`, `metadata.generation`,
/// `metadata.creationTimestamp`, `metadata.selfLink`, the annotations
/// `kubectl.kubernetes.io/last-applied-configuration` and `deployment.kubernetes.io/revision`.
///
/// Keyed lists: `**.containers`, `**.initContainers`, `**.ephemeralContainers`,
/// `**.env`, `**.volumes`, `**.imagePullSecrets` by `name`; container `ports` by
/// `containerPort` + `protocol` (default `TCP`); Service `spec.ports` by `port` + `protocol`
/// (default `TCP`); `**.volumeMounts` by `mountPath`; `**.volumeDevices` by `devicePath`;
/// `**.conditions` by `type`; `**.hostAliases` by `ip`; webhook configurations' `webhooks` by
/// `name`. Sets: `metadata.finalizers`. Other lists are compared by position. Note that the
/// order of `env` does matter to Kubernetes when one variable refers to another (`$(A)`); it
/// is treated as a keyed list here, as the API server's merge does.
///
/// Quantities: `**.resources.limits.*`, `**.resources.requests.*`, `**.overhead.*`,
/// `**.emptyDir.sizeLimit`, ResourceQuota `spec.hard.*`, PersistentVolume `spec.capacity.*`,
/// LimitRange `spec.limits.{max,min,default,defaultRequest,maxLimitRequestRatio}.*`.
///
/// Int-or-string: `**.rollingUpdate.maxSurge`, `**.rollingUpdate.maxUnavailable`,
/// `**.targetPort`, `**.httpGet.port`, `**.tcpSocket.port`, PodDisruptionBudget
/// `spec.minAvailable` and `spec.maxUnavailable`.
///
/// Defaulted (absent equals this value): containers' `terminationMessagePath`
/// (`/dev/termination-log`), `terminationMessagePolicy` (`File`), `resources` (`{}`), ports'
/// `protocol` (`TCP`); pod specs' (`**.spec.`) `dnsPolicy` (`ClusterFirst`), `restartPolicy`
/// (`Always`), `schedulerName` (`default-scheduler`), `securityContext` (`{}`),
/// `terminationGracePeriodSeconds` (`30`); Deployment `spec.replicas` (`1`),
/// `spec.progressDeadlineSeconds` (`600`), `spec.revisionHistoryLimit` (`10`),
/// `spec.strategy` (rolling update, 25% / 25%); Service `spec.type` (`ClusterIP`),
/// `spec.sessionAffinity` (`None`), ports' `protocol` (`TCP`); Endpoints
/// `subsets.ports.protocol` (`TCP`). `imagePullPolicy` is not defaulted: its default depends
/// on the image tag.
///
/// Secrets: `data` values are compared by the SHA-256 digest of their decoded bytes and
/// `stringData` is folded into `data` first, so neither document's plaintext ever appears in
/// a diff. `null` object members are treated as absent (as Kubernetes does).
///
/// # Example
///
/// ```
/// use fleet_drift::{DiffOptions, FieldPattern, KeyField};
///
/// let options = DiffOptions::kubernetes()
///     .ignore(FieldPattern::parse("metadata.labels[\"team.example.com/owner\"]")?)
///     .keyed_list(FieldPattern::parse("spec.listeners")?.for_kinds(["Gateway"]), [KeyField::new("name")]);
/// # let _ = options;
/// # Ok::<(), fleet_drift::PatternError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DiffOptions {
    index: OptionsIndex,
    pub(crate) ignored: Vec<FieldPattern>,
    pub(crate) defaults: Vec<(FieldPattern, Value)>,
    pub(crate) lists: Vec<(FieldPattern, ListRule)>,
    pub(crate) leaves: Vec<(FieldPattern, LeafRule)>,
    pub(crate) secret_salt: Vec<u8>,
    pub(crate) nulls_are_absent: bool,
    pub(crate) secrets: bool,
    pub(crate) max_depth: usize,
}

/// The default nesting limit, well past any real Kubernetes object.
pub const DEFAULT_MAX_DEPTH: usize = 128;

impl Default for DiffOptions {
    fn default() -> Self {
        Self::kubernetes()
    }
}

fn pat(text: &str) -> FieldPattern {
    // The built-in patterns are literals checked by a unit test; a typo degrades to a
    // pattern that matches nothing rather than a panic.
    FieldPattern::parse(text).unwrap_or_else(|_| FieldPattern::never())
}

impl DiffOptions {
    /// No rules at all: every field counts, lists are compared by position, `null` is a value
    /// like any other. Useful for non-Kubernetes JSON.
    #[must_use]
    pub fn plain() -> Self {
        Self {
            index: OptionsIndex::default(),
            ignored: Vec::new(),
            defaults: Vec::new(),
            lists: Vec::new(),
            leaves: Vec::new(),
            secret_salt: Vec::new(),
            nulls_are_absent: false,
            secrets: false,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }

    /// The Kubernetes defaults listed in the type's documentation.
    #[must_use]
    pub fn kubernetes() -> Self {
        let mut o = Self::plain();
        o.nulls_are_absent = true;
        o.secrets = true;
        for p in [
            "status",
            "metadata.managedFields",
            "metadata.resourceVersion",
            "metadata.uid",
            "metadata.generation",
            "metadata.creationTimestamp",
            "metadata.selfLink",
            r#"metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]"#,
            r#"metadata.annotations["deployment.kubernetes.io/revision"]"#,
        ] {
            o.ignored.push(pat(p));
        }
        let name = || vec![KeyField::new("name")];
        let tcp = || KeyField::new("protocol").default_value(json!("TCP"));
        for c in ["containers", "initContainers", "ephemeralContainers"] {
            o.lists
                .push((pat(&format!("**.{c}")), ListRule::Keyed(name())));
            o.lists.push((
                pat(&format!("**.{c}.ports")),
                ListRule::Keyed(vec![KeyField::new("containerPort"), tcp()]),
            ));
            for (field, value) in [
                ("terminationMessagePath", json!("/dev/termination-log")),
                ("terminationMessagePolicy", json!("File")),
                ("resources", json!({})),
            ] {
                o.defaults.push((pat(&format!("**.{c}.{field}")), value));
            }
            o.defaults
                .push((pat(&format!("**.{c}.ports.protocol")), json!("TCP")));
        }
        for l in ["env", "volumes", "imagePullSecrets"] {
            o.lists
                .push((pat(&format!("**.{l}")), ListRule::Keyed(name())));
        }
        for (l, key) in [
            ("**.volumeMounts", "mountPath"),
            ("**.volumeDevices", "devicePath"),
            ("**.conditions", "type"),
            ("**.hostAliases", "ip"),
        ] {
            o.lists
                .push((pat(l), ListRule::Keyed(vec![KeyField::new(key)])));
        }
        o.lists.push((
            pat("webhooks").for_kinds([
                "ValidatingWebhookConfiguration",
                "MutatingWebhookConfiguration",
            ]),
            ListRule::Keyed(name()),
        ));
        o.lists.push((
            pat("spec.ports").for_kinds(["Service"]),
            ListRule::Keyed(vec![KeyField::new("port"), tcp()]),
        ));
        o.defaults.push((
            pat("spec.ports.protocol").for_kinds(["Service"]),
            json!("TCP"),
        ));
        o.defaults.push((
            pat("subsets.ports.protocol").for_kinds(["Endpoints"]),
            json!("TCP"),
        ));
        o.lists.push((pat("metadata.finalizers"), ListRule::Set));

        for p in [
            "**.resources.limits.*",
            "**.resources.requests.*",
            "**.overhead.*",
            "**.emptyDir.sizeLimit",
        ] {
            o.leaves.push((pat(p), LeafRule::Quantity));
        }
        o.leaves.push((
            pat("spec.hard.*").for_kinds(["ResourceQuota"]),
            LeafRule::Quantity,
        ));
        o.leaves.push((
            pat("spec.capacity.*").for_kinds(["PersistentVolume"]),
            LeafRule::Quantity,
        ));
        for f in [
            "max",
            "min",
            "default",
            "defaultRequest",
            "maxLimitRequestRatio",
        ] {
            o.leaves.push((
                pat(&format!("spec.limits.{f}.*")).for_kinds(["LimitRange"]),
                LeafRule::Quantity,
            ));
        }
        for p in [
            "**.rollingUpdate.maxSurge",
            "**.rollingUpdate.maxUnavailable",
            "**.targetPort",
            "**.httpGet.port",
            "**.tcpSocket.port",
        ] {
            o.leaves.push((pat(p), LeafRule::IntOrString));
        }
        for p in ["spec.minAvailable", "spec.maxUnavailable"] {
            o.leaves.push((
                pat(p).for_kinds(["PodDisruptionBudget"]),
                LeafRule::IntOrString,
            ));
        }

        for (field, value) in [
            ("dnsPolicy", json!("ClusterFirst")),
            ("restartPolicy", json!("Always")),
            ("schedulerName", json!("default-scheduler")),
            ("securityContext", json!({})),
            ("terminationGracePeriodSeconds", json!(30)),
        ] {
            o.defaults.push((pat(&format!("**.spec.{field}")), value));
        }
        for (field, value) in [
            ("replicas", json!(1)),
            ("progressDeadlineSeconds", json!(600)),
            ("revisionHistoryLimit", json!(10)),
            (
                "strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
            ),
        ] {
            o.defaults.push((
                pat(&format!("spec.{field}")).for_kinds(["Deployment"]),
                value,
            ));
        }
        for (field, value) in [
            ("type", json!("ClusterIP")),
            ("sessionAffinity", json!("None")),
        ] {
            o.defaults
                .push((pat(&format!("spec.{field}")).for_kinds(["Service"]), value));
        }
        o.reindexed()
    }

    /// Ignores every field the pattern matches, on both sides.
    #[must_use]
    pub fn ignore(mut self, pattern: FieldPattern) -> Self {
        self.ignored.push(pattern);
        self.reindexed()
    }

    /// Treats an absent field as equal to `value` (compared by meaning, under the same
    /// rules), where the pattern matches.
    #[must_use]
    pub fn default_value(mut self, pattern: FieldPattern, value: Value) -> Self {
        self.defaults.push((pattern, value));
        self.reindexed()
    }

    /// Matches the elements of the lists at `pattern` by the values of `keys`. Rules added
    /// later take precedence over earlier ones (and over the built-in ones).
    #[must_use]
    pub fn keyed_list(
        mut self,
        pattern: FieldPattern,
        keys: impl IntoIterator<Item = KeyField>,
    ) -> Self {
        self.lists
            .push((pattern, ListRule::Keyed(keys.into_iter().collect())));
        self.reindexed()
    }

    /// Treats the lists at `pattern` as sets of values.
    #[must_use]
    pub fn set_list(mut self, pattern: FieldPattern) -> Self {
        self.lists.push((pattern, ListRule::Set));
        self.reindexed()
    }

    /// Compares the lists at `pattern` by position, overriding an earlier keyed or set rule.
    #[must_use]
    pub fn positional_list(mut self, pattern: FieldPattern) -> Self {
        self.lists.push((pattern, ListRule::Positional));
        self.reindexed()
    }

    /// Compares the leaf values at `pattern` with `rule`. Later rules take precedence.
    #[must_use]
    pub fn leaf(mut self, pattern: FieldPattern, rule: LeafRule) -> Self {
        self.leaves.push((pattern, rule));
        self.reindexed()
    }

    /// A salt mixed into the digests of secret values, so that a diff shown to someone
    /// cannot be checked against guessed passwords. Empty (the default) means unsalted.
    #[must_use]
    pub fn secret_salt(mut self, salt: &[u8]) -> Self {
        self.secret_salt = salt.to_vec();
        self
    }

    /// Keeps `null` object members as values instead of treating them as absent.
    #[must_use]
    pub fn keep_nulls(mut self) -> Self {
        self.nulls_are_absent = false;
        self
    }

    /// The deepest nesting a document may have before diffing fails with
    /// [`DiffError::TooDeep`](crate::DiffError::TooDeep). Default [`DEFAULT_MAX_DEPTH`].
    #[must_use]
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Rebuilds the lookup index after the rule lists changed.
    fn reindexed(mut self) -> Self {
        self.index = OptionsIndex {
            ignored: PatternIndex::build(self.ignored.iter()),
            defaults: PatternIndex::build(self.defaults.iter().map(|(p, _)| p)),
            lists: PatternIndex::build(self.lists.iter().map(|(p, _)| p)),
            leaves: PatternIndex::build(self.leaves.iter().map(|(p, _)| p)),
        };
        self
    }

    pub(crate) fn is_ignored(&self, kind: Option<&str>, names: &[&str]) -> bool {
        self.index
            .ignored
            .last_match(names, |i| {
                self.ignored.get(i).is_some_and(|p| p.matches(kind, names))
            })
            .is_some()
    }

    pub(crate) fn default_for(&self, kind: Option<&str>, names: &[&str]) -> Option<&Value> {
        let i = self.index.defaults.last_match(names, |i| {
            self.defaults
                .get(i)
                .is_some_and(|(p, _)| p.matches(kind, names))
        })?;
        self.defaults.get(i).map(|(_, v)| v)
    }

    pub(crate) fn list_rule(&self, kind: Option<&str>, names: &[&str]) -> Option<&ListRule> {
        let i = self.index.lists.last_match(names, |i| {
            self.lists
                .get(i)
                .is_some_and(|(p, _)| p.matches(kind, names))
        })?;
        self.lists
            .get(i)
            .map(|(_, r)| r)
            .filter(|r| !matches!(r, ListRule::Positional))
    }

    pub(crate) fn leaf_rule(&self, kind: Option<&str>, names: &[&str]) -> Option<LeafRule> {
        let i = self.index.leaves.last_match(names, |i| {
            self.leaves
                .get(i)
                .is_some_and(|(p, _)| p.matches(kind, names))
        })?;
        self.leaves.get(i).map(|(_, r)| *r)
    }
}

/// Which patterns can match a path, by its last field name: every node of a document asks
/// four questions (ignored? defaulted? a list rule? a leaf rule?), and most patterns end in a
/// literal name, so only those ending in the node's name (and the few ending in a wildcard)
/// are tried. Derived from the rule lists; equal whenever they are.
#[derive(Debug, Clone, Default)]
struct OptionsIndex {
    ignored: PatternIndex,
    defaults: PatternIndex,
    lists: PatternIndex,
    leaves: PatternIndex,
}

impl PartialEq for OptionsIndex {
    fn eq(&self, _: &Self) -> bool {
        // A function of the rule lists, which `DiffOptions` compares.
        true
    }
}

#[derive(Debug, Clone, Default)]
struct PatternIndex {
    /// Positions of the patterns ending in a literal name, by that name, ascending.
    by_last: hashbrown::HashMap<Box<str>, Vec<usize>>,
    /// Positions of the others, ascending.
    wild: Vec<usize>,
}

impl PatternIndex {
    fn build<'a>(patterns: impl Iterator<Item = &'a FieldPattern>) -> Self {
        let mut out = Self::default();
        for (i, p) in patterns.enumerate() {
            match p.last_name() {
                Some(name) => out.by_last.entry(Box::from(name)).or_default().push(i),
                None => out.wild.push(i),
            }
        }
        out
    }

    /// The last position (the rule added last wins) whose pattern `matches`.
    fn last_match(&self, names: &[&str], matches: impl Fn(usize) -> bool) -> Option<usize> {
        let named = names
            .last()
            .and_then(|n| self.by_last.get(*n))
            .map_or(&[][..], Vec::as_slice);
        let a = named.iter().rev().copied().find(|&i| matches(i));
        let b = self
            .wild
            .iter()
            .rev()
            .copied()
            .take_while(|&i| a.is_none_or(|a| i > a))
            .find(|&i| matches(i));
        a.max(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_patterns_parse() {
        let o = DiffOptions::kubernetes();
        let all = o
            .ignored
            .iter()
            .chain(o.defaults.iter().map(|(p, _)| p))
            .chain(o.lists.iter().map(|(p, _)| p))
            .chain(o.leaves.iter().map(|(p, _)| p));
        for p in all {
            assert!(!p.is_never(), "{p}");
        }
    }
}
