// Node tests of the built packages on a Halo2 KYC presentation (web/fixtures/kyc-halo2, made by
// its gen.sh): the Halo2 package verifies it with the IPA parameters of the KYC circuit's k
// (web/fixtures/params/halo2-params-k11.bin, written by .ci/web-tests.sh and checked against
// the hash pinned in assay-verifier), refuses a tampered one with the reason, never derives
// parameters itself, and the Groth16 package refuses it naming the Halo2 package.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "pkg");
const web = join(here, "..", "..", "web", "fixtures");
const wasm = await import(join(pkg, "assay_wasm_verifier_halo2.js"));
wasm.initSync({ module: readFileSync(join(pkg, "assay_wasm_verifier_halo2_bg.wasm")) });
const small = await import(join(pkg, "assay_wasm_verifier.js"));
small.initSync({ module: readFileSync(join(pkg, "assay_wasm_verifier_bg.wasm")) });

const dir = join(web, "kyc-halo2");
const kx = (name) => readFileSync(join(dir, name), "utf8");
const now = Number(kx("now.txt").trim());
const chain = JSON.stringify(readdirSync(join(dir, "chain")).filter((f) => f.endsWith(".json")).sort()
  .map((f) => JSON.parse(readFileSync(join(dir, "chain", f), "utf8"))));
const paramsFile = join(web, "params", "halo2-params-k11.bin");
assert.ok(existsSync(paramsFile), `${paramsFile} is missing: run .ci/web-tests.sh (or the halo2_params_pins test with ASSAY_WRITE_PARAMS_DIR and ASSAY_WRITE_PARAMS_K=11)`);
const k11 = new Uint8Array(readFileSync(paramsFile));

const check = (m, { proof = kx("proof.json"), params } = {}) =>
  m.verifyKyc(proof, kx("epoch.json"), chain, kx("policy.json"), kx("challenge.json"), kx("issuer-public.json"), "[]", now, params).toJSON();

test("the KYC Halo2 circuit needs the parameters of k = 11", () => {
  assert.equal(wasm.kycHalo2K(), 11);
  assert.equal(small.kycHalo2K, undefined);
  assert.equal(JSON.parse(kx("proof.json")).backend, "halo2-ipa-pasta");
});

test("a Halo2 presentation verifies with the pinned parameters, with no manifest pinned (no trusted setup)", () => {
  for (const params of [{ 11: k11 }, new Map([[11, k11]]), { 11: k11.buffer.slice(k11.byteOffset, k11.byteOffset + k11.byteLength) }]) {
    const r = check(wasm, { params });
    if (params[11] === k11) console.log(`wasm Halo2 KYC check in node, first of the session (key derived): ${r.ms.toFixed(0)} ms`);
    assert.equal(r.valid, true, r.reason);
    assert.ok(r.checks.some((c) => c.includes("Halo2") || c.includes("halo2")), r.checks.join("\n"));
    assert.ok(r.checks.some((c) => c.includes("nullifier")), r.checks.join("\n"));
  }
});

test("a tampered Halo2 presentation is refused with the reason", () => {
  const r = check(wasm, { proof: kx("proof-tampered.json"), params: { 11: k11 } });
  assert.equal(r.valid, false);
  assert.match(r.reason, /^proof: /);
  assert.match(r.reason, /does not verify/);
  // A flipped byte in the proof itself.
  const p = JSON.parse(kx("proof.json"));
  const b = Buffer.from(p.proof, "hex");
  b[b.length >> 1] ^= 1;
  p.proof = b.toString("hex");
  const r2 = check(wasm, { proof: JSON.stringify(p), params: { 11: k11 } });
  assert.equal(r2.valid, false);
  assert.ok(r2.reason.length > 0);
});

test("parameters are never derived in the page: missing, altered or wrong-k parameters are refused, naming k", () => {
  let r = check(wasm);
  assert.equal(r.valid, false);
  assert.match(r.reason, /no IPA parameters were given for k = 11/);
  const bad = k11.slice();
  bad[100] ^= 1;
  r = check(wasm, { params: { 11: bad } });
  assert.equal(r.valid, false);
  assert.match(r.reason, /^IPA parameters: .*not the pinned parameters of k = 11/);
  r = check(wasm, { params: { 9: k11 } });
  assert.equal(r.valid, false);
  assert.match(r.reason, /^IPA parameters: /);
  r = check(wasm, { params: { 11: "not bytes" } });
  assert.equal(r.valid, false);
  assert.match(r.reason, /paramsByK\[11\]: not the parameter file's bytes/);
});

test("the Groth16 package refuses a Halo2 presentation, naming the Halo2 package", () => {
  const r = check(small, { params: { 11: k11 } });
  assert.equal(r.valid, false);
  assert.match(r.reason, /^backend halo2-ipa-pasta: this is the Groth16 package .*assay_wasm_verifier_halo2/);
});

test("Halo2 KYC check time in node, key kept for the session (loaded machine: an upper bound)", () => {
  const ms = [];
  for (let i = 0; i < 5; i++) {
    const r = check(wasm, { params: { 11: k11 } });
    assert.equal(r.valid, true, r.reason);
    ms.push(r.ms);
  }
  ms.sort((a, b) => a - b);
  console.log(`wasm Halo2 KYC check in node, later checks (key kept): median ${ms[2].toFixed(0)} ms over 5`);
});
