//! `matrix.toml`: read in two phases, a serde mirror with spans ([`raw`]) and a validated
//! model ([`model`]), so that every problem is reported with its file, line and column.

pub mod edit;
pub mod model;
pub mod placeholders;
pub mod raw;
mod resolve;
pub mod runtime;

use std::path::Path;

pub use crate::diagnostic::Diagnostic;
pub use model::*;
pub use resolve::parse;
pub use resolve::quoted_list;

use crate::errors::{Error, Result};

/// The SHA-256 of `bytes`, in lowercase hex.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

impl Matrix {
    /// The SHA-256 of the matrix file's text.
    pub fn sha256(&self) -> String {
        sha256(self.text.as_bytes())
    }

    /// Reads and validates a matrix file whose targets name runtimes of `kinds`. Its
    /// folder, the root its relative paths start from, is made absolute, so that they hold
    /// wherever a process runs.
    pub fn load(path: &Path, kinds: Kinds) -> Result<Matrix> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadConfig {
            path: path.to_owned(),
            source,
        })?;
        let mut matrix = parse(path, &text, kinds)?;
        if let Ok(root) = std::path::absolute(&matrix.root) {
            let relative = matrix.root.clone();
            let rebase = |p: &mut std::path::PathBuf| {
                if let Ok(rest) = p.strip_prefix(&relative) {
                    *p = root.join(rest);
                }
            };
            rebase(&mut matrix.snapshot_dir);
            if let Some((seed, _)) = &mut matrix.server.seed {
                rebase(seed);
            }
            for suite in &mut matrix.suites {
                match &mut suite.spec {
                    SuiteSpec::Http(h) => rebase(&mut h.path),
                    SuiteSpec::Command(c) => rebase(&mut c.dir),
                }
            }
            matrix.root = root;
        }
        Ok(matrix)
    }
}

/// The JSON schema of `matrix.toml`, pretty-printed, as committed in `matrix.schema.json`:
/// every target's keys from the raw mirror, a target's `runtime` one of `kinds`, and each
/// kind's own keys as it describes them.
pub fn json_schema(kinds: Kinds) -> String {
    use serde_json::{Value, json};
    let mut generator = schemars::SchemaGenerator::default();
    let mut keys = serde_json::Map::new();
    for kind in kinds {
        for key in kind.keys() {
            if keys.contains_key(key.name) {
                continue;
            }
            let mut schema = serde_json::to_value((key.schema)(&mut generator))
                .expect("a schema always serializes");
            if let Value::Object(map) = &mut schema {
                map.insert("description".into(), json!(key.doc));
            }
            keys.insert(key.name.to_owned(), schema);
        }
    }
    let names: Vec<Value> = kinds
        .iter()
        .flat_map(|k| {
            std::iter::once((k.name(), k.doc())).chain(k.aliases().iter().map(|a| (a.name, a.doc)))
        })
        .map(|(name, doc)| json!({"description": doc, "type": "string", "const": name}))
        .collect();
    let mut schema = serde_json::to_value(generator.into_root_schema_for::<raw::RawMatrix>())
        .expect("a schema always serializes");
    let defs = &mut schema["$defs"];
    defs["RuntimeKind"] = json!({
        "description": "The runtime a target's server runs in.",
        "oneOf": names,
    });
    let target = &mut defs["RawTarget"]["properties"];
    target["runtime"] =
        json!({"description": "Where the server runs.", "$ref": "#/$defs/RuntimeKind"});
    if let Value::Object(properties) = target {
        properties.extend(keys);
    }
    // As a schema again, which writes its keywords in their usual order.
    let schema = schemars::Schema::try_from(schema).expect("an object stays a schema");
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serializes");
    text.push('\n');
    text
}
