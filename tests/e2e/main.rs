//! End-to-end tests of the port harness.
