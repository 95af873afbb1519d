// (Not named *.test.mjs: `node --test wasm-verifier/tests/` must not pick it up in the repo.)
// The npm package as someone who embeds it gets it: .ci/web-tests.sh packs wasm-verifier/pkg
// (`npm pack`), installs the tarball into an empty folder, copies this file there and runs it
// with `node --test` from that folder, so `@assay/wasm-verifier` resolves to the installed copy
// (and nothing of this repository is on the import path). ASSAY_FIXTURES names web/fixtures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as g16 from "@assay/wasm-verifier";
import * as h2 from "@assay/wasm-verifier/halo2";
import * as st from "@assay/wasm-verifier/stark";

const fixtures = process.env.ASSAY_FIXTURES;
assert.ok(fixtures && existsSync(fixtures), "ASSAY_FIXTURES must name web/fixtures");
const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve("@assay/wasm-verifier/package.json"));
assert.ok(pkgDir.includes("node_modules"), `resolved from ${pkgDir}, not an installed copy`);
const fx = (p) => readFileSync(join(fixtures, p), "utf8");

test("the installed package ships both entries, their types and a README", () => {
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  assert.equal(pkg.name, "@assay/wasm-verifier");
  for (const f of ["assay_wasm_verifier.d.ts", "assay_wasm_verifier_halo2.d.ts", "assay_wasm_verifier_stark.d.ts", "README.md",
                   "assay_wasm_verifier_bg.wasm", "assay_wasm_verifier_halo2_bg.wasm", "assay_wasm_verifier_stark_bg.wasm"]) {
    assert.ok(existsSync(join(pkgDir, f)), f);
  }
  const types = readFileSync(join(pkgDir, "assay_wasm_verifier.d.ts"), "utf8");
  assert.match(types, /export function verifyInclusion\(/);
  assert.match(types, /export function verifyKyc\(/);
  assert.match(readFileSync(join(pkgDir, "assay_wasm_verifier_halo2.d.ts"), "utf8"), /export function halo2ParamsNeeded\(/);
  const starkTypes = readFileSync(join(pkgDir, "assay_wasm_verifier_stark.d.ts"), "utf8");
  assert.match(starkTypes, /export function verifyStarkInclusion\(/);
  assert.match(starkTypes, /export function starkFilesNeeded\(/);
});

test("a record verifies through the installed package; a tampered one does not", () => {
  g16.initSync({ module: readFileSync(join(pkgDir, "assay_wasm_verifier_bg.wasm")) });
  const round = fx("solvency/round.json");
  const pinned = JSON.stringify([JSON.parse(fx("solvency/manifest.json"))]);
  let r = g16.verifyInclusion(fx("solvency/record-alice.json"), round, pinned, "").toJSON();
  assert.equal(r.valid, true, r.reason);
  assert.equal(r.backend, "groth16-bn254");
  r = g16.verifyInclusion(fx("solvency/record-alice-wrong-balance.json"), round, pinned, "").toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /global root/);
  assert.deepEqual([...g16.backends()], ["groth16-bn254"]);
});

test("the Halo2 entry loads from the installed package", () => {
  h2.initSync({ module: readFileSync(join(pkgDir, "assay_wasm_verifier_halo2_bg.wasm")) });
  assert.deepEqual([...h2.backends()], ["groth16-bn254", "halo2-ipa-pasta"]);
  assert.deepEqual([...h2.halo2ParamsNeeded(fx("solvency-halo2/round.json"))], [9]);
});

test("the STARK entry loads from the installed package and checks a STARK record with its files", () => {
  st.initSync({ module: readFileSync(join(pkgDir, "assay_wasm_verifier_stark_bg.wasm")) });
  assert.deepEqual([...st.backends()], ["groth16-bn254", "stark-koalabear-poseidon2"]);
  const round = fx("solvency-stark/round.json");
  const record = fx("solvency-stark/record-alice.json");
  const files = new Map(st.starkFilesNeeded(record, round).map((h) => [h, new Uint8Array(readFileSync(join(fixtures, "solvency-stark", "proofs", `${h}.bin`)))]));
  // the batch proof, the batch's leaves file and the top proof
  assert.equal(files.size, 3);
  const r = st.verifyStarkInclusion(record, round, files, "").toJSON();
  assert.equal(r.valid, true, r.reason);
  assert.equal(r.backend, "stark-koalabear-poseidon2");
});
