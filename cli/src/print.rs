//! Where the terminal output goes while a run goes: progress events, to stderr (stdout is for
//! results). On a terminal, a live status line drawn by indicatif with the harness's lines
//! printed above it; elsewhere (CI, a pipe) plain lines and no cursor movement; or JSON lines.

use std::time::{Duration, Instant};

use harness::events::RunEvent;
use harness::render::progress::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;

/// How events are shown.
pub enum Mode {
    /// One JSON object per line.
    Json,
    /// Lines for people; `live` adds the status line (stderr is a terminal), coloured or
    /// not.
    Human {
        progress: Progress,
        live: bool,
        colour: bool,
    },
}

/// Prints events as they come, to stderr, until the run drops its sender.
pub async fn events(mut rx: UnboundedReceiver<RunEvent>, mode: Mode) {
    let start = Instant::now();
    let (mut progress, live) = match mode {
        Mode::Json => {
            while let Some(event) = rx.recv().await {
                eprintln!(
                    "{}",
                    serde_json::to_string(&event).expect("events serialize")
                );
            }
            return;
        }
        Mode::Human {
            progress,
            live,
            colour,
        } => (progress, live.then_some(colour)),
    };
    let bar = live.map(|colour| {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let template = if colour {
            "{spinner:.cyan} {wide_msg}"
        } else {
            "{spinner} {wide_msg}"
        };
        bar.set_style(ProgressStyle::with_template(template).expect("the template is valid"));
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    });
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            event = rx.recv() => {
                let Some(event) = event else { break };
                if let Some(text) = progress.event(&event, start.elapsed()) {
                    match &bar {
                        Some(bar) => bar.println(text),
                        None => eprintln!("{text}"),
                    }
                }
                if let Some(bar) = &bar {
                    bar.set_message(progress.status(start.elapsed()));
                }
            }
            _ = tick.tick() => {
                if let Some(bar) = &bar {
                    bar.set_message(progress.status(start.elapsed()));
                }
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}
