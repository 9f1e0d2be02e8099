//! `[limits]`: every timeout and size the harness enforces, each with its default, checked
//! here so that a bad value is reported with its position like any other.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::Cx;
use crate::matrix::model::Limits;
use crate::matrix::raw::RawLimits;

impl Cx<'_> {
    /// A duration like `30s` or `2m`, longer than zero; `default` when absent or invalid.
    pub(super) fn duration(
        &mut self,
        what: &str,
        raw: Option<&Spanned<String>>,
        default: Duration,
    ) -> Duration {
        let Some(t) = raw else {
            return default;
        };
        match humantime::parse_duration(t.get_ref()) {
            Ok(d) if !d.is_zero() => d,
            Ok(_) => {
                self.error(t.span(), format!("{what} must be longer than zero"));
                default
            }
            Err(e) => {
                self.error(
                    t.span(),
                    format!(
                        "invalid duration `{}` ({e}): expected a duration like `30s` or `2m`",
                        t.get_ref()
                    ),
                );
                default
            }
        }
    }

    /// The limits, and where `max_cells` is written (for the error when the matrix expands
    /// to more cells).
    pub(super) fn limits(&mut self, raw: &RawLimits) -> (Limits, Option<Range<usize>>) {
        let d = Limits::default();
        let max_body = match &raw.max_body {
            None => d.max_body,
            Some(s) => match s.get_ref().parse::<bytesize::ByteSize>() {
                Ok(size) if size.as_u64() > 0 => size.as_u64(),
                _ => {
                    self.error(
                        s.span(),
                        format!(
                            "invalid size `{}`: expected a size like `512KiB` or `4MiB`",
                            s.get_ref()
                        ),
                    );
                    d.max_body
                }
            },
        };
        let max_cells = match &raw.max_cells {
            Some(n) if *n.get_ref() == 0 => {
                self.error(n.span(), "max_cells must be at least 1");
                d.max_cells
            }
            Some(n) => *n.get_ref(),
            None => d.max_cells,
        };
        let limits = Limits {
            request_timeout: self.duration(
                "request_timeout",
                raw.request_timeout.as_ref(),
                d.request_timeout,
            ),
            case_timeout: self.duration("case_timeout", raw.case_timeout.as_ref(), d.case_timeout),
            job_timeout: self.duration("job_timeout", raw.job_timeout.as_ref(), d.job_timeout),
            command_timeout: self.duration(
                "command_timeout",
                raw.command_timeout.as_ref(),
                d.command_timeout,
            ),
            build_timeout: self.duration(
                "build_timeout",
                raw.build_timeout.as_ref(),
                d.build_timeout,
            ),
            max_body,
            max_cells,
        };
        (limits, raw.max_cells.as_ref().map(Spanned::span))
    }
}
