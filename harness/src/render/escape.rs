//! Escaping for the places server text lands in, beyond HTML (maud escapes) and XML
//! (quick-junit escapes, and drops what XML 1.0 cannot hold): the terminal, where control
//! characters would be commands (ANSI colours, OSC titles and links, a cursor that rewrites
//! earlier lines), and Markdown, where a fence or a `|` in server text would end a code block
//! or a table cell and let the server write the report.

/// `text` for a terminal: every control character but newline and tab, and the Unicode
/// controls that reorder text, shown as a visible `\u{..}` escape.
pub fn terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if (c.is_control() && c != '\n' && c != '\t') || bidi {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` in a Markdown code block whose fence is longer than any run of backticks in it, so
/// nothing in the text can close the block.
pub fn fenced(info: &str, text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let text = terminal(text);
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{info}\n{text}{newline}{fence}")
}

/// `text` as a Markdown code span: its delimiters are longer than any run of backticks in
/// it, and line breaks become spaces, so it stays one span (in a table cell too: a `|` in a
/// span is escaped, as GitHub's tables need).
pub fn fenced_inline(text: &str) -> String {
    let text = terminal(text)
        .replace(['\n', '\r'], " ")
        .replace('|', "\\|");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// `text` as one Markdown table cell or inline phrase: pipes, backslashes, line breaks and
/// the characters that start markup are escaped.
pub fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in terminal(text).chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(
            terminal("red \u{1b}[31mX\u{1b}]0;title\u{7} \u{202e}evil\tok\n"),
            "red \\u{1b}[31mX\\u{1b}]0;title\\u{7} \\u{202e}evil\tok\n"
        );
    }

    #[test]
    fn a_fence_outlasts_every_backtick_run() {
        assert_eq!(
            fenced("diff", "a\n```\n# forged\n"),
            "````diff\na\n```\n# forged\n````"
        );
        assert_eq!(fenced("", "plain"), "```\nplain\n```");
    }

    #[test]
    fn inline_text_cannot_break_a_table_or_start_markup() {
        assert_eq!(inline("a|b\n# c <x>"), "a\\|b \\# c \\<x\\>");
    }
}
