/*
 * The /field app's service worker: keeps the app shell, the worker's models, forms
 * and commune outlines on the phone so the app opens and works without a network.
 *
 * Served from /field/sw.js (scope /field) with the version of the shell files
 * filled in, so a new release installs a new cache and drops the old one.
 *
 * - the page (one copy per language, so the language switch works offline) and the shell
 *   (scripts, styles, MapLibre): cache first, refreshed in the background when online
 *   (stale-while-revalidate);
 * - API reads (GET /api/…): network first, the last good answer when offline;
 * - writes (POST …) are never cached or replayed here: visits wait in the page's
 *   IndexedDB outbox until the page sends them, so nothing is sent twice behind the
 *   user's back.
 */

const VERSION = __VERSION__;
const ROOT = __ROOT__;
const CACHE = `sinhke-field-${VERSION}`;
const SHELL = __SHELL__; // eslint-disable-line no-undef -- filled in by the server

const LOCALES = ['vi', 'en'];
/** Where the app page of one language is kept, and the language last chosen. */
const pageKey = (lang) => `${ROOT}/field?lang=${lang}`;
const PREFERENCE = `${ROOT}/field/language`;

/**
 * The app page in every language (X-Field-Locale renders one without changing the
 * user's language cookie), kept only when it really is the app (not a redirect to
 * sign-in): the language switch then works offline too.
 */
async function keepPages(cache) {
  await Promise.all(LOCALES.map(async (lang) => {
    try {
      const response = await fetch(`${ROOT}/field`, { credentials: 'same-origin', headers: { 'X-Field-Locale': lang } });
      if (response.ok && !response.redirected) await cache.put(pageKey(lang), response);
    } catch {
      // offline while installing: the page is kept the next time it loads
    }
  }));
}

async function preferredLanguage(cache) {
  const stored = await cache.match(PREFERENCE);
  return stored ? stored.text() : null;
}

/**
 * The app page: the language asked for (?lang=) or else the one last chosen, from the
 * cache at once and refreshed from the network (which also sets the language cookie);
 * the network's answer when nothing is kept yet, or any kept language when offline.
 */
async function appPage(request, event) {
  const cache = await caches.open(CACHE);
  const asked = new URL(request.url).searchParams.get('lang');
  const lang = LOCALES.includes(asked) ? asked : await preferredLanguage(cache);
  if (LOCALES.includes(asked)) await cache.put(PREFERENCE, new Response(asked));
  const cached = lang ? await cache.match(pageKey(lang)) : null;
  const refresh = fetch(request).then(async (response) => {
    const served = response.headers.get('Content-Language');
    // a redirect to the sign-in page is not the app: keep the pages we have
    if (response.ok && !response.redirected && LOCALES.includes(served)) {
      await cache.put(pageKey(served), response.clone());
      if (!lang) await cache.put(PREFERENCE, new Response(served));
    }
    return response;
  });
  if (cached) {
    event.waitUntil(refresh.catch(() => undefined));
    return cached;
  }
  try {
    return await refresh;
  } catch (error) {
    for (const other of LOCALES) {
      const kept = await cache.match(pageKey(other));
      if (kept) return kept;
    }
    throw error;
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL);
    await keepPages(cache);
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
  const cached = await cache.match(request);
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
    event.respondWith(appPage(request, event));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(staleWhileRevalidate(request, event));
  }
});
