// loomwork console: refreshes the live part of the page in place, and asks before destructive actions.
// Served from the console itself; the Content-Security-Policy allows no inline script.
(function () {
  'use strict';
  var body = document.body;
  var every = parseInt(body.getAttribute('data-refresh-ms') || '0', 10);
  var toggle = document.getElementById('refresh-toggle');
  var paused = false;
  var busy = false;

  function label() {
    if (toggle) {
      toggle.textContent = paused ? 'Auto-refresh: off' : 'Auto-refresh: on';
      toggle.setAttribute('aria-pressed', paused ? 'false' : 'true');
    }
  }

  function refresh() {
    var live = document.getElementById('live');
    if (paused || busy || !live || document.hidden) {
      return;
    }
    // Never replace a form the operator is using.
    if (live.contains(document.activeElement) && document.activeElement !== document.body
        && document.activeElement.tagName !== 'A') {
      return;
    }
    busy = true;
    fetch(window.location.href, {
      headers: { 'X-Loomwork-Fragment': 'live' },
      credentials: 'same-origin',
      cache: 'no-store'
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null) {
        return;
      }
      var doc = new DOMParser().parseFromString(html, 'text/html');
      var fresh = doc.getElementById('live');
      var current = document.getElementById('live');
      if (fresh && current) {
        current.replaceWith(document.importNode(fresh, true));
        var count = parseInt(body.getAttribute('data-refreshes') || '0', 10) + 1;
        body.setAttribute('data-refreshes', String(count));
      }
    }).catch(function () {
      // The next tick tries again; the page shows its last state meanwhile.
    }).then(function () {
      busy = false;
    });
  }

  if (toggle) {
    toggle.addEventListener('click', function () {
      paused = !paused;
      label();
    });
    label();
  }
  if (every > 0) {
    window.setInterval(refresh, every);
  }

  // Forms that change a lot (delete, retry of everything matching) ask first.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
}());
