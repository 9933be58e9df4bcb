/*
 * The site menu (base.html): on narrow screens the menu button shows and hides the whole
 * menu; the Administration button opens its drop-down. Both are real buttons whose
 * aria-expanded says what is open. Without this script the menu is a plain, always-open list.
 */

function setOpen(button, open) {
  button.setAttribute('aria-expanded', String(open));
}

function init() {
  const header = document.querySelector('.site-header');
  const toggle = document.getElementById('menu-toggle');
  if (!header || !toggle) return;
  header.classList.add('menu-js');
  toggle.hidden = false;
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    setOpen(toggle, open);
    header.classList.toggle('menu-open', open);
  });

  const groups = [...document.querySelectorAll('.nav-group-toggle')];
  for (const button of groups) {
    button.addEventListener('click', () => {
      const open = button.getAttribute('aria-expanded') !== 'true';
      for (const other of groups) setOpen(other, false);
      setOpen(button, open);
    });
  }
  // a drop-down closes on Escape and on a click anywhere outside it
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    for (const button of groups) {
      if (button.getAttribute('aria-expanded') === 'true') {
        setOpen(button, false);
        button.focus();
      }
    }
  });
  document.addEventListener('click', (event) => {
    for (const button of groups) {
      if (!button.parentElement.contains(event.target)) setOpen(button, false);
    }
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
