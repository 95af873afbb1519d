// Node tests of the built STARK package (`assay_wasm_verifier_stark`, crate feature `stark`) on
// the web STARK fixture (web/fixtures/solvency-stark: `cargo test -p assay-server --test stark`
// writes it): a record checked with the proof files on its path, given as a map hash -> bytes;
// a changed balance, a missing, altered or truncated file and a wrong pin refused with the
// reason; the other packages refuse a STARK round naming this one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "pkg");
const web = join(here, "..", "..", "web", "fixtures");
const st = await import(join(pkg, "assay_wasm_verifier_stark.js"));
st.initSync({ module: readFileSync(join(pkg, "assay_wasm_verifier_stark_bg.wasm")) });
const small = await import(join(pkg, "assay_wasm_verifier.js"));
small.initSync({ module: readFileSync(join(pkg, "assay_wasm_verifier_bg.wasm")) });
const dir = join(web, "solvency-stark");
const fx = (name) => readFileSync(join(dir, name), "utf8");
const round = fx("round.json");
const bundle = JSON.parse(round);
const file = (h) => new Uint8Array(readFileSync(join(dir, "proofs", `${h}.bin`)));
/// The files a record's check reads, as the page fetches them.
const filesFor = (record) => new Map(st.starkFilesNeeded(record, round).map((h) => [h, file(h)]));

test("the STARK package verifies Groth16 and STARK rounds; the Groth16 package refuses a STARK round naming it", () => {
  assert.deepEqual([...st.backends()], ["groth16-bn254", "stark-koalabear-poseidon2"]);
  assert.equal(small.verifyStarkInclusion, undefined);
  const r = small.verifyInclusion(fx("record-alice.json"), round, "[]", "").toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /^backend stark-koalabear-poseidon2: this package \(assay_wasm_verifier\) does not verify STARK rounds or KYC presentations; the STARK package \(assay_wasm_verifier_stark: verifyStarkInclusion, verifyKyc\) does$/);
  // The STARK package's prepared-round API points to the STARK check (a prepared round would
  // verify every proof of the round; a customer needs only those on their path).
  const p = st.prepareRound(round, "[]", "").verifyInclusion(fx("record-alice.json")).toJSON();
  assert.equal(p.valid, false);
  assert.match(p.reason, /verifyStarkInclusion/);
  assert.equal(small.roundInfo(round).backend, "stark-koalabear-poseidon2");
});

test("a record's check reads its batch proof, its batch's leaves file and the top proof, listed by their SHA-256", () => {
  const names = [...st.starkFilesNeeded(fx("record-alice.json"), round)];
  assert.deepEqual(names, [bundle.batches[0].proof, bundle.circuits.leaves[0], bundle.aggregations[0][0].proof]);
  assert.deepEqual(readdirSync(join(dir, "proofs")).sort(), names.map((h) => `${h}.bin`).sort());
  assert.deepEqual([...st.starkFilesNeeded("{", round)], []);
  assert.deepEqual([...st.starkFilesNeeded(fx("record-alice.json"), readFileSync(join(web, "solvency", "round.json"), "utf8"))], []);
});

test("every customer's record verifies with the files on its path (timed)", () => {
  const ms = [];
  for (const who of ["alice", "bob", "carol", "dave", "erin"]) {
    const rec = fx(`record-${who}.json`);
    const r = st.verifyStarkInclusion(rec, round, filesFor(rec), "").toJSON();
    assert.equal(r.valid, true, `${who}: ${r.reason}`);
    assert.equal(r.backend, "stark-koalabear-poseidon2");
    assert.match(r.trust, /^STARK \(Plonky3, KoalaBear, Poseidon2, hiding FRI\): no trusted setup/);
    assert.ok(r.checks.includes("batch proof 0: verified (stark-koalabear-poseidon2)"), r.checks.join("\n"));
    assert.ok(r.checks.includes("top proof: verified (stark-koalabear-poseidon2)"), r.checks.join("\n"));
    assert.equal(r.bundle_hash, st.roundInfo(round).bundle_hash);
    ms.push(r.ms);
  }
  // A plain object works as well as a Map, ArrayBuffers as well as Uint8Arrays; the pin too.
  const rec = fx("record-bob.json");
  const obj = Object.fromEntries([...filesFor(rec)].map(([h, b]) => [h, b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)]));
  const r = st.verifyStarkInclusion(rec, round, obj, bundle.publication_key).toJSON();
  assert.equal(r.valid, true, r.reason);
  ms.sort((a, b) => a - b);
  console.log(`wasm STARK inclusion check in node: median ${ms[2].toFixed(1)} ms over 5 records (min ${ms[0].toFixed(1)}, max ${ms[4].toFixed(1)})`);
});

test("a changed balance, a tampered record and a wrong pin are refused with the reason", () => {
  const wrong = fx("record-alice-wrong-balance.json");
  let r = st.verifyStarkInclusion(wrong, round, filesFor(wrong), "").toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /these balances, this user id and salt, or this position are not in batch proof 0/);
  const tampered = fx("record-alice-tampered.json");
  r = st.verifyStarkInclusion(tampered, round, filesFor(tampered), "").toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /signature/);
  const alice = fx("record-alice.json");
  r = st.verifyStarkInclusion(alice, round, filesFor(alice), "cd".repeat(32)).toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, /publication key/);
});

test("a missing, altered, truncated or misnamed file is refused, naming it", () => {
  const alice = fx("record-alice.json");
  const [batch, leaves, top] = st.starkFilesNeeded(alice, round);
  const all = () => new Map([batch, leaves, top].map((h) => [h, file(h)]));
  // Missing (no files at all; the leaves file; the top proof).
  let r = st.verifyStarkInclusion(alice, round, undefined, "").toJSON();
  assert.equal(r.valid, false);
  assert.match(r.reason, new RegExp(`batch proof 0: proof file proofs/${batch}.bin: not among the files given`));
  for (const h of [leaves, top]) {
    const m = all();
    m.delete(h);
    r = st.verifyStarkInclusion(alice, round, m, "").toJSON();
    assert.equal(r.valid, false);
    assert.match(r.reason, new RegExp(`proofs/${h}.bin: not among the files given`));
  }
  // Altered (one bit flipped), truncated, or swapped (another file's bytes under its name): each file.
  for (const h of [batch, leaves, top]) {
    const flipped = file(h);
    flipped[100] ^= 1;
    for (const bytes of [flipped, file(h).slice(0, 100), file(h === top ? batch : top)]) {
      const m = all();
      m.set(h, bytes);
      r = st.verifyStarkInclusion(alice, round, m, "").toJSON();
      assert.equal(r.valid, false);
      assert.match(r.reason, new RegExp(`proof file proofs/${h}.bin: the bytes given for it hash to [0-9a-f]{64}, not to the name`));
    }
  }
  // Not bytes.
  r = st.verifyStarkInclusion(alice, round, { [batch]: "not bytes" }, "").toJSON();
  assert.match(r.reason, /not the file's bytes/);
});
