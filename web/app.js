// Assay verifier page: everything runs locally, in WebAssembly. No request carries anything
// about the customer: the only network use is loading this page's own files and, if the user
// asks for it, a plain GET of the public round bundle at the address they typed, the public
// Halo2 parameter files a Halo2 round needs (from the operator's URL in config.json), and the
// public proof files a STARK round keeps beside its round.json (named by their SHA-256 in the
// signed bundle; the same files for every customer of a batch).
import init, { prepareRound, verifyKyc, version, roundInfo } from "./pkg/assay_wasm_verifier.js";

const $ = (id) => document.getElementById(id);
// records: the customer's inclusion records (one per backend the round is offered on);
// rounds: the round's bundles ({text, name}), from config.json's round_bundles or the user.
const state = { records: [], rounds: [], kyc: {}, manifests: "[]", pinned: 0, exchange: "default",
                paramsUrl: "fixtures/params/halo2-params-k{k}.bin", starkProofsUrl: null };
let ready = false;

// The page's operator configures it in config.json, beside the page:
// {"version": 1, "exchange": "NAME", "trusted_key_manifests": ["URL of manifest.json", ...],
//  "halo2_params_url": "params/halo2-params-k{k}.bin", "round_bundles": ["URL", ...],
//  "stark_proofs_url": "URL with {hash} (and optionally {bundle})"}
// trusted_key_manifests pins the Groth16 setup it trusts (an entry may also be a manifest
// object; without any, Groth16 rounds are refused); halo2_params_url is where the public IPA
// parameters of each circuit size k are served (checked against the hashes pinned in the
// verifier, so their origin is not trusted); round_bundles are the current round's bundles, one
// per backend it is offered on (the page then prefers a transparent one, Halo2 or STARK).
// A STARK round's proofs are files named by their SHA-256 in the signed bundle: the page fetches
// those on the customer's path from proofs/<hash>.bin beside the round's URL (a round fetched by
// address or from round_bundles; this also fits the server's /v1/solvency/rounds/{bundle}/...),
// or, for a round.json given as a file, from stark_proofs_url; the verifier accepts a file only
// if it hashes to its name, so whoever serves them is not trusted.
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
  if (typeof cfg.halo2_params_url === "string" && cfg.halo2_params_url.includes("{k}")) state.paramsUrl = cfg.halo2_params_url;
  if (typeof cfg.stark_proofs_url === "string" && cfg.stark_proofs_url.includes("{hash}")) state.starkProofsUrl = cfg.stark_proofs_url;
  if (Array.isArray(cfg.round_bundles) && cfg.round_bundles.length) {
    const rounds = [];
    for (const u of cfg.round_bundles) {
      const r = await fetch(u, { cache: "no-store", credentials: "omit" });
      if (!r.ok) throw new Error(`${u}: HTTP ${r.status}`);
      rounds.push({ text: await r.text(), name: u, url: new URL(u, location.href).href });
    }
    state.rounds = rounds;
    $("round-name").textContent = rounds.map((r) => r.name).join(", ");
  }
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
  if (res.backend && res.trust) {
    const b = document.createElement("p");
    b.className = "backend";
    b.dataset.backend = res.backend;
    b.textContent = `Checked on ${NAMES[res.backend] || res.backend} (${res.backend}). ${res.trust}`;
    el.append(b);
  }
  if (res.note) {
    const n = document.createElement("p");
    n.className = "preference";
    n.textContent = res.note;
    el.append(n);
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

// A Halo2 check takes seconds the first time (the verifier re-derives the verifying keys from
// the public circuits): say so while it runs, instead of an empty page.
function showPending(el, message) {
  el.hidden = false;
  el.className = "result pending";
  const p = document.createElement("p");
  p.className = "pending-text";
  p.textContent = message;
  el.replaceChildren(p);
}
const HALO2_PENDING = "Checking on Halo2 (no trusted setup): deriving the verifying key from the public circuit, " +
  "which takes a few seconds in a browser…";

function showError(el, message) {
  show(el, { valid: false, reason: message, checks: [], ms: 0 }, { no: "could not check" });
}

const SOLVENCY = { yes: "your balances are included in this round's proof of solvency.",
                   no: "this record is not confirmed by this round." };
const KYC = { yes: "the proof is valid for your policy and challenge.", no: "the proof is not valid." };

const NAMES = { "groth16-bn254": "Groth16", "halo2-ipa-pasta": "Halo2", "stark-koalabear-poseidon2": "STARK" };
// The backends without a trusted setup: preferred when a round is offered on several.
const TRANSPARENT = new Set(["halo2-ipa-pasta", "stark-koalabear-poseidon2"]);

// Which bundle to check, given every bundle of the round and every record the customer gave.
// The bundles must be ONE round offered on several backends: the same round_id and the same
// publication key, and at most one bundle per backend; otherwise the mix is refused with the
// reason. A record belongs to the bundle whose hash it names (`bundle_hash`); among the pairs
// (record, its bundle), a transparent backend (Halo2 or STARK, no trusted setup) is preferred. With no
// matching pair, the first record is checked against the preferred bundle (the verifier then
// says why it does not belong). Returns {round, record, note} or {error}.
function chooseRound(rounds, records) {
  const infos = rounds.map((r) => ({ ...r, info: roundInfo(r.text) }));
  if (infos.length > 1) {
    const bad = infos.find((r) => r.info.error);
    if (bad) return { error: `the round bundle ${bad.name} is not a round bundle: ${bad.info.error}` };
    const first = infos[0].info;
    for (const r of infos.slice(1)) {
      if (r.info.round_id !== first.round_id) {
        return { error: `these bundles are not one round: ${infos[0].name} is round "${first.round_id}", ${r.name} is round "${r.info.round_id}"; refusing the mix` };
      }
      if (r.info.publication_key !== first.publication_key) {
        return { error: `these bundles of round "${first.round_id}" are signed by different publication keys (${first.publication_key} and ${r.info.publication_key}); refusing the mix` };
      }
    }
    const seen = new Map();
    for (const r of infos) {
      const prev = seen.get(r.info.backend);
      if (prev && prev.info.bundle_hash !== r.info.bundle_hash) {
        return { error: `two different ${NAMES[r.info.backend] || r.info.backend} bundles of round "${first.round_id}" (${prev.name} and ${r.name}); refusing the mix` };
      }
      seen.set(r.info.backend, r);
    }
  }
  const hashOf = (text) => { try { return JSON.parse(text).bundle_hash; } catch { return undefined; } };
  const pairs = [];
  for (const rec of records) {
    const h = hashOf(rec);
    const r = infos.find((x) => !x.info.error && x.info.bundle_hash === h);
    if (r) pairs.push({ round: r, record: rec });
  }
  const rank = (r) => (TRANSPARENT.has(r.info.backend) ? 0 : 1);
  pairs.sort((a, b) => rank(a.round) - rank(b.round));
  const backends = [...new Set(infos.map((r) => r.info.backend).filter(Boolean))];
  const offered = backends.map((b) => NAMES[b] || b).join(" and ");
  if (!pairs.length) {
    const round = [...infos].sort((a, b) => rank(a) - rank(b))[0];
    return { round, record: records[0], note: null };
  }
  const { round, record } = pairs[0];
  let note = null;
  if (backends.length > 1) {
    const name = (b) => NAMES[b] || b;
    const transparent = backends.filter((b) => TRANSPARENT.has(b)).map(name).join(" and ");
    if (TRANSPARENT.has(round.info.backend)) {
      note = `This round is offered on ${offered}: the page checked the ${name(round.info.backend)} bundle, the transparent one (no trusted setup).`;
    } else if (transparent) {
      note = `This round is also offered on ${transparent} (no trusted setup), but none of your records is for that bundle: the page checked the ${name(round.info.backend)} bundle.`;
    }
  }
  return { round, record, note };
}

// Public IPA parameter files, fetched once per k for the session. Their origin is not trusted:
// the verifier accepts a file only if it hashes to the value pinned for its k.
const paramsCache = new Map();

// The Halo2 verifier is a second, larger package (Groth16 is what the page loads): fetched and
// started only when a Halo2 round or presentation is checked, once per session.
const HALO2 = "halo2-ipa-pasta";
const GROTH16 = "groth16-bn254";
let halo2Module = null;
async function halo2() {
  if (!halo2Module) {
    halo2Module = (async () => {
      const m = await import("./pkg/assay_wasm_verifier_halo2.js");
      await m.default();
      return m;
    })();
    halo2Module.catch(() => { halo2Module = null; });
  }
  return await halo2Module;
}
// The STARK verifier is a third package (Plonky3's verifier), fetched and started only when a
// STARK round is checked, once per session.
const STARK = "stark-koalabear-poseidon2";
let starkModule = null;
async function stark() {
  if (!starkModule) {
    starkModule = (async () => {
      const m = await import("./pkg/assay_wasm_verifier_stark.js");
      await m.default();
      return m;
    })();
    starkModule.catch(() => { starkModule = null; });
  }
  return await starkModule;
}

// Where a STARK round's file `hash` is fetched from: beside the round's round.json when the round
// came from an address, else from the operator's stark_proofs_url; null if neither is known.
function proofUrl(round, hash, bundleHash) {
  if (round.url) return new URL(`proofs/${hash}.bin`, round.url).href;
  if (state.starkProofsUrl) {
    return new URL(state.starkProofsUrl.replaceAll("{hash}", hash).replaceAll("{bundle}", bundleHash), location.href).href;
  }
  return null;
}

// Proof files by their SHA-256, fetched once per session (content-addressed: the same name is the
// same bytes for every round and customer; the verifier checks each file's hash).
const proofCache = new Map();
async function fetchProof(url, hash) {
  if (!proofCache.has(hash)) {
    proofCache.set(hash, (async () => {
      const r = await fetch(url, { credentials: "omit", referrerPolicy: "no-referrer" });
      if (!r.ok) throw new Error(`could not fetch the proof file ${hash}.bin from ${url}: HTTP ${r.status}`);
      return new Uint8Array(await r.arrayBuffer());
    })());
    proofCache.get(hash).catch(() => proofCache.delete(hash));
  }
  return await proofCache.get(hash);
}

// A STARK round: the files the customer's check reads (the batch proof, the batch's leaves file
// when the round publishes one, then one aggregation proof per level up to the top), fetched by
// hash, then one check in the STARK package (no prepared
// round: a customer needs only the proofs on their own path).
async function checkStark(choice, run, t) {
  const el = $("solvency-result");
  const round = choice.round;
  let m, files, bytes = 0, fetchMs = 0, names = [], cached = 0;
  try {
    m = await stark();
    names = m.starkFilesNeeded(choice.record, round.text);
    files = new Map();
    const f0 = performance.now();
    for (const h of names) {
      const url = proofUrl(round, h, round.info.bundle_hash);
      if (!url) {
        throw new Error(`this STARK round keeps its proofs in files beside its round.json: give the round by its address ` +
          `(the page then fetches proofs/<hash>.bin beside it), or set stark_proofs_url in config.json`);
      }
      if (proofCache.has(h)) cached++;
      const b = await fetchProof(url, h);
      bytes += b.length;
      files.set(h, b);
    }
    fetchMs = performance.now() - f0;
  } catch (e) {
    if (run === checking) showError(el, String(e.message || e));
    return;
  }
  if (run !== checking) return;
  const res = m.verifyStarkInclusion(choice.record, round.text, files, "").toJSON();
  res.check_ms = res.ms;
  res.ms = performance.now() - t;
  const how = cached === names.length
    ? "fetched earlier in this session by their SHA-256"
    : `fetched by their SHA-256 in ${fetchMs.toFixed(0)} ms`;
  const fetched = names.length
    ? `The ${names.length} public file(s) your check reads (the proofs on your path and your batch's leaves; ${(bytes / 1024).toFixed(0)} kB) were ${how} and accepted only because they hash to the names in the signed bundle; the check itself took ${res.check_ms.toFixed(1)} ms.`
    : null;
  res.note = [choice.note, fetched].filter(Boolean).join(" ") || null;
  if (res.valid && res.publication_key) res.key_changed = rememberKey(res.publication_key);
  show(el, res, SOLVENCY);
}

async function fetchParams(k) {
  if (!paramsCache.has(k)) {
    const url = state.paramsUrl.replaceAll("{k}", String(k));
    paramsCache.set(k, (async () => {
      const r = await fetch(url, { credentials: "omit", referrerPolicy: "no-referrer" });
      if (!r.ok) throw new Error(`could not fetch the Halo2 parameters for k = ${k} from ${url}: HTTP ${r.status}`);
      return new Uint8Array(await r.arrayBuffer());
    })());
    paramsCache.get(k).catch(() => paramsCache.delete(k));
  }
  return await paramsCache.get(k);
}

// A round is prepared once (Groth16: keys decoded and checked against the pinned manifests;
// Halo2: keys re-derived from the circuits with the hash-checked parameters; the signature
// checked) and kept for the session: later records of the same round are checked against it
// without opening its keys again.
const preparedRounds = new Map();
async function preparedRound(text) {
  const key = state.manifests + "\u0000" + text;
  if (!preparedRounds.has(key)) {
    let prepared;
    if (roundInfo(text).backend === HALO2) {
      showPending($("solvency-result"), HALO2_PENDING);
      await new Promise((r) => setTimeout(r, 30));
      const m = await halo2();
      const ks = m.halo2ParamsNeeded(text);
      let params;
      // Above the bound no file is fetched: the verifier refuses the round, naming its k.
      if (ks.length && Math.max(...ks) <= m.halo2MaxK()) {
        params = new Map();
        for (const k of ks) params.set(k, await fetchParams(k));
      }
      prepared = m.prepareRound(text, state.manifests, "", params);
    } else {
      prepared = prepareRound(text, state.manifests, "");
    }
    for (const p of preparedRounds.values()) p.free();
    preparedRounds.clear();
    preparedRounds.set(key, prepared);
  }
  return preparedRounds.get(key);
}

// A Groth16 round given before any record (config.json's round_bundles, a dropped or fetched
// round.json) is prepared at once, while the customer finds their record: their check then
// starts from the prepared round. A round that cannot be prepared is left for the check, which
// says why.
function warmRound() {
  if (state.rounds.length !== 1) return;
  const text = state.rounds[0].text;
  let backend;
  try { backend = roundInfo(text).backend; } catch { return; }
  if (backend === GROTH16) {
    // Prepared, then the proofs every record shares (aggregations, top) verified while the
    // customer looks for their record: the record's check then costs its batch proof only.
    // A false shared proof decides nothing here; the record's check reports it.
    preparedRound(text).then((p) => {
      p.verifySharedProofs();
      document.body.dataset.roundPrepared = "true";
    }, () => {});
  }
}

let checking = 0;
async function checkSolvency() {
  if (!ready || !state.rounds.length) return;
  if (!state.records.length) { warmRound(); return; }
  const run = ++checking;
  const el = $("solvency-result");
  const choice = chooseRound(state.rounds, state.records);
  if (choice.error) { showError(el, choice.error); return; }
  let handle;
  const t = performance.now();
  if (choice.round.info.backend === STARK) {
    showPending(el, "Checking on STARK (no trusted setup): fetching the proofs on your path…");
    await checkStark(choice, run, t);
    return;
  }
  try {
    handle = await preparedRound(choice.round.text);
  } catch (e) {
    if (run === checking) showError(el, String(e.message || e));
    return;
  }
  if (run !== checking) return;
  const res = handle.verifyInclusion(choice.record).toJSON();
  res.ms = performance.now() - t;
  res.note = choice.note;
  if (res.valid && res.publication_key) res.key_changed = rememberKey(res.publication_key);
  show(el, res, SOLVENCY);
}

const KYC_FIELDS = ["proof", "epoch", "policy", "challenge", "key"];
let checkingKyc = 0;
// state.kyc.chain: the issuer's published epoch chain (the files `kyc publish --chain DIR`
// writes, several at once), as the JSON array the verifier takes: the presentation's epoch
// must be one of them (an epoch the issuer signed but did not publish could tag the holder).
async function checkKyc() {
  if (!ready || ![...KYC_FIELDS, "chain"].every((k) => typeof state.kyc[k] === "string")) return;
  const k = state.kyc;
  let verify = verifyKyc;
  let params;
  let backend;
  try { backend = JSON.parse(k.proof).backend; } catch { /* the verifier names the parse error */ }
  const run = ++checkingKyc;
  const t = performance.now();
  if (backend === HALO2) {
    showPending($("kyc-result"), HALO2_PENDING);
    // Let the browser paint the message before the check holds the thread.
    await new Promise((r) => setTimeout(r, 30));
    // The Halo2 package, and the public IPA parameters of the KYC circuit's k (checked by the
    // verifier against the hash pinned for that k, whatever their origin).
    try {
      const m = await halo2();
      verify = m.verifyKyc;
      const kk = m.kycHalo2K();
      params = new Map([[kk, await fetchParams(kk)]]);
    } catch (e) {
      if (run === checkingKyc) showError($("kyc-result"), `could not load the Halo2 verifier or its parameters: ${e.message || e}`);
      return;
    }
  }
  if (backend === STARK) {
    // The STARK package (no trusted setup, no parameters): loaded only for a STARK presentation.
    try {
      verify = (await stark()).verifyKyc;
    } catch (e) {
      if (run === checkingKyc) showError($("kyc-result"), `could not load the STARK verifier: ${e.message || e}`);
      return;
    }
  }
  if (run !== checkingKyc) return;
  const res = verify(k.proof, k.epoch, k.chain, k.policy, k.challenge, k.key, state.manifests, Date.now() / 1000, params).toJSON();
  res.ms = performance.now() - t;
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

function wireDrops(zone, onFiles) {
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const fs = e.dataTransfer && [...e.dataTransfer.files];
    if (fs && fs.length) onFiles(fs);
  });
  const input = zone.querySelector("input[type=file]");
  input.addEventListener("change", () => { if (input.files.length) onFiles([...input.files]); });
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

// Several files at once (the records, or the bundles, of one round on several backends).
function filesSetter(nameEl, resultEl, assign, then) {
  return async (files) => {
    try {
      const list = [];
      for (const f of files) list.push({ text: await readFile(f), name: f.name });
      assign(list);
      nameEl.textContent = list.map((f) => f.name).join(", ");
      then();
    } catch (e) {
      showError(resultEl, String(e.message || e));
    }
  };
}

wireDrops($("drop-record"), filesSetter($("record-name"), $("solvency-result"), (l) => (state.records = l.map((f) => f.text)), checkSolvency));
wireDrops($("drop-round"), filesSetter($("round-name"), $("solvency-result"), (l) => (state.rounds = l), checkSolvency));
$("round-fetch").addEventListener("click", async () => {
  const url = $("round-url").value.trim();
  if (!url) return;
  try {
    // A plain GET of a public file: no cookie, no referrer, nothing about you.
    const r = await fetch(url, { credentials: "omit", referrerPolicy: "no-referrer", cache: "no-store" });
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    state.rounds = [{ text: await r.text(), name: url, url: new URL(url, location.href).href }];
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
wireDrops($("kyc-chain").closest(".drop"), filesSetter($("kyc-chain-name"), $("kyc-result"), (l) => {
  const epochs = l.map((f) => {
    try {
      return JSON.parse(f.text);
    } catch (e) {
      throw new Error(`issuer's published epochs: ${f.name} is not JSON: ${e.message}`);
    }
  });
  state.kyc.chain = JSON.stringify(epochs);
}, checkKyc));

let configError = null;
Promise.all([init(), loadConfig().catch((e) => { configError = String(e.message || e); })]).then(() => {
  ready = true;
  $("engine").textContent = `Verifier ready (assay-wasm-verifier ${version()}, running locally). ` +
    (state.pinned ? `Groth16 rounds and KYC presentations are checked against ${state.pinned} pinned key manifest(s) in config.json.`
                  : "No key manifest is pinned (config.json): Groth16 rounds and KYC presentations will be refused.") +
    ` Halo2 rounds and KYC presentations (no trusted setup) are checked by the Halo2 verifier, a larger download fetched only for them, ` +
    `with public parameters fetched from ${state.paramsUrl}, accepted only if they match the hashes pinned in the verifier.` +
    ` STARK rounds (no trusted setup) are checked by the STARK verifier, also fetched only for them, with the proof files on your path ` +
    `fetched by the SHA-256 the signed bundle names.` +
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
