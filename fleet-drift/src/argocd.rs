//! Argo CD `ignoreDifferences`, accepted as written so teams migrating keep their rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::jq::JqPaths;
use crate::rules::{DriftClass, Globs, Rule, RuleProblem, RulesError};

/// One Argo CD `ignoreDifferences` entry (from an Application's `spec.ignoreDifferences`,
/// or from `argocd-cm` with [`IgnoreDifference::from_argocd_cm`]).
///
/// Each mechanism becomes an acceptable rule: `jsonPointers` ignore changes at or under the
/// pointers; `jqPathExpressions` ignore changes at or under the paths the expressions select
/// (with jaq; without the `jq` feature loading them is an error, never a silent no-op);
/// `managedFieldsManagers` ignore changes to fields those managers own.
///
/// `group` and `kind` accept `*`, as in Argo CD; a missing `group` is the core group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IgnoreDifference {
    /// The API group (`apps`; empty or missing for the core group; `*` for any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The kind (`*` for any).
    pub kind: String,
    /// Only the object with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only objects in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// RFC 6901 pointers (`/spec/replicas`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_pointers: Vec<String>,
    /// jq path expressions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jq_path_expressions: Vec<String>,
    /// Managers whose fields are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields_managers: Vec<String>,
}

/// The body of an `argocd-cm` `resource.customizations.ignoreDifferences.*` key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CustomizationBody {
    #[serde(default)]
    json_pointers: Vec<String>,
    #[serde(default)]
    jq_path_expressions: Vec<String>,
    #[serde(default)]
    managed_fields_managers: Vec<String>,
}

const CM_PREFIX: &str = "resource.customizations.ignoreDifferences.";

impl IgnoreDifference {
    /// Reads the `resource.customizations.ignoreDifferences.<group>_<kind>` (or `.all`)
    /// entries of an `argocd-cm` ConfigMap's `data`; other keys are left alone.
    ///
    /// # Errors
    ///
    /// [`RulesError`] naming each key whose body is not a valid customization.
    ///
    /// # Example
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use fleet_drift::IgnoreDifference;
    ///
    /// let data = BTreeMap::from([(
    ///     "resource.customizations.ignoreDifferences.apps_Deployment".to_owned(),
    ///     "jsonPointers:\n- /spec/replicas\n".to_owned(),
    /// )]);
    /// let entries = IgnoreDifference::from_argocd_cm(&data)?;
    /// assert_eq!(entries[0].group.as_deref(), Some("apps"));
    /// assert_eq!(entries[0].kind, "Deployment");
    /// assert_eq!(entries[0].json_pointers, ["/spec/replicas"]);
    /// # Ok::<(), fleet_drift::RulesError>(())
    /// ```
    pub fn from_argocd_cm(data: &BTreeMap<String, String>) -> Result<Vec<Self>, RulesError> {
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for (key, body) in data {
            let Some(group_kind) = key.strip_prefix(CM_PREFIX) else {
                continue;
            };
            let (group, kind) = if group_kind == "all" {
                (Some("*".to_owned()), "*".to_owned())
            } else {
                match group_kind.rsplit_once('_') {
                    Some((g, k)) => (Some(g.to_owned()), k.to_owned()),
                    None => (None, group_kind.to_owned()),
                }
            };
            match serde_yaml_ng::from_str::<CustomizationBody>(body) {
                Ok(b) => out.push(Self {
                    group,
                    kind,
                    name: None,
                    namespace: None,
                    json_pointers: b.json_pointers,
                    jq_path_expressions: b.jq_path_expressions,
                    managed_fields_managers: b.managed_fields_managers,
                }),
                Err(e) => problems.push(RuleProblem {
                    path: format!("data[\"{key}\"]"),
                    position: e.location().map(|l| (l.line(), l.column())),
                    message: e.to_string(),
                }),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(RulesError { problems })
        }
    }

    pub(crate) fn to_rules(&self, at: &str, problems: &mut Vec<RuleProblem>) -> Vec<Rule> {
        let mut glob = |field: &str, value: Option<&str>| -> Globs {
            let list: Vec<String> = value.map(|v| vec![v.to_owned()]).unwrap_or_default();
            crate::rules::globs_of(&list, &format!("{at}.{field}"), problems)
        };
        let groups = glob("group", Some(self.group.as_deref().unwrap_or("")));
        let kinds = glob("kind", Some(&self.kind));
        let names = glob("name", self.name.as_deref());
        let namespaces = glob("namespace", self.namespace.as_deref());
        let base = |id: String, description: String| Rule {
            id,
            class: DriftClass::Acceptable,
            description,
            action: None,
            targets: None,
            groups: groups.clone(),
            kinds: kinds.clone(),
            names: names.clone(),
            namespaces: namespaces.clone(),
            paths: Vec::new(),
            managers: Globs::default(),
            actors: Vec::new(),
            changes: Vec::new(),
            observed: Vec::new(),
            desired_matches: Globs::default(),
            annotations: Vec::new(),
            when: Vec::new(),
            unless: Vec::new(),
            pointers: Vec::new(),
            jq: Vec::new(),
        };
        let mut out = Vec::new();
        if !self.json_pointers.is_empty() {
            for (i, p) in self.json_pointers.iter().enumerate() {
                if !(p.is_empty() || p.starts_with('/')) {
                    problems.push(RuleProblem {
                        path: format!("{at}.jsonPointers[{i}]"),
                        position: None,
                        message: format!("`{p}` is not a JSON pointer (it must start with `/`)"),
                    });
                }
            }
            let mut rule = base(
                format!("{at}.jsonPointers"),
                format!(
                    "Argo CD ignoreDifferences: {}",
                    self.json_pointers.join(", ")
                ),
            );
            rule.pointers.clone_from(&self.json_pointers);
            out.push(rule);
        }
        if !self.jq_path_expressions.is_empty() {
            let mut rule = base(
                format!("{at}.jqPathExpressions"),
                format!(
                    "Argo CD ignoreDifferences: {}",
                    self.jq_path_expressions.join(", ")
                ),
            );
            for (i, e) in self.jq_path_expressions.iter().enumerate() {
                match JqPaths::compile(e) {
                    Ok(jq) => rule.jq.push(jq),
                    Err(message) => problems.push(RuleProblem {
                        path: format!("{at}.jqPathExpressions[{i}]"),
                        position: None,
                        message,
                    }),
                }
            }
            out.push(rule);
        }
        if !self.managed_fields_managers.is_empty() {
            let mut rule = base(
                format!("{at}.managedFieldsManagers"),
                format!(
                    "Argo CD ignoreDifferences: fields owned by {}",
                    self.managed_fields_managers.join(", ")
                ),
            );
            rule.managers = crate::rules::globs_of(
                &self.managed_fields_managers,
                &format!("{at}.managedFieldsManagers"),
                problems,
            );
            out.push(rule);
        }
        if out.is_empty() {
            problems.push(RuleProblem {
                path: at.to_owned(),
                position: None,
                message: "the entry ignores nothing: give jsonPointers, jqPathExpressions or managedFieldsManagers".to_owned(),
            });
        }
        out
    }
}
