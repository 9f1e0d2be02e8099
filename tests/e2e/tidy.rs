//! Tidy: checks of the tree itself. Every Rust source file starts with a `//!` line saying
//! what it is for, no test is ignored, and every `toml` block of the README is a valid
//! `matrix.toml`.

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

#[test]
fn every_source_file_says_what_it_is_for_and_nothing_is_ignored() {
    let mut files = Vec::new();
    rust_files(&root(), &mut files);
    assert!(files.len() > 10, "found only {} files", files.len());
    let ignore = ["#[", "ignore", "]"].concat();
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let rel = file.strip_prefix(root()).unwrap().display().to_string();
        if !text.starts_with("//!") {
            problems.push(format!("{rel}: does not start with a `//!` line"));
        }
        if text.contains(&ignore) {
            problems.push(format!("{rel}: ignores a test"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_toml_block_in_the_readme_is_a_valid_matrix() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut blocks = 0;
    let mut rest = readme.as_str();
    while let Some(start) = rest.find("```toml\n") {
        let body = &rest[start + 8..];
        let end = body
            .find("```")
            .expect("an unclosed toml block in README.md");
        let line = readme[..readme.len() - rest.len() + start].lines().count() + 2;
        let name = format!("README.md (block at line {line})");
        if let Err(e) = harness::matrix::parse(Path::new(&name), &body[..end]) {
            panic!("{e}");
        }
        blocks += 1;
        rest = &body[end..];
    }
    assert!(blocks >= 1, "the README has no toml example");
}
