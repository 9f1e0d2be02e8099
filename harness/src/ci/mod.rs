//! CI pipelines generated from the matrix, behind one trait: a generator names its CI system,
//! where its file goes, and renders the file. [`GENERATORS`] is the one list of them.

pub mod github;

use crate::matrix::Matrix;

/// A CI system's pipeline generator.
pub trait Generator: Sync {
    /// The system's name, as `cargo xtask ci NAME` takes it.
    fn name(&self) -> &'static str;
    /// Where the pipeline file goes, relative to the repository.
    fn default_path(&self) -> &'static str;
    /// The pipeline for `matrix`, read from `config` (relative to the repository).
    fn generate(&self, matrix: &Matrix, config: &str) -> String;
}

/// Every generator.
pub const GENERATORS: &[&dyn Generator] = &[&github::GitHub];

/// The generator of the CI system `name`.
pub fn generator(name: &str) -> Option<&'static dyn Generator> {
    GENERATORS.iter().copied().find(|g| g.name() == name)
}
