//! `review`: one pending snapshot as the reviewer decides on it, and the tally at the end.
//! Server text is escaped for the terminal before any colour is added.

use std::fmt::Write;

use super::colour::Palette;
use super::escape::terminal as esc;
use crate::review::pending::ToReview;

/// The pending snapshot `item`, the `index`-th (from 1) of `total`, coloured with `p`.
pub fn render(item: &ToReview, index: usize, total: usize, p: Palette) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} {}  {}",
        p.dim(&format!("[{index}/{total}]")),
        p.strong(&esc(&item.name)),
        if item.changed {
            p.warn("changed")
        } else {
            p.good("new")
        }
    );
    let _ = writeln!(out, "  source: {}", esc(&item.source));
    let _ = writeln!(out, "  observed: {}", esc(&item.expression));
    for line in p.diff(&esc(&item.diff)).lines() {
        let _ = writeln!(out, "    {line}");
    }
    out
}

/// What a review did, in one line.
pub fn tally(accepted: usize, rejected: usize, skipped: usize) -> String {
    format!("{accepted} accepted, {rejected} rejected, {skipped} still pending")
}
