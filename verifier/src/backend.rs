//! The proof systems Assay proves its statements with, named once for every crate.
//!
//! A [`Backend`] fixes the field (and hence the Poseidon instance) a statement is evaluated in,
//! the arithmetization, and the proof format. Its [`Backend::name`] is what every format writes
//! (`"backend": "groth16-bn254"`); [`Backend::short`] is the command line's spelling
//! (`--backend groth16`). Both spellings parse.
//!
//! Adding a backend starts here: one variant, its two names, and its trust statement; the
//! compiler then lists every `match` that must learn it (see `docs/architecture.md`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A proof system that proves Assay's statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Groth16 on BN254 with circomlib Poseidon: 128-byte proofs, millisecond verification, a
    /// circuit-specific setup whose randomness can forge proofs.
    Groth16,
    /// Halo2 with the IPA commitment over the Pasta curves and Poseidon `P128Pow5T3`: no trusted
    /// setup; verification linear in the circuit size.
    Halo2,
    /// A STARK (Plonky3 `p3-uni-stark` 0.8) over KoalaBear with Poseidon2 and the hiding FRI
    /// commitment: no setup, hash-based; solvency rounds and KYC presentations (feature
    /// `stark`).
    Stark,
}

impl Backend {
    /// Every backend, in a fixed order (the order of format maps and of listings).
    pub const ALL: [Backend; 3] = [Backend::Groth16, Backend::Halo2, Backend::Stark];

    /// The name written in every format (`groth16-bn254`, `halo2-ipa-pasta`,
    /// `stark-koalabear-poseidon2`).
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Groth16 => "groth16-bn254",
            Backend::Halo2 => "halo2-ipa-pasta",
            Backend::Stark => "stark-koalabear-poseidon2",
        }
    }

    /// The command line's name (`groth16`, `halo2`, `stark`).
    pub const fn short(self) -> &'static str {
        match self {
            Backend::Groth16 => "groth16",
            Backend::Halo2 => "halo2",
            Backend::Stark => "stark",
        }
    }

    /// The proof system's display name in messages (`Groth16`, `Halo2`).
    pub const fn proof_system(self) -> &'static str {
        match self {
            Backend::Groth16 => "Groth16",
            Backend::Halo2 => "Halo2",
            Backend::Stark => "STARK",
        }
    }

    /// Who must be trusted for a proof of this backend to mean what it says, in one sentence.
    pub const fn trust_statement(self) -> &'static str {
        match self {
            Backend::Groth16 => {
                "Groth16: sound only if nobody holds the setup randomness of the pinned verifying keys \
                 (an auditor's or a ceremony's setup, never the prover's)."
            }
            Backend::Halo2 => {
                "Halo2 (IPA): no trusted setup; the verifying keys are re-derived from the public \
                 circuits, so only the hash functions and the discrete-log assumption on Pasta are trusted."
            }
            Backend::Stark => {
                "STARK (Plonky3, KoalaBear, Poseidon2, hiding FRI): no trusted setup and no keys; \
                 transparent and hash-based, sound at a conjectured 104 bits (FRI's \
                 conjectured list-decoding soundness with the pinned parameters, docs/stark.md)."
            }
        }
    }

    /// The backend whose format name is `name` (the command line's short names are not format
    /// names: a file saying `"backend": "groth16"` names no backend).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Parses a backend from its format name or its command-line name.
    ///
    /// # Errors
    /// [`UnknownBackend`] naming the text and the accepted names.
    pub fn parse(text: &str) -> Result<Self, UnknownBackend> {
        Self::ALL
            .into_iter()
            .find(|b| b.name() == text || b.short() == text)
            .ok_or_else(|| UnknownBackend(text.to_string()))
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = UnknownBackend;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Backend {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Backend {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Backend::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A backend name this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend `{0}` (known: {known})", known = known_names())]
pub struct UnknownBackend(pub String);

fn known_names() -> String {
    Backend::ALL
        .iter()
        .map(|b| format!("{} ({})", b.name(), b.short()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The format name of Groth16 on BN254 (`Backend::Groth16.name()`).
pub const BACKEND_GROTH16: &str = Backend::Groth16.name();
/// The format name of Halo2 over Pasta (`Backend::Halo2.name()`).
pub const BACKEND_HALO2: &str = Backend::Halo2.name();
/// The format name of the STARK over KoalaBear (`Backend::Stark.name()`).
pub const BACKEND_STARK: &str = Backend::Stark.name();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_parse_and_names_round_trip() {
        for b in Backend::ALL {
            assert_eq!(Backend::parse(b.name()), Ok(b));
            assert_eq!(Backend::parse(b.short()), Ok(b));
            assert_eq!(b.to_string(), b.name());
            let json = serde_json::to_string(&b).unwrap();
            assert_eq!(json, format!("\"{}\"", b.name()));
            assert_eq!(serde_json::from_str::<Backend>(&json).unwrap(), b);
        }
        assert_eq!(BACKEND_GROTH16, "groth16-bn254");
        assert_eq!(BACKEND_HALO2, "halo2-ipa-pasta");
        assert_eq!(BACKEND_STARK, "stark-koalabear-poseidon2");
        assert_eq!(Backend::parse("stark"), Ok(Backend::Stark));
    }

    #[test]
    fn unknown_names_are_refused_with_the_known_ones() {
        let e = Backend::parse("plonk").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("`plonk`") && msg.contains("groth16-bn254"),
            "{msg}"
        );
        assert!(serde_json::from_str::<Backend>("\"Groth16\"").is_err());
    }
}
