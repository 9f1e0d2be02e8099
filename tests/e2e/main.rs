//! End-to-end tests of the port harness, in one binary: the real `cargo xtask` on this
//! repository and on temp copies of it, plus the tidy checks that keep the tree honest.

mod cli;
mod tidy;
