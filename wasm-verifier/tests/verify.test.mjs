// Node tests of the built package (wasm-verifier/pkg), on valid and tampered inputs.
// Run: wasm-verifier/build.sh && node --test wasm-verifier/tests/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
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
const kyc = (proof, now = kycNow, challenge = kx("challenge.json")) =>
  wasm.verifyKyc(kx(proof), kx("epoch.json"), kx("policy.json"), challenge, kx("issuer-public.json"), manifests, now).toJSON();
const manifests = JSON.stringify([JSON.parse(kx("manifest.json"))]);

test("a valid KYC presentation verifies", () => {
  const r = kyc("proof.json");
  assert.equal(r.valid, true, r.reason);
  assert.ok(r.checks.some((c) => c.includes("nullifier")));
});

test("a Groth16 KYC presentation needs the setup's pinned manifest", () => {
  // Nothing pinned: refused, saying how to pin (the issuer could have made its own key).
  let r = wasm.verifyKyc(kx("proof.json"), kx("epoch.json"), kx("policy.json"), kx("challenge.json"), kx("issuer-public.json"), "[]", kycNow).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /no key manifest is pinned/);
  // A manifest of the solvency fixture's setup names no KYC key: refused.
  const other = readFileSync(join(here, "..", "..", "web", "fixtures", "solvency", "manifest.json"), "utf8");
  r = wasm.verifyKyc(kx("proof.json"), kx("epoch.json"), kx("policy.json"), kx("challenge.json"), kx("issuer-public.json"), `[${other}]`, kycNow).toJSON();
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

test("KYC check time in Node (median of 20)", () => {
  const ms = [];
  for (let i = 0; i < 20; i++) ms.push(kyc("proof.json").ms);
  ms.sort((a, b) => a - b);
  console.log(`wasm KYC check in node: median ${((ms[9] + ms[10]) / 2).toFixed(2)} ms over 20`);
});

test("KYC check answers with a verdict on any input", () => {
  const r = wasm.verifyKyc("{}", "{}", "{}", "{}", "{}", "[]", Date.now() / 1000).toJSON();
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
