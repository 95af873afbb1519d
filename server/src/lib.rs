//! HTTP verification service over assay-verifier (see issue 6).
