/* Draws process diagrams with bpmn-js (NavigatedViewer: pan by dragging, zoom with Ctrl+wheel or the
 * buttons) from each [data-diagram-url] container's BPMN file, marks the elements of an instance's open
 * and completed tasks (data-element-states), and the differences between two versions (data-markers:
 * element id -> added | changed | removed). Expects window.BpmnJS from
 * bpmn-navigated-viewer.production.min.js. */
(function () {
  "use strict";

  function badge(text, state) {
    var span = document.createElement("span");
    span.className = "diagram-badge diagram-badge-" + state;
    span.textContent = text;
    return span;
  }

  function parsed(json) {
    try { return JSON.parse(json || "{}"); } catch (error) { return {}; }
  }

  function draw(container) {
    var message = container.querySelector(".diagram-message");

    function say(text) {
      message.textContent = text;
      message.hidden = false;
    }

    if (typeof window.BpmnJS !== "function") {
      say(container.dataset.error + " bpmn-js");
      return;
    }

    var viewer = new window.BpmnJS({ container: container.querySelector(".diagram-canvas") });

    function markStates(states) {
      var canvas = viewer.get("canvas");
      var overlays = viewer.get("overlays");
      var registry = viewer.get("elementRegistry");
      Object.keys(states).forEach(function (elementId) {
        if (!registry.get(elementId)) { return; }  // the element may be in a collapsed subprocess
        var state = states[elementId];
        canvas.addMarker(elementId, "eiso-" + state);
        overlays.add(elementId, "eiso-state", {
          position: { top: -12, left: 0 },
          html: badge(container.dataset["label" + state.charAt(0).toUpperCase() + state.slice(1)], state)
        });
      });
    }

    function markChanges(markers) {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      Object.keys(markers).forEach(function (elementId) {
        if (registry.get(elementId)) { canvas.addMarker(elementId, "eiso-diff-" + markers[elementId]); }
      });
    }

    function bindZoom() {
      var zoomScroll = viewer.get("zoomScroll");
      var canvas = viewer.get("canvas");
      container.querySelectorAll("[data-zoom]").forEach(function (button) {
        button.addEventListener("click", function () {
          var how = button.dataset.zoom;
          if (how === "fit") { canvas.zoom("fit-viewport", "auto"); }
          else { zoomScroll.stepZoom(how === "in" ? 1 : -1); }
        });
      });
    }

    fetch(container.dataset.diagramUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        viewer.get("canvas").zoom("fit-viewport", "auto");
        markStates(parsed(container.dataset.elementStates));
        markChanges(parsed(container.dataset.markers));
        bindZoom();
        container.dataset.state = "ready";
      })
      .catch(function (error) {
        container.dataset.state = "failed";
        say(container.dataset.error + " " + (error && error.message ? error.message : error));
      });
  }

  document.querySelectorAll("[data-diagram-url]").forEach(draw);
})();
