//! Assay verifiers compiled to WebAssembly for browsers (see issue 6).
