//! Helpers for the end-to-end tests of the port harness.
