//! The OpenAPI document, generated from the handlers' annotations (`GET /openapi.json`).

use utoipa::OpenApi;

/// The service's OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Assay verification service",
        description = "Verifies Assay's proofs of solvency and zero-knowledge KYC proofs. Every verdict is `valid`, or `invalid` with the exact reason."
    ),
    paths(
        crate::routes::solvency_verify,
        crate::routes::solvency_inclusion,
        crate::routes::solvency_rounds,
        crate::routes::solvency_round_bundle,
        crate::routes::solvency_round_proof,
        crate::routes::kyc_challenge,
        crate::routes::kyc_verify,
        crate::routes::healthz,
        crate::routes::metrics,
        crate::routes::openapi,
    ),
    components(schemas(
        crate::routes::VerifyResponse,
        crate::routes::RoundsResponse,
        crate::backend::ServedRoundInfo,
        crate::routes::KycVerifyResponse,
        crate::routes::InclusionRequest,
        crate::routes::KycVerifyRequest,
        crate::routes::ChallengeRequest,
        crate::routes::Health,
        crate::error::ErrorBody
    ))
)]
pub struct ApiDoc;

/// The document as JSON text.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
