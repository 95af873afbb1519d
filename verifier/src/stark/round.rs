//! The auditor's and the customer's checks of a STARK round (`docs/stark.md`, `docs/formats.md`).
//!
//! Nothing the bundle declares is trusted: the parameters must equal the pinned
//! [`STARK_PARAMS`]; every shape (the batch AIR's height, every aggregation's number of
//! children, the number of assets) is re-derived from the configuration and compared with the
//! bundle's section; every proof's public values are rebuilt from what the verifier already
//! checked (the round digest of the round id, the child proofs' own values in order, the
//! configuration's reserves, the previous round's hash) and compared before the proof's bytes,
//! read through a [`ProofSource`] that checks their hash, are handed to the library verifier
//! (which `assay-circuits` calls only after checking the proof's shape).

use super::{parse_digest, parse_element, parse_salt, previous_digest};
use crate::solvency::{
    check_bundle_signature, check_record, CircuitsRef, InclusionRecord, InclusionReport,
    PreparedInclusion, ProofEntry, ProofSource, RoundBundle, RoundOptions, RoundReport,
};
use crate::{Backend, FormatError, VerifyError};
use assay_circuits::solvency::stark::{
    leaf, leaves_chain_to, leaves_from_bytes, round_digest, user_id_digest,
    verify_aggregation_under, verify_batch_under, verify_chain_path, verify_public_path, AggPublic,
    AggShape, BatchPublic, BatchShape, ChainPath, ChildKind, ChildPublic, Digest, PathStep,
    StarkError, StarkParams, StarkUser, TopPublic, Val, AGG_LIMBS, AGG_PARAMS, BATCH_PARAMS,
    DIGEST_ELEMS, MAX_FAN_IN, STARK_PARAMS,
};
use std::ops::Deref;

/// The balance width `w` of every STARK round (the batch AIR range-checks 64 bits).
pub const STARK_BALANCE_BITS: usize = 64;

/// The largest number of leaves a STARK bundle may declare (`2^32`).
pub const MAX_STARK_LEAVES: u64 = 1 << 32;

/// Why a record's own chain path failed: its encoding, or the chain itself.
enum ChainCheck {
    Format(VerifyError),
    Stark(StarkError),
}

/// A STARK bundle with its structure, configuration, section and signature checked.
pub(crate) struct StarkRound<D: Deref<Target = RoundBundle>> {
    b: D,
    batch: BatchShape,
    round: Digest,
    previous: Digest,
    reserves: Vec<u128>,
    levels: Vec<Vec<usize>>,
    global_root: Digest,
    /// Per batch, the SHA-256 of its leaves file; empty for a round whose records carry their
    /// chain paths.
    leaves: Vec<String>,
    /// Every proof was verified when the round was opened ([`crate::solvency::PreparedRound`]).
    verified: bool,
    /// The leaves of every batch, read and chained to its root when the round was opened.
    chains: Vec<Vec<Digest>>,
    /// The bundle's hash ([`RoundBundle::hash`]), computed once.
    hash: String,
    /// The bytes its signature covers ([`RoundBundle::signed_body`]), from the same
    /// serialization; a round opened for many checks frees it once its signature is checked.
    body: Vec<u8>,
    /// The pinned parameters its batch proofs are verified under: [`BATCH_PARAMS`], or
    /// [`STARK_PARAMS`] for rounds made before 2026-12-03 (the bundle's `params` names which).
    batch_params: StarkParams,
    /// The pinned parameters its aggregation proofs are verified under: [`AGG_PARAMS`] when the
    /// bundle names them (`agg_params`), [`STARK_PARAMS`] for rounds made before 2026-12-03.
    agg_params: StarkParams,
}

fn structure(m: String) -> VerifyError {
    VerifyError::Structure(m)
}

fn name_batch(j: usize) -> String {
    format!("batch proof {j}")
}

fn name_leaves(j: usize) -> String {
    format!("leaves of batch {j}")
}

fn name_agg(level: usize, i: usize, top: bool) -> String {
    if top {
        "top proof".into()
    } else {
        format!("aggregation proof (level {}, #{i})", level + 1)
    }
}

fn stark_err(what: &str, e: StarkError) -> VerifyError {
    VerifyError::StarkProof {
        proof: what.into(),
        message: e.to_string(),
    }
}

fn mismatch(what: &str, input: &str, found: String, expected: String) -> VerifyError {
    VerifyError::PublicInput {
        proof: what.into(),
        input: input.into(),
        found,
        expected,
    }
}

fn digest_at(v: &[Val], at: usize) -> Digest {
    core::array::from_fn(|i| v[at + i])
}

fn expect_digest(
    what: &str,
    input: &str,
    found: &Digest,
    expected: &Digest,
) -> Result<(), VerifyError> {
    if found != expected {
        return Err(mismatch(
            what,
            input,
            super::digest_hex(found),
            super::digest_hex(expected),
        ));
    }
    Ok(())
}

impl<D: Deref<Target = RoundBundle>> StarkRound<D> {
    /// Checks everything but the proofs and the signature.
    fn check(b: D) -> Result<Self, VerifyError> {
        if b.backend != Backend::Stark.name() {
            return Err(VerifyError::Backend(b.backend.clone()));
        }
        let section = b.section()?;
        let sc = match section.circuits {
            Some(CircuitsRef::Stark(sc)) => sc,
            Some(other) => {
                return Err(structure(format!(
                    "a {} bundle carries a `{}` section for {}: mislabelled or mixed bundle",
                    Backend::Stark,
                    section.field,
                    other.backend()
                )))
            }
            None => {
                return Err(structure(format!(
                    "a {} bundle needs its `circuits` section",
                    Backend::Stark
                )))
            }
        };
        let batch_params = if sc.params == super::params_section(&BATCH_PARAMS) {
            BATCH_PARAMS
        } else if sc.params == super::params_section(&STARK_PARAMS) {
            STARK_PARAMS
        } else {
            return Err(structure(format!(
                "the bundle declares STARK parameters {:?}; this verifier accepts only the pinned \
                 {:?} or, for rounds made before 2026-12-03, {:?} (parameters are never taken \
                 from a bundle: others change the soundness level)",
                sc.params,
                super::params_section(&BATCH_PARAMS),
                super::params_section(&STARK_PARAMS),
            )));
        };
        let agg_params = match &sc.agg_params {
            None => STARK_PARAMS,
            Some(declared) => {
                let pinned = super::params_section(&AGG_PARAMS);
                if *declared != pinned {
                    return Err(structure(format!(
                        "the bundle declares aggregation parameters (agg_params) {declared:?}; \
                         this verifier accepts only the pinned {pinned:?}, or none (rounds whose \
                         aggregation proofs use `params`)"
                    )));
                }
                AGG_PARAMS
            }
        };
        let cfg = b.config.check()?;
        if b.config.balance_bits != STARK_BALANCE_BITS {
            return Err(FormatError::field(
                "config.balance_bits",
                format!(
                    "{} bits: the STARK proves balances of exactly {STARK_BALANCE_BITS} bits",
                    b.config.balance_bits
                ),
            )
            .into());
        }
        let k = b.config.assets.len();
        let log_height = b.config.batch_size.trailing_zeros() as usize;
        let batch = BatchShape::new(k, log_height)
            .map_err(|e| FormatError::field("config.batch_size", e.to_string()))?;
        if sc.batch_log_height != log_height {
            return Err(structure(format!(
                "the section's batch_log_height is {}, batch_size {} needs {log_height}",
                sc.batch_log_height, b.config.batch_size
            )));
        }
        let f = b.config.fan_in;
        if f > MAX_FAN_IN {
            return Err(FormatError::field(
                "config.fan_in",
                format!("{f}: a STARK aggregation has at most {MAX_FAN_IN} children"),
            )
            .into());
        }
        let users = batch.users() as u64;
        if b.leaf_count == 0
            || b.leaf_count > MAX_STARK_LEAVES
            || !b.leaf_count.is_multiple_of(users)
        {
            return Err(structure(format!(
                "leaf_count {} is not a positive multiple of {users} (users per batch) up to 2^32",
                b.leaf_count
            )));
        }
        let batches = (b.leaf_count / users) as usize;
        if b.batches.len() != batches {
            return Err(structure(format!(
                "{} leaves in batches of {users} make {batches} batch proofs, the bundle has {}",
                b.leaf_count,
                b.batches.len()
            )));
        }
        let levels = super::level_children(batches, f);
        if sc.levels != levels {
            return Err(structure(format!(
                "the section declares aggregation shapes {:?}; {batches} batches with fan-in {f} \
                 make {levels:?}",
                sc.levels
            )));
        }
        let found: Vec<usize> = b.aggregations.iter().map(Vec::len).collect();
        let expected: Vec<usize> = levels.iter().map(Vec::len).collect();
        if found != expected {
            return Err(structure(format!(
                "aggregation levels hold {found:?} proofs, {batches} batches with fan-in {f} need \
                 {expected:?}"
            )));
        }
        if !b.verifying_keys.is_empty() {
            return Err(structure(
                "a STARK round has no verifying keys (its AIRs are pinned): `verifying_keys` must \
                 be empty"
                    .into(),
            ));
        }
        let entries = b.batches.iter().chain(b.aggregations.iter().flatten());
        if let Some(e) = entries.into_iter().find(|e| !e.key.is_empty()) {
            return Err(structure(format!(
                "a STARK proof entry names a key ({:?}); STARK entries have none",
                e.key
            )));
        }
        if !sc.leaves.is_empty() && sc.leaves.len() != batches {
            return Err(structure(format!(
                "the section lists {} leaves files, the round has {batches} batches (one each, \
                 or none in a round whose records carry chain paths)",
                sc.leaves.len()
            )));
        }
        if let Some(i) = sc
            .leaves
            .iter()
            .position(|h| !crate::solvency::is_sha256_hex(h))
        {
            return Err(FormatError::field(
                format!("circuits.leaves[{i}]"),
                "not a lower-case hex SHA-256 (the name of a leaves file)",
            )
            .into());
        }
        let leaves = sc.leaves.clone();
        let round = round_digest(&b.config.round_id)
            .map_err(|e| FormatError::field("config.round_id", e.to_string()))?;
        let previous =
            previous_digest(b.config.previous_round.as_deref(), "config.previous_round")?;
        let global_root = parse_digest(&b.global_root, "global_root")?;
        let (hash, body) = b.hash_and_signed_body();
        Ok(Self {
            batch,
            round,
            previous,
            reserves: cfg.reserves,
            levels,
            global_root,
            leaves,
            verified: false,
            chains: Vec::new(),
            hash,
            body,
            batch_params,
            agg_params,
            b,
        })
    }

    fn top_level(&self) -> usize {
        self.levels.len() - 1
    }

    fn values(e: &ProofEntry, what: &str, n: usize) -> Result<Vec<Val>, VerifyError> {
        if e.public_inputs.len() != n {
            return Err(structure(format!(
                "{what}: {} public values, its AIR has {n}",
                e.public_inputs.len()
            )));
        }
        e.public_inputs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                parse_element(s, &format!("{what}.public_inputs[{i}]")).map_err(Into::into)
            })
            .collect()
    }

    /// The public values of batch proof `j`, its round checked.
    fn batch_public(&self, j: usize) -> Result<BatchPublic, VerifyError> {
        let what = name_batch(j);
        let v = Self::values(&self.b.batches[j], &what, 3 * DIGEST_ELEMS)?;
        let p = BatchPublic {
            round: digest_at(&v, 0),
            root: digest_at(&v, DIGEST_ELEMS),
            commitment: digest_at(&v, 2 * DIGEST_ELEMS),
        };
        expect_digest(&what, "round", &p.round, &self.round)?;
        Ok(p)
    }

    /// The first proof index of aggregation `(level, i)`'s children in the level below.
    fn first_child(&self, level: usize, i: usize) -> usize {
        self.levels[level][..i].iter().sum()
    }

    /// The root and commitment of child `c` (an index of the level below `level`).
    fn child_public(&self, level: usize, c: usize) -> Result<ChildPublic, VerifyError> {
        if level == 0 {
            let p = self.batch_public(c)?;
            return Ok(ChildPublic {
                root: p.root,
                commitment: p.commitment,
            });
        }
        let below = level - 1;
        let top = below == self.top_level();
        let what = name_agg(below, c, top);
        let e = &self.b.aggregations[below][c];
        let n = 3 * DIGEST_ELEMS + 2 * DIGEST_ELEMS * self.levels[below][c];
        let v = Self::values(e, &what, n)?;
        expect_digest(&what, "round", &digest_at(&v, 0), &self.round)?;
        Ok(ChildPublic {
            root: digest_at(&v, DIGEST_ELEMS),
            commitment: digest_at(&v, 2 * DIGEST_ELEMS),
        })
    }

    /// The shape of aggregation `(level, i)` and the public values it must be verified with,
    /// rebuilt from the round, its children's proofs and the configuration; the entry's own
    /// values must be exactly these.
    fn aggregation(&self, level: usize, i: usize) -> Result<(AggShape, AggPublic), VerifyError> {
        let top = level == self.top_level();
        let what = name_agg(level, i, top);
        let children = self.levels[level][i];
        let kind = if level == 0 {
            ChildKind::Batch
        } else {
            ChildKind::Aggregate
        };
        let k = self.batch.assets;
        let shape = AggShape::new(k, children, kind, top).map_err(|e| stark_err(&what, e))?;
        let n = 3 * DIGEST_ELEMS
            + 2 * DIGEST_ELEMS * children
            + if top { DIGEST_ELEMS + AGG_LIMBS * k } else { 0 };
        let v = Self::values(&self.b.aggregations[level][i], &what, n)?;
        expect_digest(&what, "round", &digest_at(&v, 0), &self.round)?;
        let first = self.first_child(level, i);
        let mut kids = Vec::with_capacity(children);
        for c in 0..children {
            let child = self.child_public(level, first + c)?;
            let at = 3 * DIGEST_ELEMS + 2 * DIGEST_ELEMS * c;
            let below = if level == 0 {
                name_batch(first + c)
            } else {
                name_agg(level - 1, first + c, false)
            };
            expect_digest(
                &what,
                &format!("child {c} root (the root of {below})"),
                &digest_at(&v, at),
                &child.root,
            )?;
            expect_digest(
                &what,
                &format!("child {c} commitment (the commitment of {below})"),
                &digest_at(&v, at + DIGEST_ELEMS),
                &child.commitment,
            )?;
            kids.push(child);
        }
        let top_public = if top {
            let at = 3 * DIGEST_ELEMS + 2 * DIGEST_ELEMS * children;
            expect_digest(&what, "previous round", &digest_at(&v, at), &self.previous)?;
            Some(TopPublic {
                previous: self.previous,
                reserves: self.reserves.clone(),
            })
        } else {
            None
        };
        let expected = AggPublic {
            round: self.round,
            root: digest_at(&v, DIGEST_ELEMS),
            commitment: digest_at(&v, 2 * DIGEST_ELEMS),
            children: kids,
            top: top_public,
        };
        let want = expected.to_values();
        if let Some(pos) = (0..n).find(|p| v[*p] != want[*p]) {
            let (name, idx) = if top && pos >= n - AGG_LIMBS * k {
                let q = pos - (n - AGG_LIMBS * k);
                (
                    format!(
                        "reserves[{}] limb {}",
                        self.b.config.assets[q / AGG_LIMBS].symbol,
                        q % AGG_LIMBS
                    ),
                    pos,
                )
            } else {
                (format!("public value {pos}"), pos)
            };
            return Err(mismatch(
                &what,
                &name,
                super::element_text(&v[idx]),
                super::element_text(&want[idx]),
            ));
        }
        if top {
            expect_digest(
                &what,
                "root (global_root)",
                &expected.root,
                &self.global_root,
            )?;
        }
        Ok((shape, expected))
    }

    fn proof_bytes(
        &self,
        e: &ProofEntry,
        what: &str,
        opts: &RoundOptions<'_>,
    ) -> Result<Vec<u8>, VerifyError> {
        Self::file_bytes(&e.proof, what, opts)
    }

    fn file_bytes(hash: &str, what: &str, opts: &RoundOptions<'_>) -> Result<Vec<u8>, VerifyError> {
        let source: &dyn ProofSource = opts.proofs.ok_or_else(|| VerifyError::ProofFile {
            proof: what.into(),
            file: crate::solvency::ProofDir::relative(hash),
            message: "a STARK bundle keeps its proofs in files next to it; no folder was given"
                .into(),
        })?;
        source.proof(hash, what)
    }

    /// The leaves of batch `j` from its leaves file (its hash checked by the source), each a
    /// canonical digest, exactly one per user of the batch, and chaining from the round digest
    /// to the batch proof's public root (through the file's segment states, when it has
    /// them). Served from memory in an opened round.
    fn batch_leaves(
        &self,
        j: usize,
        public: &BatchPublic,
        opts: &RoundOptions<'_>,
    ) -> Result<std::borrow::Cow<'_, [Digest]>, VerifyError> {
        if let Some(kept) = self.chains.get(j) {
            return Ok(std::borrow::Cow::Borrowed(kept));
        }
        let what = name_leaves(j);
        let bytes = Self::file_bytes(&self.leaves[j], &what, opts)?;
        let file =
            leaves_from_bytes(&bytes, self.batch.users()).map_err(|e| stark_err(&what, e))?;
        if !leaves_chain_to(&self.round, &file, &public.root) {
            return Err(stark_err(
                &what,
                StarkError::Rejected(format!(
                    "its leaves do not chain from the round digest to the root of {} (or a segment \
                     state it carries is not the chain's)",
                    name_batch(j)
                )),
            ));
        }
        Ok(std::borrow::Cow::Owned(file.leaves))
    }

    fn verify_batch_proof(
        &self,
        j: usize,
        opts: &RoundOptions<'_>,
    ) -> Result<BatchPublic, VerifyError> {
        let what = name_batch(j);
        let public = self.batch_public(j)?;
        if !self.verified {
            let bytes = self.proof_bytes(&self.b.batches[j], &what, opts)?;
            verify_batch_under(&self.batch, &bytes, &public, &self.batch_params)
                .map_err(|e| stark_err(&what, e))?;
        }
        Ok(public)
    }

    fn verify_aggregation_proof(
        &self,
        level: usize,
        i: usize,
        opts: &RoundOptions<'_>,
    ) -> Result<(AggShape, AggPublic), VerifyError> {
        let what = name_agg(level, i, level == self.top_level());
        let (shape, public) = self.aggregation(level, i)?;
        if !self.verified {
            let bytes = self.proof_bytes(&self.b.aggregations[level][i], &what, opts)?;
            verify_aggregation_under(&shape, &bytes, &public, &self.agg_params)
                .map_err(|e| stark_err(&what, e))?;
        }
        Ok((shape, public))
    }

    /// Every proof of the round, in order (batches with their leaves files, then each level);
    /// with `keep`, the batches' leaves are returned (empty when the round has no leaves files).
    fn verify_all(
        &self,
        opts: &RoundOptions<'_>,
        keep: bool,
    ) -> Result<Vec<Vec<Digest>>, VerifyError> {
        let mut kept = Vec::new();
        for j in 0..self.b.batches.len() {
            let public = self.verify_batch_proof(j, opts)?;
            if !self.leaves.is_empty() {
                let leaves = self.batch_leaves(j, &public, opts)?;
                if keep {
                    kept.push(leaves.into_owned());
                }
            }
        }
        for (level, proofs) in self.levels.iter().enumerate() {
            for i in 0..proofs.len() {
                self.verify_aggregation_proof(level, i, opts)?;
            }
        }
        Ok(kept)
    }

    /// The batch and the position of `r`'s leaf.
    fn position(&self, r: &InclusionRecord) -> Result<(usize, usize), VerifyError> {
        if r.leaf_index >= self.b.leaf_count {
            return Err(VerifyError::Inclusion(format!(
                "leaf_index {} is outside the round's {} leaves",
                r.leaf_index, self.b.leaf_count
            )));
        }
        let users = self.batch.users() as u64;
        Ok((
            (r.leaf_index / users) as usize,
            (r.leaf_index % users) as usize,
        ))
    }

    /// The files (SHA-256 names) a customer's check of `r` reads: its batch proof, its batch's
    /// leaves file (when the round has them), and the aggregation proofs on its path to the top.
    fn files_for(&self, r: &InclusionRecord) -> Result<Vec<String>, VerifyError> {
        let (j, _) = self.position(r)?;
        let mut out = vec![self.b.batches[j].proof.clone()];
        if !self.leaves.is_empty() {
            out.push(self.leaves[j].clone());
        }
        let mut idx = j;
        for level in 0..self.levels.len() {
            idx /= self.b.config.fan_in;
            out.push(self.b.aggregations[level][idx].proof.clone());
        }
        Ok(out)
    }

    /// A record's own chain path (rounds without leaves files): the state before its leaf and
    /// the leaves after it reach batch `j`'s public root.
    fn chain_path_check(
        &self,
        r: &InclusionRecord,
        user: &StarkUser,
        j: usize,
        pos: usize,
        users: u64,
    ) -> Result<(), ChainCheck> {
        let expected_len = self.batch.users() - pos;
        if r.path.len() != expected_len {
            return Err(ChainCheck::Format(VerifyError::Inclusion(format!(
                "the chain path has {} digests; position {pos} of a batch of {users} needs {expected_len} (the state before the leaf and the leaves after it)",
                r.path.len()
            ))));
        }
        let before =
            parse_digest(&r.path[0], "path[0]").map_err(|e| ChainCheck::Format(e.into()))?;
        let after = r.path[1..]
            .iter()
            .enumerate()
            .map(|(i, s)| parse_digest(s, &format!("path[{}]", i + 1)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ChainCheck::Format(e.into()))?;
        let batch = self.batch_public(j).map_err(ChainCheck::Format)?;
        verify_chain_path(
            user,
            &self.batch,
            &batch,
            &ChainPath {
                index: pos,
                before,
                after,
            },
        )
        .map_err(ChainCheck::Stark)
    }

    /// The customer's check of one record (after [`StarkRound::check`] and the signature).
    ///
    /// Its parts are independent until the end: the batch proof, the record's leaf in the
    /// batch (its chain to the root the bundle gives the batch), and the aggregation proofs
    /// above the batch. In a one-shot check (a round not opened) the three run on threads of
    /// their own where the platform has them (not in wasm32), so that two cores share them
    /// instead of one running the leaf's chain and then the proofs above; the first failure
    /// reported is the one the sequential order gives.
    fn inclusion_with(
        &self,
        r: &InclusionRecord,
        opts: &RoundOptions<'_>,
    ) -> Result<InclusionReport, VerifyError>
    where
        D: Sync,
    {
        let b: &RoundBundle = &self.b;
        let balances = check_record(r, b, &self.hash)?;
        let id =
            user_id_digest(&r.user_id).map_err(|e| FormatError::field("user_id", e.to_string()))?;
        let salt = parse_salt(&r.salt, "salt")?;
        let user = StarkUser {
            id,
            salt,
            // Each balance is below 2^64: check_record parsed it with w = 64.
            balances: balances.iter().map(|x| *x as u64).collect(),
        };
        let (j, pos) = self.position(r)?;
        if !self.leaves.is_empty() && !r.path.is_empty() {
            return Err(VerifyError::Inclusion(format!(
                "the record carries a path of {} digests; this round publishes each batch's \
                 leaves (circuits.leaves), so its records carry none",
                r.path.len()
            )));
        }
        // What the two parts on other threads use of `opts`: the proof files.
        let files = RoundOptions {
            proofs: opts.proofs,
            ..RoundOptions::default()
        };
        let parallel = !self.verified;
        let (proof, (own, path)) = both(
            parallel,
            || self.verify_batch_proof(j, &files),
            || {
                both(
                    parallel,
                    || self.record_in_batch(r, &user, j, pos, &files),
                    || self.path_above(j, opts),
                )
            },
        );
        // The order of a sequential check: a record's own chain path before the batch proof;
        // a leaves file after it (its root is the proof's); the proofs above last.
        let (batch, mut checked) = if self.leaves.is_empty() {
            let checked = own?;
            (proof?, checked)
        } else {
            let batch = proof?;
            (batch, own?)
        };
        let publics = path?;
        let steps: Vec<PathStep<'_>> = publics
            .iter()
            .map(|(shape, public, child, _)| PathStep {
                shape: *shape,
                public,
                child: *child,
            })
            .collect();
        checked.extend(publics.iter().map(|(_, _, _, name)| name.clone()));
        let top = verify_public_path(&batch, &steps)
            .map_err(|e| VerifyError::Inclusion(e.to_string()))?;
        if top.root != self.global_root {
            return Err(VerifyError::Inclusion(
                "the top proof's root is not the round's global root".into(),
            ));
        }
        Ok(InclusionReport {
            round_id: r.round_id.clone(),
            user_id: r.user_id.clone(),
            backend: Backend::Stark.name().into(),
            balances: r.balances.clone(),
            proofs_checked: checked,
            global_root: b.global_root.clone(),
        })
    }

    /// The record's leaf at position `pos` of batch `j`: through its own chain path, or the
    /// batch's leaves file chained to the root the bundle gives for the batch (the batch proof,
    /// verified beside this, proves that root). Returns the names of what it checked.
    fn record_in_batch(
        &self,
        r: &InclusionRecord,
        user: &StarkUser,
        j: usize,
        pos: usize,
        opts: &RoundOptions<'_>,
    ) -> Result<Vec<String>, VerifyError> {
        let inc = VerifyError::Inclusion;
        let users = self.batch.users() as u64;
        let not_in = |e: StarkError| {
            inc(format!(
                "{e}: these balances, this user id and salt, or this position are not in {}",
                name_batch(j)
            ))
        };
        let mut checked = vec![name_batch(j)];
        if self.leaves.is_empty() {
            self.chain_path_check(r, user, j, pos, users)
                .map_err(|e| match e {
                    ChainCheck::Format(f) => f,
                    ChainCheck::Stark(e) => not_in(e),
                })?;
        } else {
            let public = self.batch_public(j)?;
            let leaves = self.batch_leaves(j, &public, opts)?;
            let own = leaf(user, &self.batch).map_err(not_in)?;
            if leaves[pos] != own {
                return Err(inc(format!(
                    "leaf {pos} of {} (its leaves file) is not this record's leaf: these \
                     balances, this user id and salt, or this position are not in {}",
                    name_batch(j),
                    name_batch(j)
                )));
            }
            checked.push(name_leaves(j));
        }
        Ok(checked)
    }

    /// The other half: every aggregation proof on the way from batch `j` to the top, verified,
    /// with its shape, public values, the index of the child on the path, and its name.
    fn path_above(
        &self,
        j: usize,
        opts: &RoundOptions<'_>,
    ) -> Result<Vec<(AggShape, AggPublic, usize, String)>, VerifyError> {
        let mut publics = Vec::with_capacity(self.levels.len());
        let mut idx = j;
        for level in 0..self.levels.len() {
            let f = self.b.config.fan_in;
            let (i, child) = (idx / f, idx % f);
            let (shape, public) = self.verify_aggregation_proof(level, i, opts)?;
            publics.push((
                shape,
                public,
                child,
                name_agg(level, i, level == self.top_level()),
            ));
            idx = i;
        }
        Ok(publics)
    }
}

/// Runs `first` and `second` and returns both results, on two threads when `parallel` and the
/// platform has threads (otherwise, or if no thread can be started, one after the other).
fn both<A, B, RA, RB>(parallel: bool, first: A, second: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB,
    RA: Send,
{
    #[cfg(not(target_arch = "wasm32"))]
    if parallel {
        let first = std::sync::Mutex::new(Some(first));
        let take = || first.lock().ok().and_then(|mut f| f.take());
        return std::thread::scope(|s| {
            let spawned = std::thread::Builder::new().spawn_scoped(s, || take().map(|f| f()));
            let rb = second();
            let ra = match spawned.map(|h| h.join()) {
                Ok(Ok(Some(ra))) => ra,
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                // No thread (or it found nothing to run): run it here.
                Ok(Ok(None)) | Err(_) => match take() {
                    Some(f) => f(),
                    None => unreachable!("the first half runs exactly once"),
                },
            };
            (ra, rb)
        });
    }
    let _ = parallel;
    (first(), second())
}

impl StarkRound<std::sync::Arc<RoundBundle>> {
    /// A round prepared for many customer checks: checked, signed, and every proof verified
    /// once (so [`PreparedInclusion::inclusion`] needs no proof files).
    pub(crate) fn open(
        b: std::sync::Arc<RoundBundle>,
        opts: &RoundOptions<'_>,
    ) -> Result<Self, VerifyError> {
        let mut round = Self::check(b)?;
        let body = std::mem::take(&mut round.body);
        check_bundle_signature(&round.b, opts, &round.hash, &body)?;
        round.chains = round.verify_all(opts, true)?;
        round.verified = true;
        Ok(round)
    }
}

impl PreparedInclusion for StarkRound<std::sync::Arc<RoundBundle>> {
    fn inclusion(&self, r: &InclusionRecord) -> Result<InclusionReport, VerifyError> {
        self.inclusion_with(r, &RoundOptions::default())
    }
    fn bundle(&self) -> &RoundBundle {
        &self.b
    }
    fn bundle_hash(&self) -> &str {
        &self.hash
    }
}

/// The auditor's check of a STARK round (see the module): structure, pinned parameters and
/// shapes, signature and pins, the link to `opts.previous`, and every proof with public values
/// rebuilt from the checked configuration and the child proofs (every child used once, in
/// order, at every level; the top's reserves and previous hash from the configuration).
///
/// # Errors
/// The first failed check, naming the proof and value.
pub fn verify_round(b: &RoundBundle, opts: &RoundOptions<'_>) -> Result<RoundReport, VerifyError> {
    let round = StarkRound::check(b)?;
    check_bundle_signature(b, opts, &round.hash, &round.body)?;
    crate::solvency::check_previous(b, opts)?;
    round.verify_all(opts, false)?;
    Ok(RoundReport::of(b, Backend::Stark, opts.previous.is_some()))
}

/// The customer's check of a STARK record: the record's signature and fields, its leaf
/// (user id digest, salt, balances) chained to its batch proof's public root, the batch proof,
/// and every aggregation proof on the way to the top, each naming the level below as its
/// child, the top's root being the round's global root.
///
/// # Errors
/// The first failed check.
pub fn verify_inclusion(
    r: &InclusionRecord,
    b: &RoundBundle,
    opts: &RoundOptions<'_>,
) -> Result<InclusionReport, VerifyError> {
    let round = StarkRound::check(b)?;
    // The bundle's signature (its canonical body hashed, serialized by `check` with the
    // bundle's hash) is checked beside the rest where threads exist; a failure of both
    // reports the signature's, as checking it first would.
    let (publication_key, bundle_hash) = (opts.publication_key, opts.bundle_hash);
    let (signed, included) = both(
        true,
        || {
            let opts = RoundOptions {
                publication_key,
                bundle_hash,
                ..RoundOptions::default()
            };
            check_bundle_signature(b, &opts, &round.hash, &round.body)
        },
        || round.inclusion_with(r, opts),
    );
    signed?;
    included
}

/// The files (SHA-256 names, as in `proofs/<sha256>.bin`) that the customer's check of `r`
/// against `b` reads, in the order it reads them: the record's batch proof, its batch's leaves
/// file (rounds that publish them), and the aggregation proofs on its path to the top. What a
/// browser fetches before calling [`verify_inclusion`]; nothing here is trusted (every file is
/// checked against its name, and the record and bundle by [`verify_inclusion`]).
///
/// # Errors
/// The bundle's structure (as [`verify_inclusion`] checks it) or a `leaf_index` outside the
/// round.
pub fn inclusion_files(r: &InclusionRecord, b: &RoundBundle) -> Result<Vec<String>, VerifyError> {
    StarkRound::check(b)?.files_for(r)
}
