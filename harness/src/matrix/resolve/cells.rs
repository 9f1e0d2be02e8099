//! Cells: the product of targets and axes, less what `exclude` rules remove, plus what
//! `include` rules add, each named after its target and axis values.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;

use super::{Cx, NAME, quoted_list};
use crate::matrix::model::*;

impl Cx<'_> {
    pub(super) fn cells(
        &mut self,
        targets: &[Target],
        axes: &[Axis],
        include: &[Spanned<BTreeMap<Spanned<String>, Spanned<String>>>],
        exclude: &[Spanned<BTreeMap<Spanned<String>, Spanned<String>>>],
        (max_cells, at): (u64, Option<Range<usize>>),
    ) -> Vec<Cell> {
        // Counted before anything is expanded, so that a product of many axes is an error
        // rather than gigabytes of cells.
        let product = axes.iter().fold(targets.len() as u64, |n, a| {
            n.saturating_mul(a.values.len() as u64)
        });
        if product > max_cells {
            let sizes: Vec<String> = std::iter::once(targets.len().to_string())
                .chain(axes.iter().map(|a| a.values.len().to_string()))
                .collect();
            self.error(
                at.unwrap_or(0..0),
                format!(
                    "the targets and axes expand to {product} cells ({}), more than max_cells = {max_cells}: expected fewer axis values, excludes, or a larger `[limits] max_cells`",
                    sizes.join(" x ")
                ),
            );
            return Vec::new();
        }
        let mut product: Vec<Cell> = targets
            .iter()
            .map(|t| Cell {
                name: String::new(),
                target: t.name.clone(),
                values: Vec::new(),
            })
            .collect();
        for axis in axes {
            product = product
                .into_iter()
                .flat_map(|cell| {
                    axis.values.iter().map(move |v| {
                        let mut c = cell.clone();
                        c.values.push((axis.name.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        let mut removed = vec![false; product.len()];
        for rule in exclude {
            let Some(conditions) = self.rule(rule, targets, axes, false) else {
                continue;
            };
            let mut matched = false;
            for (i, cell) in product.iter().enumerate() {
                if !removed[i]
                    && conditions
                        .iter()
                        .all(|(k, v)| cell_value(cell, k) == Some(v.as_str()))
                {
                    removed[i] = true;
                    matched = true;
                }
            }
            if !matched {
                self.error(rule.span(), "this exclude matches no cell that is left (an earlier exclude removed them): expected a rule that removes something");
            }
        }
        let mut cells: Vec<Cell> = product
            .into_iter()
            .zip(removed)
            .filter(|(_, r)| !r)
            .map(|(c, _)| c)
            .collect();
        let mut spans: Vec<Option<Range<usize>>> = vec![None; cells.len()];
        for rule in include {
            let Some(conditions) = self.rule(rule, targets, axes, true) else {
                continue;
            };
            let target = conditions["target"].clone();
            let values = axes
                .iter()
                .map(|a| (a.name.clone(), conditions[&a.name].clone()))
                .collect();
            cells.push(Cell {
                name: String::new(),
                target,
                values,
            });
            spans.push(Some(rule.span()));
        }
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for (cell, span) in cells.iter_mut().zip(spans) {
            cell.name = std::iter::once(cell.target.as_str())
                .chain(cell.values.iter().map(|(_, v)| v.as_str()))
                .collect::<Vec<_>>()
                .join("-");
            if !seen.insert(cell.name.clone()) {
                let why = if span.is_some() {
                    "this include repeats a cell of the matrix"
                } else {
                    "two combinations of target and axis values join to the same name"
                };
                self.error(
                    span.unwrap_or(0..0),
                    format!(
                        "duplicate cell `{}`: {why}; expected every cell to have its own name",
                        cell.name
                    ),
                );
            }
        }
        cells
    }

    /// Checks one include or exclude rule; returns its conditions by key when every key and
    /// value is known (and, for an include, when every axis is given).
    fn rule(
        &mut self,
        rule: &Spanned<BTreeMap<Spanned<String>, Spanned<String>>>,
        targets: &[Target],
        axes: &[Axis],
        complete: bool,
    ) -> Option<BTreeMap<String, String>> {
        let which = if complete { "include" } else { "exclude" };
        let mut ok = true;
        let mut conditions = BTreeMap::new();
        for (key, value) in rule.get_ref() {
            let (k, v) = (key.get_ref(), value.get_ref());
            if k == "target" {
                if !self.unread.targets && !targets.iter().any(|t| &t.name == v) {
                    ok = false;
                    self.error(
                        value.span(),
                        format!(
                            "unknown target `{v}` in {which}: expected one of {}",
                            quoted_list(targets.iter().map(|t| t.name.as_str()))
                        ),
                    );
                }
            } else if let Some(axis) = axes.iter().find(|a| &a.name == k) {
                if !complete && !axis.values.contains(v) {
                    ok = false;
                    self.error(
                        value.span(),
                        format!(
                            "unknown value `{v}` of axis `{k}` in exclude: expected one of {}",
                            quoted_list(axis.values.iter().map(String::as_str))
                        ),
                    );
                } else if complete && !NAME.is_match(v) {
                    ok = false;
                    self.name("axis value", value);
                }
            } else {
                ok = false;
                if self.unread.cells {
                    // An axis table that could not be read may be the one it names.
                    conditions.insert(k.clone(), v.clone());
                    continue;
                }
                self.error(
                    key.span(),
                    format!(
                        "unknown key `{k}` in {which}: expected `target` or an axis name ({})",
                        quoted_list(axes.iter().map(|a| a.name.as_str()))
                    ),
                );
            }
            conditions.insert(k.clone(), v.clone());
        }
        if complete {
            let missing: Vec<&str> = std::iter::once("target")
                .chain(axes.iter().map(|a| a.name.as_str()))
                .filter(|k| !conditions.contains_key(*k))
                .collect();
            if !missing.is_empty() {
                ok = false;
                self.error(
                    rule.span(),
                    format!(
                        "include is missing {}: expected a value for `target` and for every axis",
                        quoted_list(missing)
                    ),
                );
            }
        } else if conditions.is_empty() {
            ok = false;
            self.error(
                rule.span(),
                "empty exclude: expected `target` or axis values to match",
            );
        }
        ok.then_some(conditions)
    }
}

fn cell_value<'c>(cell: &'c Cell, key: &str) -> Option<&'c str> {
    if key == "target" {
        Some(&cell.target)
    } else {
        cell.value(key)
    }
}
