// Keeps this page's own files for offline use: cache first, then network, for same-origin GETs.
const CACHE = "assay-verifier-v2";
const FILES = ["./", "index.html", "style.css", "app.js", "config.json", "pkg/assay_wasm_verifier.js", "pkg/assay_wasm_verifier_bg.wasm"];
self.addEventListener("install", (e) => e.waitUntil(caches.open(CACHE).then((c) => c.addAll(FILES)).then(() => self.skipWaiting())));
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (e) => {
  const u = new URL(e.request.url);
  if (e.request.method !== "GET" || u.origin !== location.origin) return;
  e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request)));
});
