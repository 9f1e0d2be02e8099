//! Diagnostics: a problem in a file the user wrote (`matrix.toml`, a suite's case file),
//! located to the line and column from a byte span, and rendered with the offending line
//! under it.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a configuration file, located to the character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the user named it.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong and what was expected, lowercase, no trailing period.
    pub message: String,
    /// The text of the offending line.
    pub source_line: String,
    /// How many characters of the line to underline (at least one).
    pub width: usize,
}

impl Diagnostic {
    /// Locates `span` of `text` (the contents of `path`) and attaches `message`.
    pub fn new(path: &Path, text: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = span.start.min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        let source_line = text[line_start..line_end].trim_end_matches('\r').to_owned();
        let end = span.end.clamp(start, line_end);
        let width = text[start..end].chars().count().max(1);
        Diagnostic {
            path: path.to_owned(),
            line,
            column,
            message: message.into(),
            source_line,
            width,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gutter = self.line.to_string().len();
        writeln!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )?;
        writeln!(f, "{:gutter$} |", "")?;
        writeln!(f, "{} | {}", self.line, self.source_line)?;
        write!(
            f,
            "{:gutter$} | {}{}",
            "",
            " ".repeat(self.column - 1),
            "^".repeat(self.width)
        )
    }
}

/// Renders several diagnostics, separated by blank lines.
pub fn render_all(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_line_and_column_in_characters() {
        let text = "a = 1\nname = \"é\" x\n";
        let at = text.find('x').unwrap();
        let d = Diagnostic::new(Path::new("m.toml"), text, at..at + 1, "unexpected x");
        assert_eq!((d.line, d.column), (2, 12));
        assert_eq!(
            d.to_string(),
            "m.toml:2:12: unexpected x\n  |\n2 | name = \"é\" x\n  |            ^"
        );
    }

    #[test]
    fn span_at_end_of_file_points_past_last_character() {
        let text = "a = ";
        let d = Diagnostic::new(Path::new("m.toml"), text, 4..4, "expected a value");
        assert_eq!((d.line, d.column, d.width), (1, 5, 1));
    }
}
