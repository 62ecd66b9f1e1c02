//! Argo CD `jqPathExpressions`: which paths of a document a jq expression selects.
//!
//! Argo CD deletes what the expression selects (`del(expr)`) from both documents before
//! comparing; the same meaning here is "a change at or under a selected path is ignored".
//! The expression runs as `[path(expr)]`, so it must be a path expression, as Argo CD's must.
//! Regular expressions (`test`), math and date functions are not available (jaq-std's optional
//! features are not taken): expressions using them are refused when loaded.

#[cfg(feature = "jq")]
mod imp {
    use std::sync::Arc;

    use jaq_core::load::{Arena, File, Loader};
    use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
    use jaq_json::Val;
    use serde_json::Value;

    type Filter = jaq_core::Filter<data::JustLut<Val>>;

    /// A compiled jq path expression.
    #[derive(Clone)]
    pub(crate) struct JqPaths {
        text: Arc<str>,
        filter: Arc<Filter>,
    }

    impl std::fmt::Debug for JqPaths {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_tuple("JqPaths").field(&self.text).finish()
        }
    }

    impl JqPaths {
        pub(crate) fn compile(expr: &str) -> Result<Self, String> {
            let code = format!("[path({expr})]");
            // jaq-core's definitions (`select`, `map`, `paths`, `del`, ...) and jaq-std's base
            // natives (`startswith`, `ascii_downcase`, ...). jaq-std's own definitions need its
            // math, regex, time and format features, which are not taken (they would add a
            // date library to the build), so an expression using them (`test`) is refused as
            // undefined when loaded.
            let defs = jaq_core::defs();
            let funs = jaq_core::funs()
                .chain(jaq_std::base_funs())
                .chain(jaq_json::funs());
            let loader = Loader::new(defs);
            let arena = Arena::default();
            let modules = loader
                .load(
                    &arena,
                    File {
                        code: &code,
                        path: (),
                    },
                )
                .map_err(|errs| {
                    let detail = errs
                        .first()
                        .map(|(_, e)| format!("{e:?}"))
                        .unwrap_or_default();
                    format!("invalid jq expression `{expr}`: {}", shorten(&detail))
                })?;
            let filter = Compiler::default()
                .with_funs(funs)
                .compile(modules)
                .map_err(|errs| {
                    let names: Vec<String> = errs
                        .iter()
                        .flat_map(|(_, es)| es.iter().map(|(name, _)| format!("`{name}`")))
                        .collect();
                    format!("jq expression `{expr}` uses undefined {}", names.join(", "))
                })?;
            Ok(Self {
                text: Arc::from(expr),
                filter: Arc::new(filter),
            })
        }

        /// JSON pointers of the paths the expression selects in `doc`. A runtime error (the
        /// expression does not fit this document, such as iterating a field it lacks) selects
        /// nothing in it, as in Argo CD.
        pub(crate) fn pointers(&self, doc: &Value) -> Vec<String> {
            let Ok(input) = jaq_json::read::parse_single(doc.to_string().as_bytes()) else {
                return Vec::new();
            };
            let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
            let mut out = Vec::new();
            for result in self.filter.id.run((ctx, input)).map(unwrap_valr) {
                let Ok(paths) = result else {
                    return Vec::new();
                };
                let Ok(Value::Array(paths)) = serde_json::from_str::<Value>(&paths.to_string())
                else {
                    continue;
                };
                for path in paths {
                    if let Value::Array(parts) = path {
                        out.push(pointer(&parts));
                    }
                }
            }
            out
        }
    }

    fn shorten(s: &str) -> String {
        let mut s = s.replace('\n', " ");
        if s.len() > 160 {
            let mut cut = 160;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push('…');
        }
        s
    }

    fn pointer(parts: &[Value]) -> String {
        let mut out = String::new();
        for p in parts {
            out.push('/');
            match p {
                Value::String(s) => out.push_str(&s.replace('~', "~0").replace('/', "~1")),
                other => out.push_str(&other.to_string()),
            }
        }
        out
    }
}

#[cfg(not(feature = "jq"))]
mod imp {
    use serde_json::Value;

    /// Without the `jq` feature no expression compiles, so none is ever held.
    #[derive(Debug, Clone)]
    pub(crate) enum JqPaths {}

    impl JqPaths {
        pub(crate) fn compile(expr: &str) -> Result<Self, String> {
            Err(format!(
                "jq expression `{expr}` needs fleet-drift's `jq` feature; refused rather than ignored"
            ))
        }

        pub(crate) fn pointers(&self, _doc: &Value) -> Vec<String> {
            match *self {}
        }
    }
}

pub(crate) use imp::JqPaths;

#[cfg(all(test, feature = "jq"))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn argo_cd_expressions_select_paths() {
        let doc = json!({"spec": {"template": {"spec": {"initContainers": [
            {"name": "a"}, {"name": "injected-init-container"}
        ]}}}});
        let jq = JqPaths::compile(
            r#".spec.template.spec.initContainers[] | select(.name == "injected-init-container")"#,
        )
        .unwrap();
        assert_eq!(jq.pointers(&doc), ["/spec/template/spec/initContainers/1"]);
        // Does not fit: selects nothing rather than failing.
        assert!(jq.pointers(&json!({"spec": {}})).is_empty());

        let hooks = JqPaths::compile(".webhooks[]?.clientConfig.caBundle").unwrap();
        let doc = json!({"webhooks": [{"clientConfig": {"caBundle": "x"}}, {"clientConfig": {}}]});
        assert_eq!(
            hooks.pointers(&doc),
            [
                "/webhooks/0/clientConfig/caBundle",
                "/webhooks/1/clientConfig/caBundle"
            ]
        );
    }

    #[test]
    fn bad_expressions_are_refused_with_their_text() {
        let err = JqPaths::compile(".spec[").unwrap_err();
        assert!(err.starts_with("invalid jq expression `.spec[`"), "{err}");
        let err = JqPaths::compile("nosuchfilter").unwrap_err();
        assert!(err.contains("undefined `nosuchfilter`"), "{err}");
    }
}
