//! Placeholders: `{name}` in launch arguments, build commands and artifact paths. One grammar,
//! checked when the matrix is read ([`names`]) and filled in when a build or a launch needs
//! the values ([`expand`]), so that what validation accepts is exactly what gets expanded.

/// The placeholders every launch argument may use, besides the axis names.
pub const LAUNCH: &[&str] = &["addr", "host", "port", "data_dir", "cell", "target"];
/// The placeholders a build command and artifact may use, besides the axis names.
pub const BUILD: &[&str] = &["triple", "target"];

/// One piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(format!(
                "unmatched `}}` in `{text}`: expected a placeholder like `{{port}}`"
            ));
        }
        let Some(close) = rest[open..].find('}') else {
            return Err(format!(
                "unclosed `{{` in `{text}`: expected a placeholder like `{{port}}`"
            ));
        };
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        out.push(Piece::Placeholder(&rest[open + 1..open + close]));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// The placeholder names in `text`, in order, or what is wrong with its braces.
pub fn names(text: &str) -> Result<Vec<&str>, String> {
    Ok(pieces(text)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Placeholder(name) => Some(name),
            Piece::Text(_) => None,
        })
        .collect())
}

/// `text` with every placeholder replaced by `value(name)`. A name without a value, or a
/// template that is not well formed (validation rejects both), is left as written.
pub fn expand(text: &str, value: &dyn Fn(&str) -> Option<String>) -> String {
    let Ok(pieces) = pieces(text) else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len());
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder(name) => match value(name) {
                Some(v) => out.push_str(&v),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_expansion_follow_one_grammar() {
        assert_eq!(names("--listen={addr}/{port}").unwrap(), ["addr", "port"]);
        assert!(names("{open").unwrap_err().starts_with("unclosed `{`"));
        assert!(names("close}").unwrap_err().starts_with("unmatched `}`"));
        let value = |n: &str| (n == "port").then(|| "80{x}".to_owned());
        assert_eq!(
            expand("a{port}b{other}c", &value),
            "a80{x}b{other}c",
            "values are inserted as they are, unknown names stay"
        );
    }
}
