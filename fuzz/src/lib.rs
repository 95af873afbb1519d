//! Assay's fuzz targets, shared by the AFL harness (`src/main.rs`) and the workspace's corpus
//! replay (`tests/fuzz_corpus.rs`). See [`targets`] and docs/ci.md, "Fuzzing".

#[path = "targets.rs"]
pub mod targets;

pub use targets::{run, TARGETS};
