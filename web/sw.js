// Keeps this page's own files for offline use: cache first, then network, for same-origin GETs;
// JSON files (config.json, the pinned key manifests) network first, cached for offline use.
// The Halo2 and STARK verifiers (pkg/assay_wasm_verifier_halo2*, pkg/assay_wasm_verifier_stark*)
// are not fetched at install: each is kept once a round of its backend has loaded it.
const CACHE = "assay-verifier-v8";
const FILES = ["./", "index.html", "style.css", "app.js", "config.json", "pkg/assay_wasm_verifier.js", "pkg/assay_wasm_verifier_bg.wasm"];
self.addEventListener("install", (e) => e.waitUntil(caches.open(CACHE).then((c) => c.addAll(FILES)).then(() => self.skipWaiting())));
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (e) => {
  const u = new URL(e.request.url);
  if (e.request.method !== "GET" || u.origin !== location.origin) return;
  if (u.pathname.endsWith(".json")) {
    // The page's config.json and the key manifests it pins: the network first (so the
    // operator's changes arrive), the last copy seen when offline.
    e.respondWith(fetch(e.request).then((r) => {
      if (r.ok) { const copy = r.clone(); caches.open(CACHE).then((c) => c.put(e.request, copy)); }
      return r;
    }).catch(() => caches.match(e.request, { ignoreSearch: true }).then((hit) => hit || Response.error())));
    return;
  }
  if (u.pathname.endsWith(".bin")) {
    // Halo2 parameter files (immutable for their k; the verifier checks their pinned hash) and
    // STARK proof files (named by their SHA-256; the verifier checks it): kept once fetched so
    // that such rounds verify offline too.
    e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request).then((r) => {
      if (r.ok) { const copy = r.clone(); caches.open(CACHE).then((c) => c.put(e.request, copy)); }
      return r;
    })));
    return;
  }
  if (u.pathname.includes("/pkg/")) {
    // The verifier packages: a file not cached at install (the Halo2 and STARK packages) is
    // kept once fetched, so that their rounds verify offline too.
    e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request).then((r) => {
      if (r.ok) { const copy = r.clone(); caches.open(CACHE).then((c) => c.put(e.request, copy)); }
      return r;
    })));
    return;
  }
  e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request)));
});
