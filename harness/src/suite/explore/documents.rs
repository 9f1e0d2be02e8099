//! What a server's documents say of it, for `--explore`: the `GET` paths and the multipart
//! upload forms of an OpenAPI document, the forms of an HTML page, the requests of a HAR
//! recording.

use super::Form;

/// The paths of an OpenAPI document's `GET` operations that take no path parameter, under
/// the path of its first server's URL. JSON or YAML.
pub fn openapi_paths(text: &str) -> std::result::Result<Vec<String>, String> {
    let (doc, prefix) = openapi(text)?;
    Ok(doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(path, item)| !path.contains('{') && item.get("get").is_some())
        .map(|(path, _)| format!("{prefix}{path}"))
        .collect())
}

/// The forms an OpenAPI document takes uploads by: each `POST` (with no path parameter)
/// whose request body is `multipart/form-data`, with the property that is a file (`format:
/// binary`), or its first property, or `file`.
pub fn openapi_forms(text: &str) -> std::result::Result<Vec<Form>, String> {
    let (doc, prefix) = openapi(text)?;
    let mut forms = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        let Some(content) = item.pointer("/post/requestBody/content/multipart~1form-data") else {
            continue;
        };
        if path.contains('{') {
            continue;
        }
        let properties = content
            .pointer("/schema/properties")
            .and_then(|p| p.as_object());
        let field = properties
            .and_then(|p| {
                p.iter()
                    .find(|(_, v)| v["format"] == "binary")
                    .or_else(|| p.iter().next())
            })
            .map_or("file".to_owned(), |(name, _)| name.clone());
        forms.push(Form {
            action: format!("{prefix}{path}"),
            field,
        });
    }
    Ok(forms)
}

/// An OpenAPI document, and the path of its first server's URL (without a trailing `/`).
fn openapi(text: &str) -> std::result::Result<(serde_json::Value, String), String> {
    let doc: serde_json::Value = serde_yaml_ng::from_str(text)
        .map_err(|e| format!("not an OpenAPI document (JSON or YAML): {e}"))?;
    if !doc.get("paths").is_some_and(|p| p.is_object()) {
        return Err("no `paths` object: expected an OpenAPI document".to_owned());
    }
    let prefix = doc
        .pointer("/servers/0/url")
        .and_then(|u| u.as_str())
        .map(|u| path_of(u).trim_end_matches('/').to_owned())
        .unwrap_or_default();
    Ok((doc, prefix))
}

/// The multipart upload forms of an HTML page served at `page`: each `<form>` that posts
/// `multipart/form-data` and has an `<input type="file">`, its action resolved against
/// `page` (no action: the page itself). Forms that post elsewhere than this server are left
/// out.
pub fn html_forms(page: &str, html: &str) -> Vec<Form> {
    let Ok(dom) = tl::parse(html, tl::ParserOptions::default()) else {
        return Vec::new();
    };
    let parser = dom.parser();
    let attribute = |tag: &tl::HTMLTag, name: &str| -> Option<String> {
        Some(tag.attributes().get(name)??.as_utf8_str().trim().to_owned())
    };
    let mut forms = Vec::new();
    for handle in dom.query_selector("form").into_iter().flatten() {
        let Some(form) = handle.get(parser).and_then(|n| n.as_tag()) else {
            continue;
        };
        let posts = attribute(form, "method").is_some_and(|m| m.eq_ignore_ascii_case("post"));
        let multipart = attribute(form, "enctype")
            .is_some_and(|e| e.eq_ignore_ascii_case("multipart/form-data"));
        if !posts || !multipart {
            continue;
        }
        let field = form
            .query_selector(parser, "input")
            .into_iter()
            .flatten()
            .filter_map(|h| h.get(parser)?.as_tag())
            .filter(|input| {
                attribute(input, "type").is_some_and(|t| t.eq_ignore_ascii_case("file"))
            })
            .find_map(|input| attribute(input, "name"));
        let Some(field) = field else {
            continue;
        };
        let action = attribute(form, "action").unwrap_or_default();
        let action = if action.is_empty() {
            page.to_owned()
        } else if action.contains("://") || action.starts_with("//") {
            continue;
        } else if action.starts_with('/') {
            action
        } else {
            let folder = page.rsplit_once('/').map_or("", |(f, _)| f);
            format!("{folder}/{action}")
        };
        forms.push(Form { action, field });
    }
    forms
}

/// The paths of a HAR recording's `GET` requests, with their query strings.
pub fn har_paths(text: &str) -> std::result::Result<Vec<String>, String> {
    let har: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not a HAR recording (JSON): {e}"))?;
    let Some(entries) = har.pointer("/log/entries").and_then(|e| e.as_array()) else {
        return Err("no `log.entries` list: expected a HAR recording".to_owned());
    };
    Ok(entries
        .iter()
        .filter(|e| e.pointer("/request/method").and_then(|m| m.as_str()) == Some("GET"))
        .filter_map(|e| e.pointer("/request/url")?.as_str())
        .map(|url| {
            let path = path_of(url);
            path.split('#').next().unwrap_or(path).to_owned()
        })
        .collect())
}

/// The path of a URL (`http://host:80/a/b` -> `/a/b`), or the text itself when it is one.
fn path_of(url: &str) -> &str {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_openapi_document_and_a_har_recording_give_their_get_paths() {
        let openapi = "openapi: 3.0.0\nservers:\n  - url: https://example.test/api\npaths:\n  /health:\n    get: {}\n  /items/{id}:\n    get: {}\n  /upload:\n    post: {}\n";
        assert_eq!(openapi_paths(openapi).unwrap(), ["/api/health"]);
        assert!(openapi_paths("[]").unwrap_err().contains("no `paths`"));
        let har = r#"{"log": {"entries": [
            {"request": {"method": "GET", "url": "http://127.0.0.1:8080/files/readme.md?x=1"}},
            {"request": {"method": "DELETE", "url": "http://127.0.0.1:8080/files/a"}}
        ]}}"#;
        assert_eq!(har_paths(har).unwrap(), ["/files/readme.md?x=1"]);
        assert!(har_paths("{}").unwrap_err().contains("log.entries"));
    }
}
