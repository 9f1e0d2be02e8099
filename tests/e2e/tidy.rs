//! Tidy: checks of the tree itself. Every Rust source file starts with a `//!` line saying
//! what it is for; no test is ignored or expected to panic, in any spelling; the harness's
//! layers only point down; the harness never prints, and only the layers that own files write
//! them; every `toml` block of the README and the docs is a valid `matrix.toml`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// The harness's layers, from the bottom up. A module may use the modules before it in this
/// list and none after it; `run` orchestrates them all. This is the order ARCHITECTURE.md
/// draws.
const LAYERS: &[&str] = &[
    "diagnostic",
    "invocation",
    "units",
    "errors",
    "matrix",
    "plan",
    "events",
    "process",
    "normalize",
    "snapfile",
    "provision",
    "build",
    "runtime",
    "suite",
    "outcome",
    "verdict",
    "persist",
    "review",
    "render",
    "ci",
    "run",
    "init",
];

/// The layer of a harness source file: the first component of its path under `src/`.
fn layer_of(rel: &Path) -> Option<&str> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then_some(name)
}

/// The top-level modules a source text names through `crate::`, in `use` lines, groups
/// (`crate::{a, b::c}`) and inline paths.
fn crate_imports(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(group.len(), |(i, _)| i);
            let mut depth = 0;
            let mut item = String::new();
            for c in group[..end].chars().chain([',']) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        let name: String = item
                            .trim()
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if !name.is_empty() {
                            found.insert(name);
                        }
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// The imports of `text` that point up: modules of a later layer than `layer`.
fn upward(layer: &str, text: &str) -> Vec<String> {
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let Some(mine) = rank(layer) else {
        return vec![format!("`{layer}` is in no layer of the tidy test's list")];
    };
    crate_imports(text)
        .into_iter()
        .filter(|m| m != layer && rank(m).is_none_or(|r| r > mine))
        .collect()
}

/// The code of a file before its `#[cfg(test)]` module (what the library ships), without
/// its comment lines.
fn shipped(text: &str) -> String {
    let tests = regex::Regex::new(r"#\[cfg\((all\()?test\b").unwrap();
    let code = tests.find(text).map_or(text, |m| &text[..m.start()]);
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn harness_sources() -> Vec<(PathBuf, String)> {
    let src = root().join("harness/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(&src).unwrap().to_owned();
            (rel, std::fs::read_to_string(&f).unwrap())
        })
        .collect()
}

#[test]
fn every_source_file_says_what_it_is_for_and_nothing_is_ignored() {
    let mut files = Vec::new();
    rust_files(&root(), &mut files);
    assert!(files.len() > 10, "found only {} files", files.len());
    // Every spelling of the ignore and should-panic attributes: spaced, with a reason, or
    // behind `cfg_attr`. Built from parts so that this file does not match.
    let skip = regex::Regex::new(
        &[
            r"#\s*\[\s*(cfg_attr\s*\([^\]]*,\s*)?(",
            "ign",
            "ore|should",
            r"_panic)\b",
        ]
        .concat(),
    )
    .unwrap();
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let rel = file.strip_prefix(root()).unwrap().display().to_string();
        if !text.starts_with("//!") {
            problems.push(format!("{rel}: does not start with a `//!` line"));
        }
        if let Some(m) = skip.find(&text) {
            problems.push(format!(
                "{rel}: `{}` skips a test or hides its failure",
                m.as_str()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_ignore_check_catches_every_spelling() {
    let skip = regex::Regex::new(
        &[
            r"#\s*\[\s*(cfg_attr\s*\([^\]]*,\s*)?(",
            "ign",
            "ore|should",
            r"_panic)\b",
        ]
        .concat(),
    )
    .unwrap();
    let attr = |s: &str| format!("#{s}");
    for spelling in [
        attr("[ignore]"),
        attr(" [ignore]"),
        attr("[ ignore ]"),
        attr("[ignore = \"slow\"]"),
        attr("[cfg_attr(unix, ignore)]"),
        attr("[should_panic]"),
        attr("[should_panic(expected = \"x\")]"),
    ] {
        assert!(skip.is_match(&spelling), "{spelling} is not caught");
    }
    assert!(!skip.is_match(&attr("[test]")));
    assert!(!skip.is_match("let ignored = true;"));
}

#[test]
fn the_layers_point_down() {
    let mut problems = Vec::new();
    for (rel, text) in harness_sources() {
        let Some(layer) = layer_of(&rel) else {
            continue;
        };
        for up in upward(layer, &shipped(&text)) {
            problems.push(format!(
                "harness/src/{}: `{layer}` uses `{up}`, a layer above it",
                rel.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_layer_check_catches_an_upward_import() {
    // `plan` is below `run`: a planner that reaches for the orchestrator is refused, in a
    // `use` line, in a group and in an inline path alike.
    for text in [
        "use crate::run::RunOptions;",
        "use crate::{matrix::Matrix, run};",
        "fn f() { crate::run::run(); }",
        "use crate::{matrix::{Cell, Matrix}, verdict::Results};",
    ] {
        assert!(!upward("plan", text).is_empty(), "{text}");
    }
    assert!(
        upward(
            "plan",
            "use crate::matrix::{Cell, Matrix};\nuse crate::errors::Result;"
        )
        .is_empty()
    );
    assert!(upward("run", "use crate::{render, verdict::Results};").is_empty());
}

#[test]
fn the_harness_never_prints_and_only_owners_write_files() {
    // Files: persist writes snapshots and results (render writes its reports through it);
    // provision owns its cache; process owns the logs of children; run and runtime prepare
    // each job's scratch folder (data dir, staged executable).
    const WRITERS: &[&str] = &[
        "persist",
        "render",
        "provision",
        "process",
        "run",
        "runtime",
    ];
    let print = regex::Regex::new(r"\b(e?print(ln)?|dbg)!\s*\(|std::process::exit\b").unwrap();
    let write = regex::Regex::new(
        r"fs::(write|copy|rename|remove_file|remove_dir_all|create_dir_all)\b|File::create\b|OpenOptions\b|write_atomic\b",
    )
    .unwrap();
    let mut problems = Vec::new();
    for (rel, text) in harness_sources() {
        let code = &shipped(&text);
        let layer = layer_of(&rel).unwrap_or("lib");
        if let Some(m) = print.find(code) {
            problems.push(format!(
                "harness/src/{}: `{}`: the harness returns values, the CLI prints",
                rel.display(),
                m.as_str()
            ));
        }
        if !WRITERS.contains(&layer)
            && let Some(m) = write.find(code)
        {
            problems.push(format!(
                "harness/src/{}: `{}`: `{layer}` writes files, which is not its job",
                rel.display(),
                m.as_str()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_toml_block_in_the_docs_is_a_valid_matrix() {
    for doc in ["README.md", "docs/porting.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        let mut blocks = 0;
        let mut rest = text.as_str();
        while let Some(start) = rest.find("```toml\n") {
            let body = &rest[start + 8..];
            let end = body
                .find("```")
                .unwrap_or_else(|| panic!("an unclosed toml block in {doc}"));
            let line = text[..text.len() - rest.len() + start].lines().count() + 2;
            let name = format!("{doc} (block at line {line})");
            if let Err(e) =
                harness::matrix::parse(Path::new(&name), &body[..end], harness::runtime::kinds())
            {
                panic!("{e}");
            }
            blocks += 1;
            rest = &body[end..];
        }
        assert!(blocks >= 1, "{doc} has no toml example");
    }
}

/// The files of the harness, outside the runtimes' modules (`runtime/`) and the matrix's
/// vocabulary for what they need (`matrix/runtime.rs`), that match on a runtime kind or an
/// execution kind: none. Provisioning, CI, the result cache and the reports ask a runtime's
/// settings (`requirements()`) or its launcher (`Runtime::describe`).
const NAMING_RUNTIME_KINDS: &[&str] = &[];

/// Each runtime kind's module, and what names that kind: its kind, its settings, its
/// launchers. Only its module, and the registry's `pub use` and `KINDS` lines in
/// `runtime/mod.rs`, may name them: a runtime is one module and one registration.
const KIND_MODULES: &[(&str, &str)] = &[
    (
        "runtime/host.rs",
        r"\b(HostKind|host::Host)\b|settings::<Host>",
    ),
    (
        "runtime/windows",
        r"\b(WindowsKind|WindowsMode|WineRuntime|windows::Windows)\b|settings::<Windows>",
    ),
    (
        "runtime/container.rs",
        r"\b(ContainerKind|ContainerRuntime|container::Container)\b|settings::<Container>",
    ),
    (
        "runtime/pod",
        r"\b(PodKind|PodRuntime|ClusterRuntime|pod::Pod)\b|settings::<Pod>",
    ),
];

#[test]
fn the_files_that_match_on_a_runtime_kind_are_the_known_ones() {
    let kind = regex::Regex::new(
        r"\b(Runtime|RuntimeConfig|RuntimeKind|ExecutionKind)::(Host|Windows|Container|Pod|Native|Emulated)\b",
    )
    .unwrap();
    let sources = harness_sources();
    let naming: Vec<String> = sources
        .iter()
        .filter(|(rel, _)| !rel.starts_with("runtime") && !rel.ends_with("matrix/runtime.rs"))
        .filter(|(_, text)| kind.is_match(&shipped(text)))
        .map(|(rel, _)| rel.to_string_lossy().replace('\\', "/"))
        .collect();
    assert_eq!(
        naming, NAMING_RUNTIME_KINDS,
        "the files outside runtime/ that name a runtime kind changed: a new one should ask \
         its runtime instead; one that no longer does comes off the list"
    );
    let registration = regex::Regex::new(r"(?m)^pub (use |static KINDS\b)[^;]*;").unwrap();
    let mut outside = Vec::new();
    for (module, names) in KIND_MODULES {
        let names = regex::Regex::new(names).unwrap();
        for (rel, text) in &sources {
            let rel = rel.to_string_lossy().replace('\\', "/");
            if rel.starts_with(module) {
                continue;
            }
            let mut code = shipped(text);
            if rel == "runtime/mod.rs" {
                code = registration.replace_all(&code, "").into_owned();
            }
            if let Some(found) = names.find(&code) {
                outside.push(format!("{rel} names `{}` of {module}", found.as_str()));
            }
        }
    }
    assert_eq!(
        outside,
        Vec::<String>::new(),
        "a runtime kind is named outside its module and its registration: ask its settings \
         (`requirements()`) or its launcher instead"
    );
    // The check sees a kind named elsewhere.
    let windows = regex::Regex::new(KIND_MODULES[1].1).unwrap();
    assert!(windows.is_match("let w = config.settings::<Windows>();"));
    assert!(!windows.is_match("Runner::Windows(version)"));
}
