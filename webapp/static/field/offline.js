/*
 * What the field app keeps on the phone, and how it is wiped: the IndexedDB database
 * (outbox of visits, cached models, forms, communes and session), the service worker's
 * caches (the app page carries the signed-in name) and the app's localStorage keys.
 *
 * Used by the field app (app.js) and by the sign-out button of every page (signout.js),
 * so a shared phone keeps nothing of the previous user.
 */

export const DB_NAME = 'sinhke-field';
export const DB_VERSION = 1;
const CACHE_PREFIX = 'sinhke-field-';
const STORAGE_PREFIX = 'sinhke-field';

/** The database, created with its stores when missing (the same upgrade as the app's). */
export function openFieldDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'id' });
      if (!db.objectStoreNames.contains('data')) db.createObjectStore('data', { keyPath: 'key' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Whether this browser holds a field database at all (without creating one). */
async function fieldDbExists() {
  if (!indexedDB.databases) return true;
  const names = (await indexedDB.databases()).map((info) => info.name);
  return names.includes(DB_NAME);
}

function done(transaction, result) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

/** Visits on this phone that the server has not accepted (waiting, sending, conflict, refused). */
export async function unsentVisits() {
  if (!(await fieldDbExists())) return 0;
  const db = await openFieldDb();
  try {
    const transaction = db.transaction('outbox', 'readonly');
    const entries = await done(transaction, transaction.objectStore('outbox').getAll());
    return entries.filter((entry) => entry.state !== 'sent').length;
  } finally {
    db.close();
  }
}

/** Removes everything the field app keeps on this phone (the next user starts empty). */
export async function clearFieldData() {
  if (await fieldDbExists()) {
    const db = await openFieldDb();
    try {
      // stores cleared rather than the database deleted: an open app tab would block a delete
      const transaction = db.transaction(['outbox', 'data'], 'readwrite');
      transaction.objectStore('outbox').clear();
      transaction.objectStore('data').clear();
      await done(transaction, null);
    } finally {
      db.close();
    }
  }
  if (self.caches) {
    const names = await caches.keys();
    await Promise.all(names.filter((name) => name.startsWith(CACHE_PREFIX)).map((name) => caches.delete(name)));
  }
  for (const key of Object.keys(localStorage)) {
    if (key.startsWith(STORAGE_PREFIX)) localStorage.removeItem(key);
  }
}
