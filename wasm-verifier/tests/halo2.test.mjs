// Node tests of the built package on Halo2 rounds: the web fixture's round proven on Halo2
// (web/fixtures/solvency-halo2, k = 9) with the IPA parameters of k = 9 written by
// .ci/web-tests.sh (web/fixtures/params/halo2-params-k9.bin, from
// `cargo test -p assay-verifier --features halo2 --test halo2_params_pins write_params_for_the_web`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "pkg");
const web = join(here, "..", "..", "web", "fixtures");
// The Halo2 package (feature `halo2`); the Groth16 package, which every page loads, refuses
// Halo2 rounds naming it.
const wasm = await import(join(pkg, "assay_wasm_verifier_halo2.js"));
wasm.initSync({ module: readFileSync(join(pkg, "assay_wasm_verifier_halo2_bg.wasm")) });
const small = await import(join(pkg, "assay_wasm_verifier.js"));
small.initSync({ module: readFileSync(join(pkg, "assay_wasm_verifier_bg.wasm")) });
const h2 = (name) => readFileSync(join(web, "solvency-halo2", name), "utf8");
const g16 = (name) => readFileSync(join(web, "solvency", name), "utf8");
const paramsFile = join(web, "params", "halo2-params-k9.bin");
assert.ok(existsSync(paramsFile), `${paramsFile} is missing: run .ci/web-tests.sh (or the halo2_params_pins test with ASSAY_WRITE_PARAMS_DIR)`);
const k9 = new Uint8Array(readFileSync(paramsFile));
const round = h2("round.json");
const params = { 9: k9 };

test("two packages: the Groth16 one refuses a Halo2 round naming the Halo2 one", () => {
  assert.deepEqual([...small.backends()], ["groth16-bn254"]);
  assert.deepEqual([...wasm.backends()], ["groth16-bn254", "halo2-ipa-pasta"]);
  assert.equal(small.halo2ParamsNeeded, undefined);
  for (const r of [small.verifyInclusion(h2("record-alice.json"), round, "[]", ""),
                   small.prepareRound(round, "[]", "").verifyInclusion(h2("record-alice.json"))].map((v) => v.toJSON())) {
    assert.equal(r.valid, false);
    assert.match(r.reason, /^backend halo2-ipa-pasta: this is the Groth16 package .* the Halo2 package \(assay_wasm_verifier_halo2\) does$/);
    assert.equal(r.backend, "halo2-ipa-pasta");
  }
  // The bundle's own statements are still read (the page uses them to pick the package).
  assert.equal(small.roundInfo(round).backend, "halo2-ipa-pasta");
  // Both packages give one verdict on a Groth16 round.
  const pinned = JSON.stringify([JSON.parse(g16("manifest.json"))]);
  const a = small.verifyInclusion(g16("record-alice.json"), g16("round.json"), pinned, "").toJSON();
  const b = wasm.verifyInclusion(g16("record-alice.json"), g16("round.json"), pinned, "").toJSON();
  assert.equal(a.valid, true, a.reason);
  assert.deepEqual({ ...a, ms: 0 }, { ...b, ms: 0 });
});

test("a Halo2 round says which parameters it needs; a Groth16 round needs none", () => {
  assert.deepEqual([...wasm.halo2ParamsNeeded(round)], [9]);
  assert.deepEqual([...wasm.halo2ParamsNeeded(g16("round.json"))], []);
  assert.deepEqual([...wasm.halo2ParamsNeeded("{not json")], []);
  assert.ok(wasm.halo2MaxK() >= 9);
  const info = wasm.roundInfo(round);
  assert.equal(info.backend, "halo2-ipa-pasta");
  assert.equal(info.round_id, wasm.roundInfo(g16("round.json")).round_id);
  assert.ok(wasm.roundInfo("{").error);
});

test("a Halo2 record verifies with the pinned parameters, and says it needs no setup", () => {
  const t = performance.now();
  const p = wasm.prepareRound(round, "[]", "", params);
  const prepareMs = performance.now() - t;
  assert.equal(p.error, undefined);
  assert.equal(p.backend, "halo2-ipa-pasta");
  assert.match(p.trust, /no trusted setup/);
  const ms = [];
  for (const who of ["alice", "bob", "carol", "dave", "erin"]) {
    const r = p.verifyInclusion(h2(`record-${who}.json`)).toJSON();
    assert.equal(r.valid, true, `${who}: ${r.reason}`);
    assert.equal(r.backend, "halo2-ipa-pasta");
    assert.match(r.trust, /no trusted setup/);
    assert.ok(r.checks.some((c) => c.includes("top proof: verified (halo2-ipa-pasta)")), r.checks.join("\n"));
    ms.push(r.ms);
  }
  // A Map works as well as an object; the one-shot check too.
  const one = wasm.verifyInclusion(h2("record-bob.json"), round, "[]", "", new Map([[9, k9]])).toJSON();
  assert.equal(one.valid, true, one.reason);
  ms.sort((a, b) => a - b);
  console.log(`wasm Halo2 (k = 9) in node: prepare ${prepareMs.toFixed(1)} ms (parameters checked, keys derived), then median ${ms[2].toFixed(1)} ms per record over 5`);
});

test("a tampered Halo2 record is refused with the reason", () => {
  const p = wasm.prepareRound(round, "[]", "", params);
  let r = p.verifyInclusion(h2("record-alice-tampered.json")).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /signature/);
  r = p.verifyInclusion(h2("record-alice-wrong-balance.json")).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /global root/);
  // A Groth16 record of the same round does not pass against the Halo2 bundle.
  r = p.verifyInclusion(g16("record-alice.json")).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /another bundle/);
});

test("a tampered Halo2 proof is refused", () => {
  const b = JSON.parse(round);
  const proof = b.aggregations.at(-1)[0].proof;
  b.aggregations.at(-1)[0].proof = proof.slice(0, 200) + (proof[200] === "0" ? "1" : "0") + proof.slice(201);
  const r = wasm.verifyInclusion(h2("record-alice.json"), JSON.stringify(b), "[]", "", params).toJSON();
  assert.equal(r.valid, false);
  assert.ok(r.reason.length > 0);
});

test("parameters that are not the pinned ones are refused with the reason", () => {
  // One byte changed: the hash differs.
  const bad = k9.slice();
  bad[bad.length - 1] ^= 1;
  let r = wasm.prepareRound(round, "[]", "", { 9: bad }).verifyInclusion(h2("record-alice.json")).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /IPA parameters: .*not the pinned parameters of k = 9/);
  // Truncated.
  r = wasm.verifyInclusion(h2("record-alice.json"), round, "[]", "", { 9: k9.subarray(0, 1000) }).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /not the pinned parameters/);
  // k = 9's file given as k = 10's: refused by its header.
  r = wasm.verifyInclusion(h2("record-alice.json"), round, "[]", "", { 9: k9, 10: k9 }).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /for k = 9, this circuit needs k = 10/);
  // Missing, or not bytes at all: a verdict, never a throw.
  r = wasm.verifyInclusion(h2("record-alice.json"), round, "[]", "").toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /no IPA parameters were given for k = 9/);
  r = wasm.verifyInclusion(h2("record-alice.json"), round, "[]", "", { 9: "not bytes" }).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /paramsByK\[9\]/);
  r = wasm.verifyInclusion(h2("record-alice.json"), round, "[]", "", { nine: k9 }).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /not a circuit size/);
  r = wasm.verifyInclusion(h2("record-alice.json"), round, "[]", "", { 40: k9 }).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /k = 40/);
});

test("a round whose circuits need k above the bound is refused before any parameter is used", () => {
  const r = wasm.prepareRound(round, "[]", "", params, 8).verifyInclusion(h2("record-alice.json")).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /need k = 9, above this verifier's bound k <= 8/);
  // A bound above the pinned range is lowered to it: the round (k = 9) still verifies.
  const ok = wasm.prepareRound(round, "[]", "", params, 30).verifyInclusion(h2("record-alice.json")).toJSON();
  assert.equal(ok.valid, true, ok.reason);
});

test("a Groth16 round still verifies, and names its pinned manifest in the trust statement", () => {
  const man = JSON.parse(g16("manifest.json"));
  const p = wasm.prepareRound(g16("round.json"), JSON.stringify([man]), "");
  assert.equal(p.backend, "groth16-bn254");
  const r = p.verifyInclusion(g16("record-alice.json")).toJSON();
  assert.equal(r.valid, true, r.reason);
  assert.equal(r.backend, "groth16-bn254");
  assert.match(r.trust, /^Groth16: sound only if the setup of the pinned key manifest [0-9a-f]{64}/);
  assert.ok(r.trust.includes(man.setup_key), r.trust);
  // Parameters given to a Groth16 round are checked all the same, and otherwise unused.
  assert.equal(wasm.verifyInclusion(g16("record-alice.json"), g16("round.json"), JSON.stringify([man]), "", params).toJSON().valid, true);
});
