// Madoguchi staff desk: keyboard use of the look-up page, "copy answer", municipality suggestions.
// Text only ever goes into the page as text (textContent, option.value): never as HTML.
(function () {
  'use strict';

  function results() { return Array.prototype.slice.call(document.querySelectorAll('#results > li.result')); }
  function typing(el) {
    return el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
  }
  function say(text) {
    var status = document.getElementById('copy-status');
    if (!status) return;
    status.textContent = '';
    window.setTimeout(function () { status.textContent = text; }, 30);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return legacyCopy(text); });
    }
    return legacyCopy(text);
  }
  function legacyCopy(text) {
    return new Promise(function (resolve, reject) {
      var area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.opacity = '0';
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error('copy failed')); }
    });
  }
  function copyFrom(button) {
    var focusBack = document.activeElement;
    copyText(button.getAttribute('data-copy') || '').then(function () {
      button.setAttribute('data-copied', '');
      button.textContent = 'コピーしました';
      say('回答をコピーしました。');
      window.setTimeout(function () { button.removeAttribute('data-copied'); button.textContent = '回答をコピー'; }, 2000);
    }, function () {
      say('コピーできませんでした。回答の文を選んでコピーしてください。');
    });
    if (focusBack && focusBack !== document.activeElement && focusBack.focus) focusBack.focus();
  }

  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('button.copy');
    if (button) { event.preventDefault(); copyFrom(button); }
  });

  document.addEventListener('keydown', function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var active = document.activeElement;
    var search = document.getElementById('q');
    if (event.key === '/' && !typing(active) && search) {
      event.preventDefault();
      search.focus();
      search.select();
      return;
    }
    var items = results();
    if (!items.length) return;
    var current = active && active.closest ? active.closest('#results > li.result') : null;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (active === search || (current && !typing(active))) {
        event.preventDefault();
        var index = current ? items.indexOf(current) : -1;
        if (event.key === 'ArrowDown') {
          items[Math.min(index + 1, items.length - 1)].focus();
        } else if (index <= 0) {
          if (search) search.focus();
        } else {
          items[index - 1].focus();
        }
      }
      return;
    }
    if (event.key === 'c' && current && active === current) {
      var button = current.querySelector('button.copy');
      if (button) { event.preventDefault(); copyFrom(button); }
    }
  });

  // Suggestions for the municipality filter, from the national master (GET /municipalities?q=…).
  var field = document.getElementById('lg');
  var list = document.getElementById('lg-options');
  if (field && list && window.fetch) {
    var timer = null;
    var last = '';
    field.addEventListener('input', function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var text = field.value.trim();
        if (!text || text === last) return;
        last = text;
        fetch('/municipalities?q=' + encodeURIComponent(text), {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
          .then(function (r) { return r.ok ? r.json() : {suggestions: []}; })
          .then(function (data) {
            if (field.value.trim() !== text) return;
            while (list.firstChild) list.removeChild(list.firstChild);
            (data.suggestions || []).forEach(function (s) {
              var option = document.createElement('option');
              option.value = s.value;
              option.label = s.label;
              list.appendChild(option);
            });
          })
          .catch(function () { /* suggestions are a help only */ });
      }, 120);
    });
  }
})();

/* ---- data page (bot/staff/data_page.py) ---- */
(function () {
  'use strict';
  // A file over the limit is refused before it is sent (the server refuses it too, with the same words).
  var form = document.querySelector('form.upload');
  if (form) {
    var input = document.getElementById('file');
    var note = document.getElementById('upload-error');
    var limit = parseInt(form.getAttribute('data-max-bytes'), 10);
    form.addEventListener('submit', function (event) {
      var file = input.files && input.files[0];
      if (file && limit && file.size > limit) {
        event.preventDefault();
        note.textContent = 'ファイルが大きすぎます。' + Math.round(limit / 1048576) + 'MB までのファイルを選んでください。何も変更していません。';
        note.hidden = false;
      }
    });
  }
  // Training progress: asked every 2 seconds while a retraining runs (GET /data/training).
  var training = document.getElementById('training');
  if (training && window.fetch) {
    var poll = function () {
      fetch('/data/training', {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          training.hidden = s.state === 'idle';
          training.className = 'training training-' + s.state;
          document.getElementById('training-message').textContent = s.message;
          var bar = document.getElementById('training-progress');
          bar.max = Math.max(s.total, 1);
          bar.value = s.done;
          bar.textContent = s.done + '/' + s.total;
          document.getElementById('training-names').textContent = s.names.length ? '新しい名前: ' + s.names.join('、') : '';
          if (s.state === 'running') window.setTimeout(poll, 2000);
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    };
    if (training.className.indexOf('training-running') >= 0) window.setTimeout(poll, 2000);
  }
})();
/* ---- end of data page ---- */
