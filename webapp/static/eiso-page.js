/* Small behaviours of single pages, kept out of the pages themselves (the Content-Security-Policy
 * runs scripts from this site's files only): print buttons ([data-print]), the upload page's drop
 * zone ([data-dropzone]: drag and drop fills the ordinary file input; without script the input works
 * as is), and task and start forms ([data-conditions-url]) that Enter in a one-line field never sends:
 * people press Enter to move on, and a half-filled form would complete the task. */
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();

(function () {
  "use strict";
  var zone = document.querySelector("[data-dropzone]");
  if (!zone || typeof DataTransfer === "undefined") { return; }
  var input = zone.querySelector("input[type=file]");
  var list = zone.querySelector(".dropzone-files");
  function showNames() {
    list.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
  }
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("is-over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("is-over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    var merged = new DataTransfer();
    Array.prototype.forEach.call(event.dataTransfer.files, function (f) { merged.items.add(f); });
    input.files = merged.files;
    showNames();
  });
  input.addEventListener("change", showNames);
})();

(function () {
  "use strict";
  var oneLine = "input:not([type=submit]):not([type=button]):not([type=image]):not([type=file])";
  document.querySelectorAll("form[data-conditions-url]").forEach(function (form) {
    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target.matches && event.target.matches(oneLine)) {
        event.preventDefault();
      }
    });
  });
})();
