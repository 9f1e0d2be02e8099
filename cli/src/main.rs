//! `port-harness`: the harness's command line, installed on its own (`cargo install`), for
//! repositories that run it without an `xtask` of their own.

fn main() -> std::process::ExitCode {
    port_harness::main("port-harness")
}
