/*
 * The /field app's service worker: keeps the app shell, the worker's models, forms
 * and commune outlines on the phone so the app opens and works without a network.
 *
 * Served from /field/sw.js (scope /field) with the version of the shell files
 * filled in, so a new release installs a new cache and drops the old one.
 *
 * - the page and the shell (scripts, styles, MapLibre): cache first, refreshed in the
 *   background when online (stale-while-revalidate);
 * - API reads (GET /api/…): network first, the last good answer when offline;
 * - writes (POST …) are never cached or replayed here: visits wait in the page's
 *   IndexedDB outbox until the page sends them, so nothing is sent twice behind the
 *   user's back.
 */

const VERSION = __VERSION__;
const ROOT = __ROOT__;
const CACHE = `sinhke-field-${VERSION}`;
const SHELL = __SHELL__; // eslint-disable-line no-undef -- filled in by the server

/** The app page itself, kept only when it really is the app (not a redirect to sign-in). */
async function keepPage(cache) {
  try {
    const response = await fetch(`${ROOT}/field`, { credentials: 'same-origin' });
    if (response.ok && !response.redirected) await cache.put(`${ROOT}/field`, response);
  } catch {
    // offline while installing: the page is kept the next time it loads
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL);
    await keepPage(cache);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((name) => name.startsWith('sinhke-field-') && name !== CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

/** Network first; on failure the cached answer (a stored 200 only). */
async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request);
    if (cached) return cached;
    throw error;
  }
}

/** Cached answer at once, refreshed from the network for next time. */
async function staleWhileRevalidate(request, event) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request, { ignoreSearch: request.mode === 'navigate' });
  const refresh = fetch(request).then(async (response) => {
    // a redirect to the sign-in page is not the app: keep the shell we have
    if (response.ok && !response.redirected) await cache.put(request, response.clone());
    return response;
  });
  if (cached) {
    event.waitUntil(refresh.catch(() => undefined));
    return cached;
  }
  return refresh;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return; // writes go straight to the network
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith(`${ROOT}/api/`)) {
    event.respondWith(networkFirst(request));
  } else if (request.mode === 'navigate' && url.pathname === `${ROOT}/field`) {
    event.respondWith(staleWhileRevalidate(new Request(`${ROOT}/field`), event));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(staleWhileRevalidate(request, event));
  }
});
