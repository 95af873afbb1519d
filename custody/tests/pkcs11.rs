//! Shares and keys in a real PKCS#11 token: Debian's SoftHSM2.
//!
//! The test sets its token up itself: a private `SOFTHSM2_CONF` and token folder under a
//! temporary folder, a token initialised with `softhsm2-util`. It needs `softhsm2` installed
//! (`tests/softhsm/install.sh`, called by `scripts/test.sh`). Without it the tests are skipped
//! with a notice, unless `ASSAY_REQUIRE_SOFTHSM` or `CI` is set: then they fail.
//!
//! PKCS#11 state is process-wide (`SOFTHSM2_CONF` is read once, at `C_Initialize`), so every
//! test of this file shares one token.

use assay_custody::dkg::{self, DkgLayout, DkgParams};
use assay_custody::pkcs11::{self, Token, TokenEd25519Key};
use assay_custody::sign::{self, ShareSource};
use assay_custody::vault::{self, VaultPolicy};
use assay_custody::{CustodyError, KdfCost};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use zeroize::Zeroizing;

const PASS: [&str; 3] = ["pass one", "pass two", "pass three"];
/// Obviously test-only PINs of a throw-away token.
const USER_PIN: &str = "test-user-pin-1234";
const SO_PIN: &str = "test-so-pin-5678";
const LABEL: &str = "assay-test";

/// Where Debian's softhsm2 puts the module (both paths are shipped; the first is a link).
const MODULES: [&str; 2] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
];

struct Env {
    _dir: tempfile::TempDir,
    tokens: PathBuf,
    module: PathBuf,
}

fn required() -> bool {
    std::env::var_os("ASSAY_REQUIRE_SOFTHSM").is_some() || std::env::var_os("CI").is_some()
}

/// The token environment, set up once; `None` (skip) when softhsm2 is not installed and not
/// required.
fn env() -> Option<&'static Env> {
    static ENV: OnceLock<Option<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let module = std::env::var_os("ASSAY_SOFTHSM_MODULE")
            .map(PathBuf::from)
            .or_else(|| MODULES.iter().map(PathBuf::from).find(|p| p.is_file()));
        let util = Command::new("softhsm2-util").arg("--version").output();
        let (module, true) = (module, util.is_ok_and(|o| o.status.success())) else {
            assert!(
                !required(),
                "SoftHSM2 is required here (ASSAY_REQUIRE_SOFTHSM or CI is set) but not installed: \
                 run tests/softhsm/install.sh"
            );
            eprintln!("SKIPPED: softhsm2 is not installed (tests/softhsm/install.sh installs it)");
            return None;
        };
        let Some(module) = module else {
            assert!(!required(), "SoftHSM2's module not found in {MODULES:?}");
            eprintln!("SKIPPED: softhsm2's module not found");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )
        .unwrap();
        // Before the module is first initialised in this process.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        let out = Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", LABEL])
            .args(["--so-pin", SO_PIN, "--pin", USER_PIN])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "softhsm2-util --init-token: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Env {
            _dir: dir,
            tokens,
            module,
        })
    })
    .as_ref()
}

fn token(e: &Env) -> Token {
    Token::open(&e.module, LABEL).unwrap()
}

fn dalek_verify(pk: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(pk)
        .unwrap()
        .verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
        .is_ok()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn file_source(dir: &Path, i: u16) -> ShareSource {
    ShareSource::File {
        path: DkgLayout::new(dir).share(i),
        passphrase: Zeroizing::new(PASS[usize::from(i) - 1].to_string()),
    }
}

fn token_source(e: &Env, path: &Path, pin: &str) -> ShareSource {
    ShareSource::Token {
        path: path.to_path_buf(),
        module: e.module.clone(),
        pin: Zeroizing::new(pin.to_string()),
    }
}

#[test]
fn a_share_in_softhsm2_signs() {
    let Some(e) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let g = dkg::run_in_process(
        dir.path(),
        DkgParams {
            participants: 3,
            threshold: 2,
        },
        &PASS,
        KdfCost::MINIMUM,
    )
    .unwrap();
    let l = DkgLayout::new(dir.path());
    let secret = vault::open_share(&l.share(3), PASS[2], VaultPolicy::default()).unwrap();
    let secret = secret.signing_share_bytes();

    // Share 3 moves into the token.
    let t3 = dir.path().join("share-3.pkcs11.json");
    let key_label = pkcs11::import_share(
        &l.share(3),
        PASS[2],
        VaultPolicy::default(),
        &token(e),
        USER_PIN,
        None,
        &t3,
    )
    .unwrap();
    assert!(key_label.starts_with("assay-share-3-"), "{key_label}");
    assert!(pkcs11::is_token_share(&t3));
    let info = pkcs11::read_token_share(&t3).unwrap();
    assert_eq!((info.participant, &info.group), (3, &g));
    assert_eq!(info.token_label, LABEL);
    assert_eq!(vault::read_share_public(&t3).unwrap(), (3, g.clone()));
    // Importing onto an existing file is refused.
    assert!(matches!(
        pkcs11::import_share(
            &l.share(3),
            PASS[2],
            VaultPolicy::default(),
            &token(e),
            USER_PIN,
            None,
            &t3
        ),
        Err(CustodyError::Exists(_))
    ));

    // The plain-text share is nowhere: not in the token's files, not in the share files.
    let hex_secret = hex::encode(&*secret);
    let mut looked = 0;
    for f in files_under(&e.tokens)
        .into_iter()
        .chain(files_under(dir.path()))
    {
        let b = std::fs::read(&f).unwrap();
        assert!(
            !contains(&b, &secret) && !contains(&b, hex_secret.as_bytes()),
            "{}: holds the share in plain text",
            f.display()
        );
        looked += 1;
    }
    assert!(looked >= 5, "only {looked} files looked at");

    // Token share + file share: an ordinary Ed25519 signature by the group key.
    let msg = b"epoch 8 root";
    for other in [1u16, 2] {
        let s = sign::sign_with_sources(
            &[
                token_source(e, &t3, USER_PIN),
                file_source(dir.path(), other),
            ],
            msg,
            VaultPolicy::default(),
        )
        .unwrap();
        assert_eq!(s.public_key, g.public_key);
        assert_eq!(s.signers, vec![other, 3]);
        assert!(dalek_verify(&g.public_key, msg, &s.signature));
        assert!(!dalek_verify(&g.public_key, b"epoch 9 root", &s.signature));
    }
    // The two file shares still sign.
    let s = sign::sign_with_sources(
        &[file_source(dir.path(), 1), file_source(dir.path(), 2)],
        msg,
        VaultPolicy::default(),
    )
    .unwrap();
    assert!(dalek_verify(&g.public_key, msg, &s.signature));

    // The token share alone cannot sign (refused before the token is even asked).
    let alone = sign::sign_with_sources(
        &[token_source(e, &t3, USER_PIN)],
        msg,
        VaultPolicy::default(),
    );
    assert!(
        matches!(
            alone,
            Err(CustodyError::NotEnoughShares {
                given: 1,
                threshold: 2
            })
        ),
        "{alone:?}"
    );
    // Nor twice the same share.
    assert!(sign::sign_with_sources(
        &[
            token_source(e, &t3, USER_PIN),
            token_source(e, &t3, USER_PIN)
        ],
        msg,
        VaultPolicy::default(),
    )
    .is_err());

    // A wrong PIN is a clear error naming the token.
    let wrong = pkcs11::open_token_share(&t3, &e.module, "not-the-pin").unwrap_err();
    assert!(matches!(wrong, CustodyError::TokenPin { .. }), "{wrong:?}");
    let text = wrong.to_string();
    assert!(
        text.contains("wrong user PIN") && text.contains(LABEL),
        "{text}"
    );
    // The right PIN still works afterwards.
    pkcs11::open_token_share(&t3, &e.module, USER_PIN).unwrap();

    // A modified ciphertext is refused by the token.
    let original = std::fs::read_to_string(&t3).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    let ct = v["ciphertext"].as_str().unwrap().to_string();
    let flipped = format!("{}{}", if &ct[..1] == "0" { "1" } else { "0" }, &ct[1..]);
    v["ciphertext"] = flipped.into();
    let bad = dir.path().join("share-3-modified.pkcs11.json");
    std::fs::write(&bad, serde_json::to_vec(&v).unwrap()).unwrap();
    let err = pkcs11::open_token_share(&bad, &e.module, USER_PIN).unwrap_err();
    assert!(err.to_string().contains("does not decrypt"), "{err}");
    // A modified public field (the participant number) fails too (it is bound as AAD).
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["participant"] = 2.into();
    let bad2 = dir.path().join("share-3-renumbered.pkcs11.json");
    std::fs::write(&bad2, serde_json::to_vec(&v).unwrap()).unwrap();
    assert!(pkcs11::open_token_share(&bad2, &e.module, USER_PIN).is_err());
    // An unknown field is refused.
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["extra"] = 1.into();
    std::fs::write(&bad2, serde_json::to_vec(&v).unwrap()).unwrap();
    let err = pkcs11::read_token_share(&bad2).unwrap_err();
    assert!(err.to_string().contains("extra"), "{err}");
    // Another token label: a clear error listing the tokens present.
    let err = Token::open(&e.module, "no-such-token").unwrap_err();
    assert!(err.to_string().contains("no token labelled"), "{err}");
}

#[test]
fn plain_ed25519_in_softhsm2_signs_with_ckm_eddsa() {
    let Some(e) = env() else { return };
    let t = token(e);
    let key = pkcs11::ed25519_keygen(&t, USER_PIN, "issuer-key").unwrap();
    assert_eq!(key.token_label, LABEL);
    let dir = tempfile::tempdir().unwrap();
    let kf = dir.path().join("issuer-key.pkcs11.json");
    key.write_new(&kf).unwrap();
    assert_eq!(TokenEd25519Key::read(&kf).unwrap(), key);

    let msg = b"issuer statement 1";
    let sig = pkcs11::ed25519_sign(&e.module, &key, USER_PIN, msg).unwrap();
    assert!(dalek_verify(&key.public_key, msg, &sig));
    assert!(!dalek_verify(&key.public_key, b"issuer statement 2", &sig));
    let mut tampered = *msg;
    tampered[0] ^= 1;
    assert!(!dalek_verify(&key.public_key, &tampered, &sig));

    // A wrong PIN is a clear error.
    let err = pkcs11::ed25519_sign(&e.module, &key, "wrong-pin", msg).unwrap_err();
    assert!(matches!(err, CustodyError::TokenPin { .. }), "{err:?}");
    // A key file whose public key is another key is refused.
    let mut other = key.clone();
    other.public_key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32])
        .verifying_key()
        .to_bytes();
    let err = pkcs11::ed25519_sign(&e.module, &other, USER_PIN, msg).unwrap_err();
    assert!(err.to_string().contains("not the public key"), "{err}");
    // A key id that is not in the token.
    let mut missing = key.clone();
    missing.key_id = vec![0; 16];
    let err = pkcs11::ed25519_sign(&e.module, &missing, USER_PIN, msg).unwrap_err();
    assert!(err.to_string().contains("no "), "{err}");
}
