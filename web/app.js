// Assay verifier page: everything runs locally, in WebAssembly. No request carries anything
// about the customer: the only network use is loading this page's own files and, if the user
// asks for it, a plain GET of the public round bundle at the address they typed.
import init, { prepareRound, verifyKyc, version } from "./pkg/assay_wasm_verifier.js";

const $ = (id) => document.getElementById(id);
const state = { record: null, round: null, kyc: {}, manifests: "[]", pinned: 0, exchange: "default" };
let ready = false;

// The page's operator pins the Groth16 setup it trusts in config.json, beside the page:
// {"version": 1, "exchange": "NAME", "trusted_key_manifests": ["URL of manifest.json", ...]}
// (an entry may also be a manifest object). Without it, Groth16 rounds are refused.
async function loadConfig() {
  let cfg;
  try {
    const r = await fetch("config.json", { cache: "no-store", credentials: "omit" });
    if (!r.ok) return;
    cfg = await r.json();
  } catch {
    return;
  }
  if (typeof cfg.exchange === "string" && cfg.exchange) state.exchange = cfg.exchange;
  const list = [];
  for (const m of cfg.trusted_key_manifests || []) {
    if (typeof m === "string") {
      const r = await fetch(m, { cache: "no-store", credentials: "omit" });
      if (!r.ok) throw new Error(`${m}: HTTP ${r.status}`);
      list.push(await r.json());
    } else {
      list.push(m);
    }
  }
  state.manifests = JSON.stringify(list);
  state.pinned = list.length;
}

const KEY_STORE = () => `assay.publication-key.${state.exchange}`;

// Remembers the exchange's publication key on first sight; returns the earlier key if it
// changed since (the page then warns).
function rememberKey(key) {
  try {
    const before = localStorage.getItem(KEY_STORE());
    if (!before) {
      localStorage.setItem(KEY_STORE(), key);
      return null;
    }
    return before === key ? null : before;
  } catch {
    return null;
  }
}

async function readFile(file) {
  if (file.size > 32 * 1024 * 1024) throw new Error(`${file.name} is larger than 32 MiB`);
  return await file.text();
}

function show(el, res, subject) {
  el.hidden = false;
  el.className = "result " + (res.valid ? "ok" : "bad");
  el.replaceChildren();
  const v = document.createElement("p");
  v.className = "verdict";
  v.dataset.valid = String(res.valid);
  v.textContent = res.valid ? `✔ Yes: ${subject.yes}` : `✘ No: ${subject.no}`;
  el.append(v);
  if (!res.valid) {
    const r = document.createElement("p");
    r.className = "reason";
    r.textContent = "Reason: " + res.reason;
    el.append(r);
  }
  if (res.checks && res.checks.length) {
    const h = document.createElement("p");
    h.textContent = "What was checked:";
    const ul = document.createElement("ul");
    for (const c of res.checks) {
      const li = document.createElement("li");
      li.textContent = c;
      ul.append(li);
    }
    el.append(h, ul);
  }
  if (res.publication_key) {
    const k = document.createElement("p");
    k.className = "muted keyinfo";
    k.textContent = `Exchange's publication key: ${res.publication_key} · bundle hash: ${res.bundle_hash}`;
    el.append(k);
  }
  if (res.key_changed) {
    const w = document.createElement("p");
    w.className = "warning key-changed";
    w.textContent = `Warning: the exchange's publication key changed. This page saw ${res.key_changed} before; ` +
      `this round is signed by ${res.publication_key}. Ask the exchange, and an auditor, why before trusting it.`;
    el.prepend(w);
  }
  const t = document.createElement("p");
  t.className = "muted timing";
  t.textContent = `Checked in ${res.ms.toFixed(1)} ms, in this browser. Nothing was sent anywhere.`;
  el.append(t);
}

function showError(el, message) {
  show(el, { valid: false, reason: message, checks: [], ms: 0 }, { no: "could not check" });
}

const SOLVENCY = { yes: "your balances are included in this round's proof of solvency.",
                   no: "this record is not confirmed by this round." };
const KYC = { yes: "the proof is valid for your policy and challenge.", no: "the proof is not valid." };

// The round is prepared once (keys decoded and checked against the pinned manifests, the
// signature checked) and kept for the session: later records of the same round are checked
// against it without opening its keys again.
let prepared = null;
function preparedRound() {
  if (!prepared || prepared.round !== state.round || prepared.manifests !== state.manifests) {
    if (prepared) prepared.handle.free();
    prepared = { round: state.round, manifests: state.manifests, handle: prepareRound(state.round, state.manifests, "") };
  }
  return prepared.handle;
}

function checkSolvency() {
  if (!ready || state.record === null || state.round === null) return;
  const t = performance.now();
  const res = preparedRound().verifyInclusion(state.record).toJSON();
  res.ms = performance.now() - t;
  if (res.valid && res.publication_key) res.key_changed = rememberKey(res.publication_key);
  show($("solvency-result"), res, SOLVENCY);
}

const KYC_FIELDS = ["proof", "epoch", "policy", "challenge", "key"];
function checkKyc() {
  if (!ready || !KYC_FIELDS.every((k) => typeof state.kyc[k] === "string")) return;
  const k = state.kyc;
  const res = verifyKyc(k.proof, k.epoch, k.policy, k.challenge, k.key, state.manifests, Date.now() / 1000).toJSON();
  show($("kyc-result"), res, KYC);
}

function wireDrop(zone, onFile) {
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) onFile(f);
  });
  const input = zone.querySelector("input[type=file]");
  input.addEventListener("change", () => { if (input.files[0]) onFile(input.files[0]); });
}

function fileSetter(nameEl, resultEl, assign, then) {
  return async (file) => {
    try {
      assign(await readFile(file));
      nameEl.textContent = file.name;
      then();
    } catch (e) {
      showError(resultEl, String(e.message || e));
    }
  };
}

wireDrop($("drop-record"), fileSetter($("record-name"), $("solvency-result"), (t) => (state.record = t), checkSolvency));
wireDrop($("drop-round"), fileSetter($("round-name"), $("solvency-result"), (t) => (state.round = t), checkSolvency));
$("round-fetch").addEventListener("click", async () => {
  const url = $("round-url").value.trim();
  if (!url) return;
  try {
    // A plain GET of a public file: no cookie, no referrer, nothing about you.
    const r = await fetch(url, { credentials: "omit", referrerPolicy: "no-referrer", cache: "no-store" });
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    state.round = await r.text();
    $("round-name").textContent = url;
    checkSolvency();
  } catch (e) {
    showError($("solvency-result"), `could not fetch the round bundle: ${e.message || e}`);
  }
});
for (const k of KYC_FIELDS) {
  const input = $(`kyc-${k}`);
  wireDrop(input.closest(".drop"), fileSetter($(`kyc-${k}-name`), $("kyc-result"), (t) => (state.kyc[k] = t), checkKyc));
}

let configError = null;
Promise.all([init(), loadConfig().catch((e) => { configError = String(e.message || e); })]).then(() => {
  ready = true;
  $("engine").textContent = `Verifier ready (assay-wasm-verifier ${version()}, running locally). ` +
    (state.pinned ? `Groth16 rounds and KYC presentations are checked against ${state.pinned} pinned key manifest(s) in config.json.`
                  : "No key manifest is pinned (config.json): Groth16 rounds and KYC presentations will be refused.") +
    (configError ? ` config.json could not be read: ${configError}` : "");
  document.body.dataset.ready = "true";
  checkSolvency();
  checkKyc();
}).catch((e) => {
  $("engine").textContent = `The verifier could not load: ${e}`;
});

if ("serviceWorker" in navigator && (location.protocol === "https:" || location.hostname === "localhost" || location.hostname === "127.0.0.1")) {
  navigator.serviceWorker.register("sw.js").catch(() => {});
}
