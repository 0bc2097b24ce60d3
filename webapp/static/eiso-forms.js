// Progressive enhancement of task forms: while the user types, ask the server which conditional
// fields are hidden (the same FEEL evaluation that validates the submission) and show or hide them.
// Without JavaScript the form still works: the server decides on submit.
(function () {
  "use strict";
  var form = document.querySelector("form[data-conditions-url]");
  if (!form || !window.fetch || !form.querySelector("[data-conditional]")) { return; }
  var url = form.getAttribute("data-conditions-url");
  var timer = null;
  var pending = null;

  function apply(hidden) {
    Object.keys(hidden).forEach(function (id) {
      var element = form.querySelector('[data-conditional="' + id + '"]');
      if (element) { element.hidden = Boolean(hidden[id]); }
    });
  }

  function refresh() {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(url, { method: "POST", body: new FormData(form), signal: pending.signal,
                 headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : { hidden: {} }; })
      .then(function (body) { apply(body.hidden || {}); })
      .catch(function () { /* offline or aborted: the server still decides on submit */ });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
