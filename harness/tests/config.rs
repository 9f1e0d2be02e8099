//! Malformed matrix files: every file in `malformed/` must be rejected, and its diagnostics
//! (message, line and column, the offending line) are snapshotted.

use std::path::Path;

#[test]
fn malformed_matrix_files_are_rejected_with_located_messages() {
    let mut count = 0;
    insta::glob!("malformed/*.toml", |path| {
        count += 1;
        let text = std::fs::read_to_string(path).unwrap();
        let name = Path::new("malformed").join(path.file_name().unwrap());
        let err = harness::matrix::parse(&name, &text, harness::runtime::kinds())
            .expect_err("a malformed matrix must be rejected");
        assert_eq!(err.exit_code(), 2, "config errors exit with 2");
        let harness::Error::Config(diagnostics) = &err else {
            panic!("expected a config error, got {err:?}");
        };
        assert!(!diagnostics.is_empty());
        for d in diagnostics {
            assert!(d.line >= 1 && d.column >= 1);
            assert!(
                !d.message.ends_with('.'),
                "messages end without a period: {}",
                d.message
            );
        }
        insta::assert_snapshot!(err.to_string());
    });
    assert!(
        count >= 30,
        "expected at least 30 malformed files, found {count}"
    );
}

#[test]
fn the_repository_matrix_is_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let matrix =
        harness::Matrix::load(&root.join("matrix.toml"), harness::runtime::kinds()).unwrap();
    let names: Vec<&str> = matrix.cells.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["windows", "windows-2025", "debian"]);
    assert_eq!(matrix.primary, "debian");
    assert_eq!(
        matrix.target("windows").unwrap().triple,
        "x86_64-pc-windows-gnu"
    );
    let versions: Vec<_> = ["windows", "windows-2025"]
        .iter()
        .map(|t| {
            let runtime = &matrix.target(t).unwrap().runtime;
            match runtime.settings::<harness::runtime::Windows>() {
                Some(w) => (w.mode, w.version.map(|v| v.title())),
                None => panic!("{t} runs {runtime:?}"),
            }
        })
        .collect();
    assert_eq!(
        versions,
        [
            (
                harness::runtime::WindowsMode::Auto,
                Some("Windows Server 2022")
            ),
            (
                harness::runtime::WindowsMode::Auto,
                Some("Windows Server 2025")
            )
        ]
    );
    assert!(matrix.warnings.is_empty(), "{:?}", matrix.warnings);
}

#[test]
fn the_old_spelling_wine_is_the_windows_runtime_with_a_located_warning() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed/13-image-on-wine.toml"),
    )
    .unwrap()
    .replace(
        "image = \"debian:bookworm-slim\"\n\n[[suite]]",
        "\n[[suite]]",
    );
    let matrix =
        harness::matrix::parse(Path::new("old.toml"), &text, harness::runtime::kinds()).unwrap();
    assert_eq!(
        matrix.target("windows").unwrap().runtime,
        harness::matrix::Runtime::new(harness::runtime::Windows::default()),
        "`wine` reads as `windows` with `mode = \"auto\"`"
    );
    let [warning] = matrix.warnings.as_slice() else {
        panic!("one warning expected: {:?}", matrix.warnings);
    };
    assert_eq!((warning.line, warning.column), (18, 11));
    assert!(
        warning
            .message
            .starts_with("`runtime = \"wine\"` is the old spelling of `runtime = \"windows\"`"),
        "{}",
        warning.message
    );
}

#[test]
fn committed_json_schema_is_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let path = root.join("matrix.schema.json");
    let fresh = harness::matrix::json_schema(harness::runtime::kinds());
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        if std::env::var_os("CI").is_none() {
            std::fs::write(&path, &fresh).unwrap();
        }
        panic!(
            "matrix.schema.json is stale: regenerate it with `cargo xtask schema --out matrix.schema.json`{}",
            if std::env::var_os("CI").is_none() {
                " (rewritten now; commit it)"
            } else {
                ""
            }
        );
    }
}

#[test]
fn a_divergence_may_name_a_target_for_all_its_cells() {
    let text = r#"
primary = "linux-debug"
[server]
package = "srv"
[server.ready]
tcp = true
[[target]]
name = "linux"
triple = "x86_64-unknown-linux-gnu"
runtime = "host"
[[target]]
name = "windows"
triple = "x86_64-pc-windows-gnu"
runtime = "wine"
[[axis]]
name = "profile"
values = ["debug", "release"]
[[suite]]
name = "tasks"
kind = "http"
path = "suites/tasks"
scope = "per-target"
[[divergence]]
suite = "tasks"
case = "echo"
cells = ["windows", "linux"]
reason = "CRLF"
"#;
    let m =
        harness::matrix::parse(Path::new("matrix.toml"), text, harness::runtime::kinds()).unwrap();
    assert_eq!(
        m.divergences[0].cells,
        ["windows-debug", "windows-release", "linux-release"],
        "a target stands for its cells, the primary aside"
    );
}
