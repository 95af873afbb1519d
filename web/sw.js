// Keeps this page's own files for offline use: cache first, then network, for same-origin GETs;
// JSON files (config.json, the pinned key manifests) network first, cached for offline use.
// The Halo2 verifier (pkg/assay_wasm_verifier_halo2*, ten times the Groth16 one) is not
// fetched at install: it is kept once a Halo2 round has loaded it.
const CACHE = "assay-verifier-v4";
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
    // Halo2 parameter files: immutable for their k (the verifier checks their pinned hash),
    // kept once fetched so that Halo2 rounds verify offline too.
    e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request).then((r) => {
      if (r.ok) { const copy = r.clone(); caches.open(CACHE).then((c) => c.put(e.request, copy)); }
      return r;
    })));
    return;
  }
  if (u.pathname.includes("/pkg/")) {
    // The verifier packages: a file not cached at install (the Halo2 package) is kept once
    // fetched, so that Halo2 rounds verify offline too.
    e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request).then((r) => {
      if (r.ok) { const copy = r.clone(); caches.open(CACHE).then((c) => c.put(e.request, copy)); }
      return r;
    })));
    return;
  }
  e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request)));
});
