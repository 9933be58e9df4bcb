/*
 * Sign-out on a shared phone: before the sign-out form is sent, the field app's offline
 * data (visits, models, forms, the cached app page) is removed from this browser, after
 * a warning when visits on the phone have not been sent yet. Cancelling the warning keeps
 * the user signed in with everything in place.
 */

import { clearFieldData, unsentVisits } from './field/offline.js';

for (const form of document.querySelectorAll('form[data-sign-out]')) {
  form.addEventListener('submit', async (event) => {
    if (form.dataset.cleared === '1') return;
    event.preventDefault();
    try {
      const unsent = await unsentVisits();
      if (unsent && !window.confirm(form.dataset.unsentWarning.replace('{count}', String(unsent)))) return;
      await clearFieldData();
    } catch (error) {
      console.warn('sinhke: offline data not cleared', error);
    }
    form.dataset.cleared = '1';
    form.requestSubmit();
  });
}
