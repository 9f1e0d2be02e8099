//! Where the terminal output goes: progress events as they come, to stderr (stdout is for
//! results), as the harness renders them or as JSON lines.

use harness::events::RunEvent;
use harness::render::terminal;
use tokio::sync::mpsc::UnboundedReceiver;

/// Prints events as they come, to stderr.
pub async fn events(mut rx: UnboundedReceiver<RunEvent>, json: bool) {
    while let Some(event) = rx.recv().await {
        if json {
            eprintln!(
                "{}",
                serde_json::to_string(&event).expect("events serialize")
            );
        } else {
            eprintln!("{}", terminal::line(&event));
        }
    }
}
