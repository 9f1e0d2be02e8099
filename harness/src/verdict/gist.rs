//! A difference in one line, read before its diff: what changed in an answer's status and
//! headers, and how its body changed in size and lines (`status 404 -> 200; content-type
//! application/json -> application/octet-stream; body 95 B -> 1 B, 7 lines removed, 1
//! added`). Pure, from the two snapshot texts.

use std::fmt::Write;

/// The gist of how `new` differs from `old`; empty when they are the same.
pub fn gist(old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let (old_head, old_body) = split(old);
    let (new_head, new_body) = split(new);
    let mut parts: Vec<String> = Vec::new();
    // Status and headers, in the order the old answer had them, then those that are new.
    for (name, before) in &old_head {
        match new_head.iter().find(|(n, _)| n == name) {
            Some((_, after)) if after != before => {
                parts.push(format!("{name} {} -> {}", short(before), short(after)));
            }
            Some(_) => {}
            None => parts.push(format!("{name} removed")),
        }
    }
    for (name, after) in &new_head {
        if !old_head.iter().any(|(n, _)| n == name) {
            parts.push(format!("{name} added ({})", short(after)));
        }
    }
    if old_body != new_body {
        let (mut removed, mut added) = (0usize, 0usize);
        // The one line that changed, when only one did: (its number, before, after).
        let mut one: (usize, &str, &str) = (0, "", "");
        for change in similar::TextDiff::from_lines(old_body, new_body).iter_all_changes() {
            match change.tag() {
                similar::ChangeTag::Delete => {
                    removed += 1;
                    one.0 = change.old_index().unwrap_or_default() + 1;
                    one.1 = change.value();
                }
                similar::ChangeTag::Insert => {
                    added += 1;
                    one.2 = change.value();
                }
                similar::ChangeTag::Equal => {}
            }
        }
        if removed == 1 && added == 1 {
            let at = if old_head.is_empty() {
                "line"
            } else {
                "body line"
            };
            parts.push(format!(
                "{at} {}: {} -> {}",
                one.0,
                short(one.1.trim_end_matches(['\n', '\r'])),
                short(one.2.trim_end_matches(['\n', '\r']))
            ));
            return parts.join("; ");
        }
        let what = if old_head.is_empty() && new_head.is_empty() {
            "text"
        } else {
            "body"
        };
        let mut body = if old_body.len() == new_body.len() {
            format!("{what} {} (same size)", size(old_body.len()))
        } else {
            format!(
                "{what} {} -> {}",
                size(old_body.len()),
                size(new_body.len())
            )
        };
        let lines =
            |n: usize, word: &str| format!("{n} {} {word}", if n == 1 { "line" } else { "lines" });
        match (removed, added) {
            (0, 0) => {}
            (r, 0) => {
                let _ = write!(body, ", {}", lines(r, "removed"));
            }
            (0, a) => {
                let _ = write!(body, ", {}", lines(a, "added"));
            }
            (r, a) => {
                let _ = write!(body, ", {}, {a} added", lines(r, "removed"));
            }
        }
        parts.push(body);
    }
    if parts.is_empty() {
        // Same fields, same body: only the layout differs (line endings, a trailing newline).
        parts.push("whitespace or line endings only".to_owned());
    }
    parts.join("; ")
}

/// An HTTP snapshot's status and headers as (name, value), and its body; any other text is
/// all body.
fn split(text: &str) -> (Vec<(&str, &str)>, &str) {
    if !text.starts_with("status: ") {
        return (Vec::new(), text);
    }
    let (head, body) = match text.find("\n\n") {
        Some(at) => (&text[..at], &text[at + 2..]),
        None => (text, ""),
    };
    let fields = head
        .lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name, value.trim_end_matches('\r')))
        .collect();
    (fields, body)
}

/// A header value, cut to a readable length.
fn short(value: &str) -> String {
    const MAX: usize = 60;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let cut: String = value.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// A size in bytes, KiB or MiB.
fn size(bytes: usize) -> String {
    match bytes {
        b if b < 10 * 1024 => format!("{b} B"),
        b if b < 10 * 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::gist;

    #[test]
    fn an_answer_says_status_headers_and_body_in_one_line() {
        let old = "status: 404\ncontent-type: application/json\n\n{\n  \"error\": \"nope\"\n}\n";
        let new = "status: 200\ncontent-type: application/octet-stream\netag: \"1\"\n\nw\n";
        assert_eq!(
            gist(old, new),
            "status 404 -> 200; content-type application/json -> application/octet-stream; \
             etag added (\"1\"); body 22 B -> 2 B, 3 lines removed, 1 added"
        );
    }

    #[test]
    fn text_that_is_not_an_answer_is_counted_in_lines() {
        assert_eq!(
            gist("a\nb\n", "a\nc\nd\n"),
            "text 4 B -> 6 B, 1 line removed, 2 added"
        );
        assert_eq!(gist("a\nb\n", "a\nc\n"), "line 2: b -> c");
        assert_eq!(
            gist("x\ny\n", "z\nw\n"),
            "text 4 B (same size), 2 lines removed, 2 added"
        );
        assert_eq!(gist("same", "same"), "");
    }

    #[test]
    fn a_header_removed_and_a_long_value_are_short() {
        let long = "x".repeat(100);
        let old = format!("status: 200\nserver: {long}\nx-old: 1\n\nbody");
        let new = "status: 200\nserver: y\n\nbody";
        assert_eq!(
            gist(&old, new),
            format!("server {}… -> y; x-old removed", "x".repeat(60))
        );
    }
}
