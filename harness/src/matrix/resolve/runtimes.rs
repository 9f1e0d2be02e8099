//! Where a target's server runs: its `runtime`, one of the registered kinds, and the keys
//! of that kind, which the kind reads. A key the kind leaves is checked against the kind
//! written: another kind's key is a located error naming the kinds it is for, and a key of
//! none is an unknown field, so that a kind with a mistake of its own gets no follow-on
//! error.

use super::Cx;
use crate::matrix::model::*;
use crate::matrix::raw::*;

impl Cx<'_> {
    /// The runtime of target `t`, with its settings.
    pub(super) fn runtime(&mut self, t: &RawTarget) -> Runtime {
        let written = t.runtime.get_ref().as_str();
        let kinds = self.kinds;
        let found = kinds.iter().find_map(|k| {
            if k.name() == written {
                Some((*k, None))
            } else {
                k.aliases()
                    .iter()
                    .find(|a| a.name == written)
                    .map(|a| (*k, Some(a)))
            }
        });
        let Some((kind, alias)) = found else {
            let names = kinds
                .iter()
                .flat_map(|k| std::iter::once(k.name()).chain(k.aliases().iter().map(|a| a.name)));
            self.error(
                t.runtime.span(),
                format!(
                    "unknown runtime `{written}`: expected one of {}",
                    super::quoted_list(names)
                ),
            );
            return Runtime::unreadable();
        };
        if let Some(alias) = alias {
            self.warning(t.runtime.span(), alias.warning);
        }
        let mut keys = TargetKeys::new(t.name.get_ref(), t.runtime.span(), t.settings.clone());
        let runtime = kind.settings(&mut keys);
        for (key, span) in keys.left() {
            let owners: Vec<&str> = kinds
                .iter()
                .filter(|k| k.keys().iter().any(|own| own.name == key.get_ref()))
                .map(|k| k.name())
                .collect();
            if owners.is_empty() {
                // In the order a target is written: its name, triple and runtime, the
                // kinds' keys, then its environment and build.
                let every = TARGET_KEYS[..3]
                    .iter()
                    .copied()
                    .chain(every_key(kinds))
                    .chain(TARGET_KEYS[3..].iter().copied());
                self.error(
                    key.span(),
                    format!(
                        "unknown field `{}`, expected one of {}",
                        key.get_ref(),
                        super::quoted_list(every)
                    ),
                );
            } else {
                self.error(
                    span,
                    format!(
                        "`{}` is only for {}, and target `{}` uses `{}`",
                        key.get_ref(),
                        the_runtimes(&owners),
                        t.name.get_ref(),
                        kind.name()
                    ),
                );
            }
        }
        for (span, message) in std::mem::take(&mut keys.errors) {
            self.error(span, message);
        }
        for (span, message) in std::mem::take(&mut keys.warnings) {
            self.warning(span, message);
        }
        runtime
    }
}

/// Every kind's keys, each once, in the kinds' order.
fn every_key(kinds: Kinds) -> impl Iterator<Item = &'static str> {
    let mut seen = std::collections::BTreeSet::new();
    kinds
        .iter()
        .flat_map(|k| k.keys().iter().map(|key| key.name))
        .filter(move |name| seen.insert(*name))
}

/// "the `pod` runtime", "the `container` and `pod` runtimes".
fn the_runtimes(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [one] => format!("the {one} runtime"),
        [rest @ .., last] => format!("the {} and {last} runtimes", rest.join(", ")),
        [] => "no runtime".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::matrix::{
        Key, Kinds, Requirements, Runner, Runtime, RuntimeKeys, RuntimeSettings, TargetKeys, parse,
        schema_of,
    };

    /// A kind the matrix has never heard of, with a key of its own.
    struct Ssh;

    #[derive(Debug, PartialEq)]
    struct Remote {
        address: String,
    }

    impl RuntimeSettings for Remote {
        fn kind(&self) -> &'static str {
            "ssh"
        }
        fn requirements(&self) -> Requirements {
            Requirements {
                runner: Runner::Linux,
                ..Requirements::default()
            }
        }
    }

    impl RuntimeKeys for Ssh {
        fn name(&self) -> &'static str {
            "ssh"
        }
        fn doc(&self) -> &'static str {
            "A remote machine."
        }
        fn keys(&self) -> &'static [Key] {
            &[Key {
                name: "address",
                doc: "Where it is.",
                schema: schema_of::<Option<String>>,
            }]
        }
        fn settings(&self, keys: &mut TargetKeys) -> Runtime {
            let address = keys.take::<String>("address");
            if address.is_none() {
                keys.error(keys.runtime_span(), "an ssh target needs an `address`");
            }
            Runtime::new(Remote {
                address: address.map(|a| a.into_inner()).unwrap_or_default(),
            })
        }
    }

    /// A kind without keys.
    struct Local;

    #[derive(Debug, PartialEq)]
    struct Here;

    impl RuntimeSettings for Here {
        fn kind(&self) -> &'static str {
            "local"
        }
        fn requirements(&self) -> Requirements {
            Requirements::default()
        }
    }

    impl RuntimeKeys for Local {
        fn name(&self) -> &'static str {
            "local"
        }
        fn doc(&self) -> &'static str {
            "Here."
        }
        fn keys(&self) -> &'static [Key] {
            &[]
        }
        fn settings(&self, _: &mut TargetKeys) -> Runtime {
            Runtime::new(Here)
        }
    }

    static KINDS: Kinds = &[&Local, &Ssh];

    fn matrix(targets: &str) -> String {
        format!(
            "primary = \"box\"\n[server]\npackage = \"srv\"\n[server.ready]\ntcp = true\n{targets}"
        )
    }

    #[test]
    fn a_kind_registered_by_its_caller_reads_its_own_keys_and_is_named_in_the_errors() {
        let text = matrix(
            "[[target]]\nname = \"box\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"ssh\"\naddress = \"10.0.0.2\"\n",
        );
        let m = parse(Path::new("m.toml"), &text, KINDS).unwrap();
        let runtime = &m.target("box").unwrap().runtime;
        assert_eq!(runtime.kind(), "ssh");
        assert_eq!(
            runtime.settings::<Remote>(),
            Some(&Remote {
                address: "10.0.0.2".into()
            })
        );
        assert_eq!(runtime.requirements().runner, Runner::Linux);

        let text = matrix(
            "[[target]]\nname = \"box\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"local\"\naddress = \"10.0.0.2\"\nport = 22\n\n[[target]]\nname = \"pc\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"windows\"\n\n[[target]]\nname = \"far\"\ntriple = \"x86_64-unknown-linux-gnu\"\nruntime = \"ssh\"\naddress = 7\n",
        );
        let err = parse(Path::new("m.toml"), &text, KINDS)
            .unwrap_err()
            .to_string();
        for expected in [
            "m.toml:10:11: `address` is only for the `ssh` runtime, and target `box` uses `local`",
            "m.toml:11:1: unknown field `port`, expected one of `name`, `triple`, `runtime`, `address`, `env`, `build`",
            "m.toml:16:11: unknown runtime `windows`: expected one of `local`, `ssh`",
            "m.toml:22:11: invalid type: integer `7`, expected a string",
        ] {
            assert!(err.contains(expected), "{expected}\n---\n{err}");
        }

        let schema: serde_json::Value =
            serde_json::from_str(&crate::matrix::json_schema(KINDS)).unwrap();
        let kinds: Vec<&str> = schema["$defs"]["RuntimeKind"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["const"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["local", "ssh"]);
        assert_eq!(
            schema["$defs"]["RawTarget"]["properties"]["address"]["description"],
            "Where it is."
        );
        assert!(schema["$defs"]["RawTarget"]["properties"]["image"].is_null());
    }
}
