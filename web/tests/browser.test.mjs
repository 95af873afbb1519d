// Browser test: headless Debian Chromium driven by playwright-core opens the page served on
// localhost, drops a valid inclusion record (shows valid) and a tampered one (shows invalid
// with the reason), times the check (median of 20) and saves screenshots.
// Run: wasm-verifier/build.sh && (cd web && npm ci) && node --test web/tests/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, "..", "fixtures", "solvency");
const shots = process.env.ASSAY_SCREENSHOTS || join(here, "..", "..", "target", "web-screenshots");
mkdirSync(shots, { recursive: true });
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

let server, browser, page, url;
const requests = [];

before(async () => {
  assert.ok(existsSync(join(here, "..", "pkg", "assay_wasm_verifier_bg.wasm")), "run wasm-verifier/build.sh first");
  server = await serve(0);
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

test("nothing left the page but its own files", async () => {
  const foreign = requests.filter((r) => !r.startsWith(url));
  assert.deepEqual(foreign, []);
});

test("inclusion check time in Chromium (median of 20)", async () => {
  const round = readFileSync(join(fixtures, "round.json"), "utf8");
  const record = readFileSync(join(fixtures, "record-alice.json"), "utf8");
  const ms = await page.evaluate(async ([rec, rnd]) => {
    const m = await import("./pkg/assay_wasm_verifier.js");
    const out = [];
    for (let i = 0; i < 20; i++) {
      const r = m.verifyInclusion(rec, rnd).toJSON();
      if (!r.valid) throw new Error(r.reason);
      out.push(r.ms);
    }
    return out;
  }, [record, round]);
  ms.sort((a, b) => a - b);
  const median = (ms[9] + ms[10]) / 2;
  console.log(`wasm inclusion check in Chromium: median ${median.toFixed(2)} ms over 20 (min ${ms[0].toFixed(2)}, max ${ms[19].toFixed(2)})`);
  assert.ok(median < 5000);
});

test("a KYC presentation: valid, then tampered (median of 20 timed)", async () => {
  const kycDir = join(here, "..", "fixtures", "kyc");
  const now = Number(readFileSync(join(kycDir, "now.txt"), "utf8").trim());
  // Proofs are bound to their day: freeze the page's clock at the fixture's time.
  await page.clock.setFixedTime(new Date(now * 1000));
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
  const k = (f) => readFileSync(join(kycDir, f), "utf8");
  const ms = await page.evaluate(async ([p, e, po, c, i, n]) => {
    const m = await import("./pkg/assay_wasm_verifier.js");
    const out = [];
    for (let j = 0; j < 20; j++) {
      const r = m.verifyKyc(p, e, po, c, i, n).toJSON();
      if (!r.valid) throw new Error(r.reason);
      out.push(r.ms);
    }
    return out;
  }, [k("proof.json"), k("epoch.json"), k("policy.json"), k("challenge.json"), k("issuer-public.json"), now]);
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
