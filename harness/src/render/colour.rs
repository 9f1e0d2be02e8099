//! Colour for the terminal, with anstyle: a palette that is either on (ANSI styles) or off
//! (plain text), decided once by the command line (`--color`, `NO_COLOR`, a TTY or not).

use anstyle::{AnsiColor, Effects, Style};

/// Styles for terminal text; off, every style is plain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Palette {
    on: bool,
}

impl Palette {
    /// A palette that colours when `on`.
    pub fn new(on: bool) -> Palette {
        Palette { on }
    }

    /// Whether it colours.
    pub fn is_on(self) -> bool {
        self.on
    }

    fn paint(self, style: Style, text: &str) -> String {
        if self.on && !text.is_empty() {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    /// Something that passed.
    pub fn good(self, text: &str) -> String {
        self.paint(AnsiColor::Green.on_default().effects(Effects::BOLD), text)
    }

    /// Something that failed.
    pub fn bad(self, text: &str) -> String {
        self.paint(AnsiColor::Red.on_default().effects(Effects::BOLD), text)
    }

    /// Something accepted or pending.
    pub fn warn(self, text: &str) -> String {
        self.paint(AnsiColor::Yellow.on_default().effects(Effects::BOLD), text)
    }

    /// A heading.
    pub fn strong(self, text: &str) -> String {
        self.paint(Style::new().effects(Effects::BOLD), text)
    }

    /// Something secondary.
    pub fn dim(self, text: &str) -> String {
        self.paint(Style::new().effects(Effects::DIMMED), text)
    }

    /// A unified diff, its removed lines red and its added lines green.
    pub fn diff(self, diff: &str) -> String {
        diff.lines()
            .map(|line| {
                if line.starts_with("---") || line.starts_with("+++") {
                    self.strong(line)
                } else if line.starts_with('-') {
                    self.paint(AnsiColor::Red.on_default(), line)
                } else if line.starts_with('+') {
                    self.paint(AnsiColor::Green.on_default(), line)
                } else if line.starts_with("@@") {
                    self.paint(AnsiColor::Cyan.on_default(), line)
                } else {
                    line.to_owned()
                }
            })
            .map(|l| l + "\n")
            .collect()
    }
}
