//! The web fixtures: a tiny real round (16 leaves, batches of 4, fan-in 2, so a customer's
//! path crosses a batch proof, an aggregation and the top proof), its inclusion records, and
//! tampered copies. Written to `web/fixtures/solvency/` and shared by the server tests, the
//! wasm node tests and the browser test.
//!
//! The files are committed. This test checks that they still verify; with
//! `ASSAY_REGEN_FIXTURES=1` (or when they are missing) it proves the round again first
//! (seeded: the output is the same bytes every time).

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use assay_circuits::{
    encoding, merkle,
    solvency::{
        self as st,
        constraints::{AggregateCircuit, BatchCircuit},
        AggregateWitness, BatchWitness, ChildOpening, LeafWitness, TopInputs,
    },
    Fr,
};
use assay_verifier::{
    amount, field, groth16,
    groth16::manifest::{
        KeyManifest, SolvencyShape, TrustedKeys, MANIFEST_DOMAIN, MANIFEST_VERSION,
    },
    signing,
    solvency::{
        verify_inclusion_with, verify_round, AssetConfig, BalanceEntry, InclusionRecord,
        ProofEntry, RoundBundle, RoundConfig, RoundOptions, BACKEND_GROTH16, RECORD_DOMAIN,
        ROUND_DOMAIN,
    },
};
use ed25519_dalek::{Signer, SigningKey};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::{collections::BTreeMap, path::PathBuf};

const USERS: [(&str, &str, &str); 5] = [
    ("alice", "0.50000000", "1200.00"),
    ("bob", "1.25000000", "0"),
    ("carol", "0", "99.99"),
    ("dave", "0.00012345", "5000000.5"),
    ("erin", "3.14159265", "2718.28"),
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/fixtures/solvency")
}

fn rand_fr(rng: &mut StdRng) -> Fr {
    // 248 random bits: below the modulus, so uniform enough for salts and blinds in fixtures.
    let mut b = [0u8; 32];
    rng.fill(&mut b[..31]);
    field::from_hash(&b)
}

fn entry(key: &str, proof: &ark_groth16::Proof<Bn254>, inputs: &[Fr]) -> ProofEntry {
    ProofEntry {
        key: key.into(),
        proof: groth16::encode_proof(proof),
        public_inputs: inputs.iter().map(field::to_dec).collect(),
    }
}

fn generate() {
    let mut rng = StdRng::seed_from_u64(20261123);
    let config = RoundConfig {
        version: 1,
        round_id: "2026-11-23-demo".into(),
        balance_bits: 64,
        batch_size: 4,
        fan_in: 2,
        assets: vec![
            AssetConfig {
                symbol: "BTC".into(),
                decimals: 8,
                reserves: "10".into(),
            },
            AssetConfig {
                symbol: "USDT".into(),
                decimals: 6,
                reserves: "6000000".into(),
            },
        ],
        previous_round: None,
    };
    let cfg = config.check().unwrap();
    let shape = cfg.shape;
    let n_leaves = 16usize;

    // Leaves: the users at shuffled positions, the rest zero-balance padding.
    let mut positions: Vec<usize> = (0..n_leaves).collect();
    for i in (1..n_leaves).rev() {
        positions.swap(i, rng.gen_range(0..=i));
    }
    let mut leaves: Vec<LeafWitness> = (0..n_leaves)
        .map(|_| LeafWitness::padding(rand_fr(&mut rng), 2))
        .collect();
    let mut salts = BTreeMap::new();
    for (u, (uid, btc, usdt)) in USERS.iter().enumerate() {
        let salt = rand_fr(&mut rng);
        let id = st::account_id(encoding::hash_to_field(uid.as_bytes()).unwrap(), salt);
        let b = [
            amount::parse_units(btc, 8, 64).unwrap(),
            amount::parse_units(usdt, 6, 64).unwrap(),
        ];
        leaves[positions[u]] = LeafWitness {
            id,
            balances: b.iter().map(|x| Fr::from(*x)).collect(),
        };
        salts.insert(*uid, (salt, positions[u]));
    }
    let leaf_hashes: Vec<Fr> = leaves.iter().map(LeafWitness::hash).collect();
    let levels = merkle::levels(&leaf_hashes);

    // Keys.
    let blank_batch = BatchCircuit {
        shape,
        batch_size: 4,
        public: None,
        witness: None,
    };
    let blank_agg = |top| AggregateCircuit {
        shape,
        fan_in: 2,
        top,
        public: None,
        witness: None,
    };
    let (pk_b, vk_b) =
        Groth16::<Bn254>::circuit_specific_setup(blank_batch.clone(), &mut rng).unwrap();
    let (pk_a, vk_a) =
        Groth16::<Bn254>::circuit_specific_setup(blank_agg(false), &mut rng).unwrap();
    let (pk_t, vk_t) = Groth16::<Bn254>::circuit_specific_setup(blank_agg(true), &mut rng).unwrap();
    let mut verifying_keys = BTreeMap::new();
    let mut key_name = |vk| {
        let hex = groth16::encode_vk(vk);
        let h = groth16::vk_hash_of_hex(&hex).unwrap();
        verifying_keys.insert(h.clone(), hex);
        h
    };
    let (kb, ka, kt) = (key_name(&vk_b), key_name(&vk_a), key_name(&vk_t));

    // Batches.
    let mut batches = Vec::new();
    let mut children = Vec::new();
    for chunk in leaves.chunks(4) {
        let w = BatchWitness {
            round: cfg.round,
            leaves: chunk.to_vec(),
            blind: rand_fr(&mut rng),
        };
        let e = w.evaluate(&shape).unwrap();
        let c = BatchCircuit {
            public: Some(e.public),
            witness: Some(w.clone()),
            ..blank_batch.clone()
        };
        let p = Groth16::<Bn254>::prove(&pk_b, c, &mut rng).unwrap();
        batches.push(entry(&kb, &p, &e.public.to_inputs()));
        children.push(ChildOpening {
            root: e.public.root,
            sums: e.sums,
            blind: w.blind,
        });
    }
    // Aggregations: 4 batches -> 2 -> 1 (top).
    let mut aggregations = Vec::new();
    let mut level_children = children;
    loop {
        let top = level_children.len() == 2;
        let mut proofs = Vec::new();
        let mut next = Vec::new();
        for pair in level_children.chunks(2) {
            let w = AggregateWitness {
                round: cfg.round,
                children: pair.to_vec(),
                blind: rand_fr(&mut rng),
                top: top.then(|| TopInputs {
                    previous: cfg.previous,
                    reserves: cfg.reserves.iter().map(|r| Fr::from(*r)).collect(),
                }),
            };
            let e = w.evaluate(&shape).unwrap();
            let c = AggregateCircuit {
                public: Some(e.public.clone()),
                witness: Some(w.clone()),
                ..blank_agg(top)
            };
            let (pk, k) = if top { (&pk_t, &kt) } else { (&pk_a, &ka) };
            let p = Groth16::<Bn254>::prove(pk, c, &mut rng).unwrap();
            proofs.push(entry(k, &p, &e.public.to_inputs()));
            next.push(ChildOpening {
                root: e.public.root,
                sums: e.sums,
                blind: w.blind,
            });
        }
        aggregations.push(proofs);
        if top {
            break;
        }
        level_children = next;
    }

    let sk = SigningKey::from_bytes(&[7u8; 32]);
    let mut bundle = RoundBundle {
        version: assay_verifier::solvency::BUNDLE_VERSION,
        backend: BACKEND_GROTH16.into(),
        halo2: None,
        circuits: Some(assay_verifier::solvency::Circuits::Groth16(
            Default::default(),
        )),
        config,
        leaf_count: n_leaves as u64,
        global_root: field::to_dec(&merkle::root(&leaf_hashes)),
        verifying_keys,
        batches,
        aggregations,
        publication_key: hex::encode(sk.verifying_key().as_bytes()),
        signature: String::new(),
    };
    bundle.signature = hex::encode(
        sk.sign(&signing::message(ROUND_DOMAIN, &bundle.signed_body()))
            .to_bytes(),
    );
    // The setup's manifest (a fixed test setup key): the pin of the server and page tests.
    let setup = SigningKey::from_bytes(&[11u8; 32]);
    let mut manifest = KeyManifest {
        version: MANIFEST_VERSION,
        backend: BACKEND_GROTH16.into(),
        solvency: Some(SolvencyShape {
            num_assets: 2,
            balance_bits: 64,
            batch_size: 4,
            fan_in: 2,
        }),
        keys: [
            ("solvency-batch-K2-w64-B4".to_string(), kb.clone()),
            ("solvency-agg-K2-w64-f2".to_string(), ka.clone()),
            ("solvency-top-K2-w64-f2".to_string(), kt.clone()),
        ]
        .into_iter()
        .collect(),
        setup_key: hex::encode(setup.verifying_key().as_bytes()),
        created: "2026-11-23T00:00:00Z".into(),
        signature: String::new(),
    };
    manifest.signature = hex::encode(
        setup
            .sign(&signing::message(MANIFEST_DOMAIN, &manifest.signed_body()))
            .to_bytes(),
    );
    let pinned = [KeyManifest::open(&serde_json::to_vec(&manifest).unwrap(), "manifest").unwrap()];
    let opts = RoundOptions {
        trusted_keys: TrustedKeys::Manifests(&pinned),
        ..RoundOptions::default()
    };
    verify_round(&bundle, &opts).unwrap();

    let d = dir();
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("manifest.json"),
        serde_json::to_string_pretty(&manifest).unwrap() + "\n",
    )
    .unwrap();
    std::fs::write(
        d.join("round.json"),
        serde_json::to_string_pretty(&bundle).unwrap() + "\n",
    )
    .unwrap();
    for (uid, btc, usdt) in USERS {
        let (salt, pos) = salts[uid];
        let mut r = InclusionRecord {
            version: 1,
            round_id: bundle.config.round_id.clone(),
            bundle_hash: bundle.hash(),
            user_id: uid.into(),
            balances: vec![
                BalanceEntry {
                    symbol: "BTC".into(),
                    amount: btc.into(),
                },
                BalanceEntry {
                    symbol: "USDT".into(),
                    amount: usdt.into(),
                },
            ],
            salt: field::to_dec(&salt),
            leaf_index: pos as u64,
            path: merkle::path(&levels, pos)
                .iter()
                .map(field::to_dec)
                .collect(),
            publication_key: bundle.publication_key.clone(),
            signature: String::new(),
        };
        r.signature = hex::encode(
            sk.sign(&signing::message(RECORD_DOMAIN, &r.signed_body()))
                .to_bytes(),
        );
        verify_inclusion_with(&r, &bundle, &opts).unwrap();
        std::fs::write(
            d.join(format!("record-{uid}.json")),
            serde_json::to_string_pretty(&r).unwrap() + "\n",
        )
        .unwrap();
    }
    // A record the exchange signed, but with a balance that is not the one in the tree.
    let mut w =
        InclusionRecord::parse(&std::fs::read(d.join("record-alice.json")).unwrap(), "a").unwrap();
    w.balances[1].amount = "1300.00".into();
    w.signature = hex::encode(
        sk.sign(&signing::message(RECORD_DOMAIN, &w.signed_body()))
            .to_bytes(),
    );
    std::fs::write(
        d.join("record-alice-wrong-balance.json"),
        serde_json::to_string_pretty(&w).unwrap() + "\n",
    )
    .unwrap();
    // A tampered record: alice claims a larger balance than the exchange counted.
    let mut t: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("record-alice.json")).unwrap()).unwrap();
    t["balances"][0]["amount"] = "5.00000000".into();
    std::fs::write(
        d.join("record-alice-tampered.json"),
        serde_json::to_string_pretty(&t).unwrap() + "\n",
    )
    .unwrap();
}

#[test]
fn web_fixtures_verify() {
    let d = dir();
    if std::env::var_os("ASSAY_REGEN_FIXTURES").is_some()
        || !d.join("round.json").exists()
        || !d.join("manifest.json").exists()
    {
        generate();
    }
    let round = RoundBundle::parse(&std::fs::read(d.join("round.json")).unwrap(), "round").unwrap();
    let pinned = [
        KeyManifest::open(&std::fs::read(d.join("manifest.json")).unwrap(), "manifest").unwrap(),
    ];
    let opts = RoundOptions {
        trusted_keys: TrustedKeys::Manifests(&pinned),
        ..RoundOptions::default()
    };
    verify_round(&round, &opts).unwrap();
    // Without the pin the round is refused.
    assert!(verify_round(&round, &RoundOptions::default()).is_err());
    for (uid, _, _) in USERS {
        let r = InclusionRecord::parse(
            &std::fs::read(d.join(format!("record-{uid}.json"))).unwrap(),
            uid,
        )
        .unwrap();
        let rep = verify_inclusion_with(&r, &round, &opts).unwrap();
        assert_eq!(rep.proofs_checked.len(), 3, "batch, aggregation, top");
    }
    let t = InclusionRecord::parse(
        &std::fs::read(d.join("record-alice-tampered.json")).unwrap(),
        "tampered",
    )
    .unwrap();
    let e = verify_inclusion_with(&t, &round, &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("signature"), "{e}");
    let w = InclusionRecord::parse(
        &std::fs::read(d.join("record-alice-wrong-balance.json")).unwrap(),
        "wrong",
    )
    .unwrap();
    let e = verify_inclusion_with(&w, &round, &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("global root"), "{e}");
}
