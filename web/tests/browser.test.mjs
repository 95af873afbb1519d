// Browser test: headless Debian Chromium driven by playwright-core opens the page served on
// localhost, drops a valid inclusion record (shows valid) and a tampered one (shows invalid
// with the reason), times the check (median of 20) and saves screenshots.
// Run: wasm-verifier/build.sh && (cd web && npm ci) && node --test web/tests/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { createPrivateKey, createPublicKey, sign } from "node:crypto";
import { serve } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, "..", "fixtures", "solvency");
const shots = process.env.ASSAY_SCREENSHOTS || join(here, "..", "..", "target", "web-screenshots");
mkdirSync(shots, { recursive: true });
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

let server, browser, page, url;
const requests = [];
// The operator's config.json, as the page is deployed: the fixture round's setup pinned.
const EXCHANGE = "Test Exchange";
const overrides = {
  "/config.json": JSON.stringify({ version: 1, exchange: EXCHANGE, trusted_key_manifests: ["fixtures/solvency/manifest.json", "fixtures/kyc/manifest.json"] }),
};

/// A manifest of another, self-consistent setup: the fixture's circuits with other key hashes,
/// validly signed by another setup key (Ed25519 from node:crypto).
function foreignManifest(batchKey) {
  const m = JSON.parse(readFileSync(join(fixtures, "manifest.json"), "utf8"));
  m.keys["solvency-batch-K2-w64-B4"] = "ab".repeat(32);
  const seed = Buffer.alloc(32, 13);
  const key = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
  const pub = createPublicKey(key).export({ format: "der", type: "spki" }).subarray(-32);
  m.setup_key = pub.toString("hex");
  m.signature = "";
  const body = Buffer.concat([Buffer.from("assay/key-manifest/v1\0"), Buffer.from(JSON.stringify(m))]);
  m.signature = sign(null, body, key).toString("hex");
  assert.notEqual(m.keys["solvency-batch-K2-w64-B4"], batchKey);
  return m;
}

before(async () => {
  assert.ok(existsSync(join(here, "..", "pkg", "assay_wasm_verifier_bg.wasm")), "run wasm-verifier/build.sh first");
  server = await serve(0, overrides);
  url = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 1300 } });
  page = await context.newPage();
  page.on("request", (r) => requests.push(r.url()));
  page.on("pageerror", (e) => console.error("page error:", e));
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/// Drops `name` onto the element `selector` through a real drag-and-drop DataTransfer.
async function drop(selector, name) {
  const text = readFileSync(join(fixtures, name), "utf8");
  const dt = await page.evaluateHandle(([t, n]) => {
    const d = new DataTransfer();
    d.items.add(new File([t], n, { type: "application/json" }));
    return d;
  }, [text, name]);
  await page.dispatchEvent(selector, "dragover", { dataTransfer: dt });
  await page.dispatchEvent(selector, "drop", { dataTransfer: dt });
}

test("a valid record shows yes, what was checked and the time", async () => {
  await page.setInputFiles("#round-file", join(fixtures, "round.json"));
  await drop("#drop-record", "record-alice.json");
  const verdict = page.locator("#solvency-result .verdict");
  await verdict.waitFor();
  assert.equal(await verdict.getAttribute("data-valid"), "true", await page.locator("#solvency-result").innerText());
  const text = await page.locator("#solvency-result").innerText();
  assert.match(text, /Yes/);
  assert.match(text, /top proof: verified/);
  assert.match(text, /Checked in [0-9.]+ ms/);
  await page.screenshot({ path: join(shots, "inclusion-valid.png"), fullPage: true });
});

test("a tampered record shows no and the reason", async () => {
  await drop("#drop-record", "record-alice-wrong-balance.json");
  await page.waitForSelector("#solvency-result .verdict[data-valid=false]");
  const text = await page.locator("#solvency-result").innerText();
  assert.match(text, /No/);
  assert.match(text, /Reason: inclusion: the leaf and path do not lead to the round's global root/);
  await page.screenshot({ path: join(shots, "inclusion-invalid.png"), fullPage: true });
  await drop("#drop-record", "record-alice-tampered.json");
  await page.waitForFunction(() => document.querySelector("#solvency-result .reason")?.textContent.includes("signature"));
});

test("nothing left the page but its own files; a Groth16 round does not load the Halo2 verifier", async () => {
  const foreign = requests.filter((r) => !r.startsWith(url));
  assert.deepEqual(foreign, []);
  assert.ok(requests.some((r) => r.endsWith("/pkg/assay_wasm_verifier_bg.wasm")), requests.join("\n"));
  assert.deepEqual(requests.filter((r) => r.includes("halo2")), []);
});

test("inclusion check time in Chromium (median of 20)", async () => {
  const round = readFileSync(join(fixtures, "round.json"), "utf8");
  const record = readFileSync(join(fixtures, "record-alice.json"), "utf8");
  const ms = await page.evaluate(async ([rec, rnd, man]) => {
    const m = await import("./pkg/assay_wasm_verifier.js");
    const out = [];
    for (let i = 0; i < 20; i++) {
      const r = m.verifyInclusion(rec, rnd, "[]", "").toJSON();
      if (r.valid) throw new Error("a Groth16 round verified without a pinned manifest");
      const p = m.verifyInclusion(rec, rnd, man, "").toJSON();
      if (!p.valid) throw new Error(p.reason);
      out.push(p.ms);
    }
    return out;
  }, [record, round, JSON.stringify([JSON.parse(readFileSync(join(fixtures, "manifest.json"), "utf8"))])]);
  ms.sort((a, b) => a - b);
  const median = (ms[9] + ms[10]) / 2;
  console.log(`wasm inclusion check in Chromium: median ${median.toFixed(2)} ms over 20 (min ${ms[0].toFixed(2)}, max ${ms[19].toFixed(2)})`);
  assert.ok(median < 5000);
});

test("a prepared round answers every record of the round (median of 20 timed)", async () => {
  const round = readFileSync(join(fixtures, "round.json"), "utf8");
  const recs = ["alice", "bob", "carol", "dave", "erin"].map((w) => readFileSync(join(fixtures, `record-${w}.json`), "utf8"));
  const wrong = readFileSync(join(fixtures, "record-alice-wrong-balance.json"), "utf8");
  const man = JSON.stringify([JSON.parse(readFileSync(join(fixtures, "manifest.json"), "utf8"))]);
  const out = await page.evaluate(async ([recs, wrong, rnd, man]) => {
    const m = await import("./pkg/assay_wasm_verifier.js");
    const t = performance.now();
    const p = m.prepareRound(rnd, man, "");
    const prepareMs = performance.now() - t;
    const ms = [];
    for (let i = 0; i < 20; i++) {
      const r = p.verifyInclusion(recs[i % recs.length]).toJSON();
      if (!r.valid) throw new Error(r.reason);
      ms.push(r.ms);
    }
    const bad = p.verifyInclusion(wrong).toJSON();
    const unpinned = m.prepareRound(rnd, "[]", "").verifyInclusion(recs[0]).toJSON();
    return { prepareMs, ms, bad, unpinned, hash: p.bundleHash };
  }, [recs, wrong, round, man]);
  assert.equal(out.bad.valid, false);
  assert.match(out.bad.reason, /global root/);
  assert.equal(out.unpinned.valid, false);
  assert.match(out.unpinned.reason, /manifest/);
  assert.match(out.hash, /^[0-9a-f]{64}$/);
  out.ms.sort((a, b) => a - b);
  console.log(`wasm prepared round in Chromium: prepare ${out.prepareMs.toFixed(2)} ms, then median ${((out.ms[9] + out.ms[10]) / 2).toFixed(2)} ms per record over 20`);
});

test("a KYC presentation: valid, then tampered (median of 20 timed)", async () => {
  const kycDir = join(here, "..", "fixtures", "kyc");
  const now = Number(readFileSync(join(kycDir, "now.txt"), "utf8").trim());
  // Proofs are bound to their day: freeze the page's clock at the fixture's time.
  await page.clock.setFixedTime(new Date(now * 1000));
  // The issuer's published chain: every epoch file `kyc publish --chain DIR` wrote, at once.
  const chainFiles = readdirSync(join(kycDir, "chain")).filter((f) => f.endsWith(".json")).sort().map((f) => join(kycDir, "chain", f));
  await page.setInputFiles("#kyc-chain", chainFiles);
  for (const [id, f] of [["kyc-epoch", "epoch.json"], ["kyc-policy", "policy.json"], ["kyc-challenge", "challenge.json"], ["kyc-key", "issuer-public.json"], ["kyc-proof", "proof.json"]]) {
    await page.setInputFiles(`#${id}`, join(kycDir, f));
  }
  await page.waitForSelector("#kyc-result .verdict");
  assert.equal(await page.getAttribute("#kyc-result .verdict", "data-valid"), "true", await page.locator("#kyc-result").innerText());
  await page.locator("#kyc-result").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "kyc-valid.png"), fullPage: true });
  await page.setInputFiles("#kyc-proof", join(kycDir, "proof-tampered.json"));
  await page.waitForSelector("#kyc-result .verdict[data-valid=false]");
  assert.match(await page.locator("#kyc-result").innerText(), /Reason: proof: the Groth16 proof does not verify/);
  await page.locator("#kyc-result").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "kyc-refused.png"), fullPage: true });
  // A presentation against an epoch the issuer signed but did not publish (it could tag the
  // holder): refused with the CLI's reason; valid once that epoch is in the chain given.
  await page.setInputFiles("#kyc-epoch", join(kycDir, "epoch-unpublished.json"));
  await page.setInputFiles("#kyc-proof", join(kycDir, "proof-unpublished.json"));
  await page.waitForFunction(() => /not the epoch \d+ of its published chain/.test(document.querySelector("#kyc-result").innerText));
  assert.equal(await page.getAttribute("#kyc-result .verdict", "data-valid"), "false");
  await page.locator("#kyc-result").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "kyc-unpublished-epoch.png"), fullPage: true });
  await page.setInputFiles("#kyc-chain", [...chainFiles, join(kycDir, "epoch-unpublished.json")]);
  await page.waitForSelector("#kyc-result .verdict[data-valid=true]");
  // A forked chain (two different epochs with one number): refused, naming the fork.
  await page.setInputFiles("#kyc-chain", [...chainFiles, join(kycDir, "epoch-unpublished.json"), join(kycDir, "epoch-fork.json")]);
  await page.waitForSelector("#kyc-result .verdict[data-valid=false]");
  assert.match(await page.locator("#kyc-result").innerText(), /published epoch chain: epoch \d+: fork/);
  const chainJson = JSON.stringify(chainFiles.map((f) => JSON.parse(readFileSync(f, "utf8"))));
  const k = (f) => readFileSync(join(kycDir, f), "utf8");
  const ms = await page.evaluate(async ([p, e, ch, po, c, i, ms, n]) => {
    const m = await import("./pkg/assay_wasm_verifier.js");
    const out = [];
    for (let j = 0; j < 20; j++) {
      const r = m.verifyKyc(p, e, ch, po, c, i, ms, n).toJSON();
      if (!r.valid) throw new Error(r.reason);
      out.push(r.ms);
    }
    return out;
  }, [k("proof.json"), k("epoch.json"), chainJson, k("policy.json"), k("challenge.json"), k("issuer-public.json"), `[${k("manifest.json")}]`, now]);
  ms.sort((a, b) => a - b);
  console.log(`wasm KYC check in Chromium: median ${((ms[9] + ms[10]) / 2).toFixed(2)} ms over 20`);
});

test("works offline once loaded", async () => {
  // The service worker has cached the page's files: reload with the network cut.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await page.waitForSelector("body[data-ready=true]");
  await page.context().setOffline(true);
  await page.reload();
  await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
  await page.setInputFiles("#round-file", join(fixtures, "round.json"));
  await drop("#drop-record", "record-bob.json");
  await page.waitForSelector("#solvency-result .verdict[data-valid=true]");
  await page.context().setOffline(false);
});

test("the pinned manifest accepts; a foreign setup's key is refused, naming the key", async () => {
  const round = JSON.parse(readFileSync(join(fixtures, "round.json"), "utf8"));
  const batchKey = round.batches[0].key;
  const saved = overrides["/config.json"];
  overrides["/config.json"] = JSON.stringify({ version: 1, exchange: "Foreign", trusted_key_manifests: [foreignManifest(batchKey)] });
  const context = await browser.newContext({ serviceWorkers: "block" });
  try {
    const p = await context.newPage();
    await p.goto(url);
    await p.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
    assert.match(await p.locator("#engine").innerText(), /1 pinned key manifest/);
    await p.setInputFiles("#round-file", join(fixtures, "round.json"));
    await p.setInputFiles("#drop-record input[type=file]", join(fixtures, "record-alice.json"));
    await p.waitForSelector("#solvency-result .verdict[data-valid=false]");
    const text = await p.locator("#solvency-result").innerText();
    assert.ok(text.includes(batchKey), text);
    assert.match(text, /another setup/);
    await p.screenshot({ path: join(shots, "inclusion-foreign-keys.png"), fullPage: true });
  } finally {
    overrides["/config.json"] = saved;
    await context.close();
  }
});

test("the publication key is shown, remembered, and a change warns", async () => {
  const context = await browser.newContext({ serviceWorkers: "block" });
  try {
    const p = await context.newPage();
    await p.goto(url);
    await p.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
    const round = JSON.parse(readFileSync(join(fixtures, "round.json"), "utf8"));
    await p.setInputFiles("#round-file", join(fixtures, "round.json"));
    await p.setInputFiles("#drop-record input[type=file]", join(fixtures, "record-alice.json"));
    await p.waitForSelector("#solvency-result .verdict[data-valid=true]");
    assert.ok((await p.locator("#solvency-result .keyinfo").innerText()).includes(round.publication_key));
    assert.equal(await p.evaluate((k) => localStorage.getItem(k), `assay.publication-key.${EXCHANGE}`), round.publication_key);
    assert.equal(await p.locator("#solvency-result .key-changed").count(), 0);
    // Another key seen before: the page warns.
    await p.evaluate((k) => localStorage.setItem(k, "cd".repeat(32)), `assay.publication-key.${EXCHANGE}`);
    await p.setInputFiles("#drop-record input[type=file]", join(fixtures, "record-bob.json"));
    await p.waitForSelector("#solvency-result .key-changed");
    const w = await p.locator("#solvency-result .key-changed").innerText();
    assert.match(w, /publication key changed/);
    assert.ok(w.includes("cd".repeat(32)), w);
    await p.screenshot({ path: join(shots, "publication-key-changed.png"), fullPage: true });
  } finally {
    await context.close();
  }
});

const halo2 = join(here, "..", "fixtures", "solvency-halo2");

/// A fresh page (no service worker) under `config`; returns it once the verifier is ready.
async function pageWith(config) {
  const saved = overrides["/config.json"];
  overrides["/config.json"] = JSON.stringify(config);
  const context = await browser.newContext({ serviceWorkers: "block", viewport: { width: 1100, height: 1300 } });
  const p = await context.newPage();
  p.on("pageerror", (e) => console.error("page error:", e));
  await p.goto(url);
  await p.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
  overrides["/config.json"] = saved;
  return { p, context };
}

/// Gives the page a relying party's KYC files from `dir` (the issuer's published epochs
/// `chain`, its epoch, policy, issuer key, and the named challenge and proof) and waits for
/// the verdict.
async function giveKyc(p, dir, chain, challenge, proof) {
  await p.setInputFiles("#kyc-chain", chain);
  for (const [id, f] of [["kyc-epoch", "epoch.json"], ["kyc-policy", "policy.json"], ["kyc-challenge", challenge], ["kyc-key", "issuer-public.json"], ["kyc-proof", proof]]) {
    await p.setInputFiles(`#${id}`, join(dir, f));
  }
  await p.waitForSelector("#kyc-result .verdict", { timeout: 120_000 });
}

const baseConfig = {
  version: 1, exchange: EXCHANGE, trusted_key_manifests: ["fixtures/solvency/manifest.json"],
  halo2_params_url: "fixtures/params/halo2-params-k{k}.bin",
};

test("a Halo2 round: yes, checked on Halo2 with no trusted setup (timed)", async () => {
  const { p, context } = await pageWith(baseConfig);
  const loaded = [];
  p.on("request", (r) => loaded.push(new URL(r.url()).pathname));
  try {
    await p.setInputFiles("#round-file", join(halo2, "round.json"));
    await p.setInputFiles("#record-file", join(halo2, "record-alice.json"));
    await p.waitForSelector("#solvency-result .verdict", { timeout: 60_000 });
    // The Halo2 verifier is fetched for this round only.
    assert.ok(loaded.includes("/pkg/assay_wasm_verifier_halo2_bg.wasm"), loaded.join("\n"));
    const text = await p.locator("#solvency-result").innerText();
    assert.equal(await p.getAttribute("#solvency-result .verdict", "data-valid"), "true", text);
    assert.equal(await p.getAttribute("#solvency-result .backend", "data-backend"), "halo2-ipa-pasta");
    assert.match(text, /Checked on Halo2 \(halo2-ipa-pasta\)\. Halo2 \(IPA\): no trusted setup/);
    assert.match(text, /top proof: verified \(halo2-ipa-pasta\)/);
    await p.screenshot({ path: join(shots, "inclusion-halo2-valid.png"), fullPage: true });
    // A tampered record of the same round: no, with the reason.
    await p.setInputFiles("#record-file", join(halo2, "record-alice-wrong-balance.json"));
    await p.waitForSelector("#solvency-result .verdict[data-valid=false]");
    assert.match(await p.locator("#solvency-result").innerText(), /global root/);
    // Timing: fetch the parameters, prepare (hash check, keys derived), then per record.
    const recs = ["alice", "bob", "carol", "dave", "erin"].map((w) => readFileSync(join(halo2, `record-${w}.json`), "utf8"));
    const out = await p.evaluate(async ([rnd, recs]) => {
      const m = await import("./pkg/assay_wasm_verifier_halo2.js");
      await m.default();
      const t0 = performance.now();
      const bytes = new Uint8Array(await (await fetch("fixtures/params/halo2-params-k9.bin")).arrayBuffer());
      const t1 = performance.now();
      const prep = m.prepareRound(rnd, "[]", "", { 9: bytes });
      const t2 = performance.now();
      if (prep.error) throw new Error(prep.error);
      const ms = [];
      for (let i = 0; i < 10; i++) {
        const r = prep.verifyInclusion(recs[i % recs.length]).toJSON();
        if (!r.valid) throw new Error(r.reason);
        ms.push(r.ms);
      }
      const bad = bytes.slice(); bad[100] ^= 1;
      const refused = m.prepareRound(rnd, "[]", "", { 9: bad }).verifyInclusion(recs[0]).toJSON();
      return { fetchMs: t1 - t0, prepareMs: t2 - t1, ms, refused };
    }, [readFileSync(join(halo2, "round.json"), "utf8"), recs]);
    assert.equal(out.refused.valid, false);
    assert.match(out.refused.reason, /not the pinned parameters of k = 9/);
    out.ms.sort((a, b) => a - b);
    console.log(`wasm Halo2 (k = 9) in Chromium: parameters fetched in ${out.fetchMs.toFixed(1)} ms, prepare ${out.prepareMs.toFixed(1)} ms, then median ${((out.ms[4] + out.ms[5]) / 2).toFixed(1)} ms per record over 10`);
  } finally {
    await context.close();
  }
});

test("a configured Groth16 round is prepared before the record: the page's first check (median of 20 fresh pages)", async () => {
  const ms = [];
  for (let i = 0; i < 20; i++) {
    const { p, context } = await pageWith({ ...baseConfig, round_bundles: ["fixtures/solvency/round.json"] });
    try {
      await p.waitForSelector("body[data-round-prepared=true]");
      await p.setInputFiles("#record-file", join(fixtures, ["record-alice.json", "record-dave.json"][i % 2]));
      await p.waitForSelector("#solvency-result .verdict");
      const text = await p.locator("#solvency-result").innerText();
      assert.equal(await p.getAttribute("#solvency-result .verdict", "data-valid"), "true", text);
      ms.push(Number(/Checked in ([0-9.]+) ms/.exec(text)[1]));
    } finally {
      await context.close();
    }
  }
  ms.sort((a, b) => a - b);
  console.log(`page, configured Groth16 round prepared on load: first check median ${((ms[9] + ms[10]) / 2).toFixed(1)} ms over 20 fresh pages (min ${ms[0].toFixed(1)}, max ${ms[19].toFixed(1)})`);
});

test("the same round on Groth16 and Halo2: the page prefers Halo2 and says so; a mix of rounds is refused", async () => {
  const { p, context } = await pageWith({ ...baseConfig, round_bundles: ["fixtures/solvency/round.json", "fixtures/solvency-halo2/round.json"] });
  try {
    // The customer gives both records (one per bundle): the Halo2 one is checked.
    await p.setInputFiles("#record-file", [join(fixtures, "record-alice.json"), join(halo2, "record-alice.json")]);
    await p.waitForSelector("#solvency-result .verdict", { timeout: 60_000 });
    let text = await p.locator("#solvency-result").innerText();
    assert.equal(await p.getAttribute("#solvency-result .verdict", "data-valid"), "true", text);
    assert.equal(await p.getAttribute("#solvency-result .backend", "data-backend"), "halo2-ipa-pasta");
    assert.match(text, /offered on Groth16 and Halo2: the page checked the Halo2 bundle, the transparent one \(no trusted setup\)/);
    await p.screenshot({ path: join(shots, "inclusion-prefers-halo2.png"), fullPage: true });
    // Only the Groth16 record: checked on Groth16, naming the pinned manifest, and saying why.
    await p.setInputFiles("#record-file", join(fixtures, "record-alice.json"));
    await p.waitForSelector("#solvency-result .backend[data-backend=groth16-bn254]");
    text = await p.locator("#solvency-result").innerText();
    assert.equal(await p.getAttribute("#solvency-result .verdict", "data-valid"), "true", text);
    assert.match(text, /Groth16: sound only if the setup of the pinned key manifest [0-9a-f]{64}/);
    assert.match(text, /also offered on Halo2 \(no trusted setup\), but none of your records is for that bundle/);
    // Bundles of two different rounds (another round id): refused with the reason.
    const other = JSON.parse(readFileSync(join(halo2, "round.json"), "utf8"));
    other.config.round_id = "2026-12-01-other";
    const g16round = { name: "round.json", mimeType: "application/json", buffer: readFileSync(join(fixtures, "round.json")) };
    await p.setInputFiles("#round-file", [g16round,
      { name: "other-round.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(other)) }]);
    await p.waitForSelector("#solvency-result .verdict[data-valid=false]");
    text = await p.locator("#solvency-result").innerText();
    assert.match(text, /not one round: .* is round "2026-11-23-demo", other-round.json is round "2026-12-01-other"; refusing the mix/);
    // The same round id under another publication key: refused too.
    const foreign = JSON.parse(readFileSync(join(halo2, "round.json"), "utf8"));
    foreign.publication_key = "cd".repeat(32);
    await p.setInputFiles("#round-file", [g16round,
      { name: "foreign.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(foreign)) }]);
    await p.waitForFunction(() => document.querySelector("#solvency-result .reason")?.textContent.includes("different publication keys"));
  } finally {
    await context.close();
  }
});

test("a Halo2 KYC presentation: yes on the page with no trusted setup; a tampered one is refused with the reason", async () => {
  const kycDir = join(here, "..", "fixtures", "kyc-halo2");
  // No manifest pinned: a Halo2 presentation needs none (no trusted setup).
  const { p, context } = await pageWith({ ...baseConfig, trusted_key_manifests: [] });
  const loaded = [];
  p.on("request", (r) => loaded.push(new URL(r.url()).pathname));
  try {
    const now = Number(readFileSync(join(kycDir, "now.txt"), "utf8").trim());
    await p.clock.setFixedTime(new Date(now * 1000));
    const chainFiles = readdirSync(join(kycDir, "chain")).filter((f) => f.endsWith(".json")).sort().map((f) => join(kycDir, "chain", f));
    await giveKyc(p, kycDir, chainFiles, "challenge.json", "proof.json");
    let text = await p.locator("#kyc-result").innerText();
    assert.equal(await p.getAttribute("#kyc-result .verdict", "data-valid"), "true", text);
    // The Halo2 verifier and the KYC circuit's parameters (k = 11) were fetched for it.
    assert.ok(loaded.includes("/pkg/assay_wasm_verifier_halo2_bg.wasm"), loaded.join("\n"));
    assert.ok(loaded.includes("/fixtures/params/halo2-params-k11.bin"), loaded.join("\n"));
    assert.match(text, /Halo2/);
    assert.match(text, /nullifier/);
    await p.locator("#kyc-result").scrollIntoViewIfNeeded();
    await p.screenshot({ path: join(shots, "kyc-halo2-valid.png"), fullPage: true });
    await p.setInputFiles("#kyc-proof", join(kycDir, "proof-tampered.json"));
    await p.waitForSelector("#kyc-result .verdict[data-valid=false]", { timeout: 120_000 });
    text = await p.locator("#kyc-result").innerText();
    assert.match(text, /Reason: proof: .*does not verify/);
    assert.match(text, /Checked on Halo2 \(halo2-ipa-pasta\)\. Halo2 \(IPA\): no trusted setup/);
    await p.locator("#kyc-result").scrollIntoViewIfNeeded();
    await p.screenshot({ path: join(shots, "kyc-halo2-refused.png"), fullPage: true });
  } finally {
    await context.close();
  }
});

test("a STARK KYC presentation: yes on the page with the STARK package, no trusted setup; a tampered one is refused", async () => {
  // The frozen v2 STARK relying party (fixtures/kyc/frozen/v2-stark), checked at its challenge's time.
  const dir = join(here, "..", "..", "fixtures", "kyc", "frozen", "v2-stark");
  const { p, context } = await pageWith({ ...baseConfig, trusted_key_manifests: [] });
  const loaded = [];
  p.on("request", (r) => loaded.push(new URL(r.url()).pathname));
  try {
    const challenge = JSON.parse(readFileSync(join(dir, "challenge-stark.json"), "utf8"));
    await p.clock.setFixedTime(new Date(Date.parse(challenge.issued_at) + 1000));
    await giveKyc(p, dir, [join(dir, "epoch.json")], "challenge-stark.json", "proof-stark.json");
    let text = await p.locator("#kyc-result").innerText();
    assert.equal(await p.getAttribute("#kyc-result .verdict", "data-valid"), "true", text);
    assert.ok(loaded.includes("/pkg/assay_wasm_verifier_stark_bg.wasm"), loaded.join("\n"));
    assert.match(text, /STARK/);
    assert.match(text, /nullifier/);
    const proof = JSON.parse(readFileSync(join(dir, "proof-stark.json"), "utf8"));
    const n = proof.public_inputs.nullifier;
    proof.public_inputs.nullifier = n.slice(0, -1) + (n.endsWith("1") ? "2" : "1");
    await p.setInputFiles("#kyc-proof", [{ name: "tampered.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(proof)) }]);
    await p.waitForSelector("#kyc-result .verdict[data-valid=false]", { timeout: 120_000 });
    text = await p.locator("#kyc-result").innerText();
    assert.match(text, /Reason: /);
    assert.match(text, /STARK/);
  } finally {
    await context.close();
  }
});
