// Node tests of the built package (wasm-verifier/pkg), on valid and tampered inputs.
// Run: wasm-verifier/build.sh && node --test wasm-verifier/tests/
import { test } from "node:test";
import { generateKeyPairSync } from "node:crypto";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "pkg");
const fixtures = join(here, "..", "..", "web", "fixtures", "solvency");
const wasm = await import(join(pkg, "assay_wasm_verifier.js"));
wasm.initSync({ module: readFileSync(join(pkg, "assay_wasm_verifier_bg.wasm")) });
const fx = (name) => readFileSync(join(fixtures, name), "utf8");
const round = fx("round.json");
// The setup's manifest, pinned as the page's config.json pins it.
const pinned = JSON.stringify([JSON.parse(fx("manifest.json"))]);
const check = (rec, rnd, manifests = pinned, pk = "") => wasm.verifyInclusion(rec, rnd, manifests, pk);

test("a Groth16 round needs a pinned manifest naming its keys", () => {
  const bundle = JSON.parse(round);
  let r = check(fx("record-alice.json"), round, "[]").toJSON();
  assert.equal(r.valid, false);
  assert.ok(r.reason.includes(bundle.batches[0].key), r.reason);
  // Another setup's manifest (re-signed with no valid signature): refused as a manifest.
  const other = JSON.parse(fx("manifest.json"));
  other.keys["solvency-batch-K2-w64-B4"] = "ab".repeat(32);
  r = check(fx("record-alice.json"), round, JSON.stringify([other])).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /signature/);
  // The page learns the key and the bundle hash to show them.
  r = check(fx("record-alice.json"), round).toJSON();
  assert.equal(r.valid, true, r.reason);
  assert.equal(r.publication_key, bundle.publication_key);
  assert.match(r.bundle_hash, /^[0-9a-f]{64}$/);
});

test("the customer's pin of the publication key", () => {
  const bundle = JSON.parse(round);
  let r = check(fx("record-alice.json"), round, pinned, bundle.publication_key).toJSON();
  assert.equal(r.valid, true, r.reason);
  r = check(fx("record-alice.json"), round, pinned, "ab".repeat(32)).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /pinned key/);
});

test("every customer's record verifies", () => {
  for (const who of ["alice", "bob", "carol", "dave", "erin"]) {
    const r = check(fx(`record-${who}.json`), round).toJSON();
    assert.equal(r.valid, true, `${who}: ${r.reason}`);
    assert.equal(r.reason, null);
    assert.ok(r.ms > 0 && r.ms < 10_000, `ms = ${r.ms}`);
    assert.ok(r.checks.some((c) => c.includes("top proof")), r.checks.join("\n"));
  }
});

test("a tampered balance breaks the exchange's signature", () => {
  const r = check(fx("record-alice-tampered.json"), round).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /signature/);
});

test("a signed record whose balance is not in the tree is refused", () => {
  const r = check(fx("record-alice-wrong-balance.json"), round).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /global root/);
});

test("a tampered round bundle is refused", () => {
  const b = JSON.parse(round);
  b.batches[0].proof = b.batches[0].proof.replace(/^../, "00");
  const r = check(fx("record-bob.json"), JSON.stringify(b)).toJSON();
  assert.equal(r.valid, false);
  assert.ok(r.reason.length > 0);
});

test("a record from one customer does not pass as another's position", () => {
  const rec = JSON.parse(fx("record-carol.json"));
  rec.leaf_index = (rec.leaf_index + 1) % 16;
  const r = check(JSON.stringify(rec), round).toJSON();
  assert.equal(r.valid, false);
});

test("malformed input and unknown fields are invalid verdicts, not exceptions", () => {
  let r = check("{not json", round).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /line 1/);
  const rec = JSON.parse(fx("record-bob.json"));
  rec.extra = 1;
  r = check(JSON.stringify(rec), round).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /unknown field/);
  r = check(fx("record-bob.json"), "").toJSON();
  assert.equal(r.valid, false);
});

const kycDir = join(here, "..", "..", "web", "fixtures", "kyc");
const kx = (name) => readFileSync(join(kycDir, name), "utf8");
const kycNow = Number(kx("now.txt").trim());
// The issuer's published epoch chain, as `kyc publish --chain DIR` writes it (one file per
// epoch), passed as a JSON array of the files' objects.
const chainFiles = readdirSync(join(kycDir, "chain")).filter((f) => f.endsWith(".json")).sort();
const chainEpochs = chainFiles.map((f) => JSON.parse(kx(join("chain", f))));
const chain = JSON.stringify(chainEpochs);
const manifests = JSON.stringify([JSON.parse(kx("manifest.json"))]);
const kycWith = ({ proof = "proof.json", epoch = "epoch.json", epochs = chain, now = kycNow, challenge = kx("challenge.json"), man = manifests } = {}) =>
  wasm.verifyKyc(kx(proof), kx(epoch), epochs, kx("policy.json"), challenge, kx("issuer-public.json"), man, now).toJSON();
const kyc = (proof, now = kycNow, challenge = kx("challenge.json")) => kycWith({ proof, now, challenge });

test("a valid KYC presentation verifies", () => {
  const r = kyc("proof.json");
  assert.equal(r.valid, true, r.reason);
  assert.ok(r.checks.some((c) => c.includes("nullifier")));
});

test("the fixture's published chain is two epochs and the presentation's epoch is its last", () => {
  // Guards the fixture the chain tests rely on (web/fixtures/kyc/gen.sh).
  assert.equal(chainEpochs.length, 2, chainFiles.join(", "));
  assert.deepEqual(chainEpochs.at(-1), JSON.parse(kx("epoch.json")));
  const tag = JSON.parse(kx("epoch-unpublished.json"));
  const fork = JSON.parse(kx("epoch-fork.json"));
  assert.equal(tag.epoch, chainEpochs.at(-1).epoch + 1);
  assert.equal(fork.epoch, tag.epoch);
  assert.notDeepEqual(fork, tag);
  const r = kycWith();
  assert.equal(r.valid, true, r.reason);
  assert.ok(r.checks.some((c) => c.includes("published chain")), r.checks.join("\n"));
});

test("an epoch the issuer signed but did not publish is refused (it could tag the holder)", () => {
  // The presentation is honestly made against the unpublished epoch: only the chain check
  // refuses it, with the reason `kyc verify --epochs` gives.
  let r = kycWith({ proof: "proof-unpublished.json", epoch: "epoch-unpublished.json" });
  assert.equal(r.valid, false);
  assert.match(r.reason, /^epoch chain: epoch \d+ is signed by the issuer but is not the epoch \d+ of its published chain/);
  assert.match(r.reason, /single out one holder/);
  // The same presentation with that epoch published (the chain extended by it) is valid: the
  // refusal above is the chain check's and nothing else's.
  r = kycWith({ proof: "proof-unpublished.json", epoch: "epoch-unpublished.json", epochs: JSON.stringify([...chainEpochs, JSON.parse(kx("epoch-unpublished.json"))]) });
  assert.equal(r.valid, true, r.reason);
  // A chain that stops before the presentation's epoch (only its first epoch) refuses it too.
  r = kycWith({ epochs: JSON.stringify(chainEpochs.slice(0, 1)) });
  assert.equal(r.valid, false);
  assert.match(r.reason, /not the epoch \d+ of its published chain/);
});

test("a forked published chain is refused, naming the fork", () => {
  const tag = JSON.parse(kx("epoch-unpublished.json"));
  const fork = JSON.parse(kx("epoch-fork.json"));
  // Either branch alone extends the chain: the presentation (of the last common epoch) is valid.
  for (const branch of [tag, fork]) {
    const r = kycWith({ epochs: JSON.stringify([...chainEpochs, branch]) });
    assert.equal(r.valid, true, r.reason);
  }
  // Both: two different signed epochs with one number.
  const r = kycWith({ epochs: JSON.stringify([...chainEpochs, tag, fork]) });
  assert.equal(r.valid, false);
  assert.match(r.reason, new RegExp(`^published epoch chain: epoch ${tag.epoch}: fork: \`epoch chain\\[2\\]\` and \`epoch chain\\[3\\]\``), r.reason);
  // Identical copies of one epoch are one epoch, not a fork.
  const again = kycWith({ epochs: JSON.stringify([...chainEpochs, ...chainEpochs]) });
  assert.equal(again.valid, true, again.reason);
});

test("a mis-signed or broken published chain is refused with the reason", () => {
  // An epoch of the chain whose signature is altered.
  const bad = structuredClone(chainEpochs);
  bad[0].signature = bad[0].signature.replace(/^./, (c) => (c === "0" ? "1" : "0"));
  let r = kycWith({ epochs: JSON.stringify(bad) });
  assert.equal(r.valid, false);
  assert.equal(r.reason, `published epoch chain: epoch ${bad[0].epoch}: bad signature`);
  // A gap: the first epoch and the unpublished one after the last (skipping the last).
  r = kycWith({ epochs: JSON.stringify([chainEpochs[0], JSON.parse(kx("epoch-unpublished.json"))]) });
  assert.equal(r.valid, false);
  assert.match(r.reason, /^published epoch chain: epoch \d+ follows epoch \d+: numbers must be consecutive/);
  // The issuer key of someone else: the chain is not signed by it.
  const x = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x;
  const other = { ...JSON.parse(kx("issuer-public.json")), public_key: Buffer.from(x, "base64url").toString("hex") };
  r = wasm.verifyKyc(kx("proof.json"), kx("epoch.json"), chain, kx("policy.json"), kx("challenge.json"), JSON.stringify(other), manifests, kycNow).toJSON();
  assert.equal(r.valid, false);
  assert.equal(r.reason, `published epoch chain: epoch ${chainEpochs[0].epoch}: bad signature`);
});

test("a malformed published chain is an invalid verdict with the reason, never a throw", () => {
  for (const [epochs, why] of [
    ["{not json", /^published epoch chain: not a JSON array of the issuer's epoch files: invalid type: map/],
    ["[{not json", /^published epoch chain: not a JSON array of the issuer's epoch files: .*line 1 column 3/],
    [kx("epoch.json"), /^published epoch chain: not a JSON array/],
    ["[]", /^published epoch chain: the published chain holds no epoch/],
    ["[1]", /^published epoch chain\[0\]: epoch: /],
    [JSON.stringify([chainEpochs[0], { ...chainEpochs[1], extra: 1 }]), /^published epoch chain\[1\]: epoch: unknown field `extra`/],
    [JSON.stringify([{ ...chainEpochs[0], version: 99 }]), /^published epoch chain\[0\]: epoch: field `version`/],
  ]) {
    const r = kycWith({ epochs });
    assert.equal(r.valid, false, epochs.slice(0, 40));
    assert.match(r.reason, why);
  }
});

test("a Groth16 KYC presentation needs the setup's pinned manifest", () => {
  // Nothing pinned: refused, saying how to pin (the issuer could have made its own key).
  let r = kycWith({ man: "[]" });
  assert.equal(r.valid, false);
  assert.match(r.reason, /no key manifest is pinned/);
  // A manifest of the solvency fixture's setup names no KYC key: refused.
  const other = readFileSync(join(here, "..", "..", "web", "fixtures", "solvency", "manifest.json"), "utf8");
  r = kycWith({ man: `[${other}]` });
  assert.equal(r.valid, false);
  assert.match(r.reason, /kyc-groth16/);
});

test("a tampered KYC presentation is refused with the reason", () => {
  const r = kyc("proof-tampered.json");
  assert.equal(r.valid, false);
  assert.match(r.reason, /does not verify/);
});

test("a KYC presentation is refused on another day, or for another challenge", () => {
  let r = kyc("proof.json", kycNow + 2 * 86400);
  assert.equal(r.valid, false);
  assert.match(r.reason, /epoch age|today/);
  const c = JSON.parse(kx("challenge.json"));
  c.nonce = "00".repeat(31);
  r = kyc("proof.json", kycNow, JSON.stringify(c));
  assert.equal(r.valid, false);
  assert.match(r.reason, /challenge/);
});

test("this (Groth16) package refuses a Halo2 presentation, naming the Halo2 package", () => {
  assert.deepEqual([...wasm.backends()], ["groth16-bn254"]);
  const p = JSON.parse(kx("proof.json"));
  p.backend = "halo2-ipa-pasta";
  const r = wasm.verifyKyc(JSON.stringify(p), kx("epoch.json"), chain, kx("policy.json"), kx("challenge.json"), kx("issuer-public.json"), manifests, kycNow).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /^backend halo2-ipa-pasta: this is the Groth16 package .*assay_wasm_verifier_halo2/);
});

test("KYC check time in Node (median of 20)", () => {
  const ms = [];
  for (let i = 0; i < 20; i++) ms.push(kyc("proof.json").ms);
  ms.sort((a, b) => a - b);
  console.log(`wasm KYC check in node: median ${((ms[9] + ms[10]) / 2).toFixed(2)} ms over 20`);
});

test("KYC check answers with a verdict on any input", () => {
  const r = wasm.verifyKyc("{}", "{}", "[]", "{}", "{}", "{}", "[]", Date.now() / 1000).toJSON();
  assert.equal(r.valid, false);
  assert.ok(typeof r.reason === "string" && r.reason.length > 0);
});

test("inclusion check time in Node (median of 20)", () => {
  const rec = fx("record-alice.json");
  const ms = [];
  for (let i = 0; i < 20; i++) ms.push(check(rec, round).toJSON().ms);
  ms.sort((a, b) => a - b);
  const median = (ms[9] + ms[10]) / 2;
  console.log(`wasm inclusion check in node: median ${median.toFixed(2)} ms over 20`);
  assert.ok(median < 5000);
});

test("a prepared round answers many records, its keys opened once (median of 20)", () => {
  const bundle = JSON.parse(round);
  const p = wasm.prepareRound(round, pinned, bundle.publication_key);
  assert.equal(p.bundleHash, check(fx("record-alice.json"), round).toJSON().bundle_hash);
  assert.equal(p.publicationKey, bundle.publication_key);
  const ms = [];
  for (let i = 0; i < 20; i++) {
    const who = ["alice", "bob", "carol", "dave", "erin"][i % 5];
    const r = p.verifyInclusion(fx(`record-${who}.json`)).toJSON();
    assert.equal(r.valid, true, `${who}: ${r.reason}`);
    ms.push(r.ms);
  }
  // The same verdicts as the one-shot check on bad records.
  for (const bad of ["record-alice-tampered.json", "record-alice-wrong-balance.json"]) {
    assert.equal(p.verifyInclusion(fx(bad)).toJSON().reason, check(fx(bad), round).toJSON().reason);
  }
  assert.match(p.verifyInclusion("{not json").toJSON().reason, /line 1/);
  // A round that fails preparation answers every record with its reason, never a throw.
  for (const [rnd, man, pk, why] of [
    [round, "[]", "", /manifest/],
    [round, pinned, "ab".repeat(32), /pinned key/],
    ["{", pinned, "", /line 1/],
  ]) {
    const r = wasm.prepareRound(rnd, man, pk).verifyInclusion(fx("record-alice.json")).toJSON();
    assert.equal(r.valid, false);
    assert.match(r.reason, why);
  }
  ms.sort((a, b) => a - b);
  console.log(`wasm prepared round in node: median ${((ms[9] + ms[10]) / 2).toFixed(2)} ms per record over 20`);
});

test("a prepared round verifies the proofs every record shares before any record", () => {
  const bundle = JSON.parse(round);
  const p = wasm.prepareRound(round, pinned, bundle.publication_key);
  assert.equal(p.verifySharedProofs(), undefined);
  const r = p.verifyInclusion(fx("record-alice.json")).toJSON();
  assert.equal(r.valid, true, r.reason);
  // Every proof on the path is still listed as verified: the shared ones were, ahead.
  assert.ok(r.checks.some((c) => /top proof: verified/.test(c)), JSON.stringify(r.checks));
  // A round that did not prepare has nothing to verify ahead; its records say why.
  const bad = wasm.prepareRound(round, "[]", "");
  assert.equal(bad.verifySharedProofs(), undefined);
  assert.match(bad.verifyInclusion(fx("record-alice.json")).toJSON().reason, /manifest/);
});
