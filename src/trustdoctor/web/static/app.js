// trustdoctor serve: progressive enhancement only. The page works without it
// (a plain form post); this adds copy buttons, dropping files onto the text
// areas, and moves the focus to the answer.
"use strict";
(function () {
  function copyText(text, button) {
    var done = function () {
      var was = button.textContent;
      button.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
      setTimeout(function () { button.textContent = was; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else {
      fallback(text);
      done();
    }
  }
  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(area);
  }
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) { return; }
    button.hidden = false;
    button.setAttribute("aria-label", "Copy the commands");
    button.addEventListener("click", function () { copyText(target.textContent, button); });
  });

  // Text files dropped on a text area fill it; binary ones (DER, PKCS#7,
  // PKCS#12) go to the file input beside it, as if chosen.
  function isText(bytes) {
    var n = Math.min(bytes.length, 4096), bad = 0;
    for (var i = 0; i < n; i++) {
      var b = bytes[i];
      if (b === 0) { return false; }
      if (b < 9 || (b > 13 && b < 32)) { bad++; }
    }
    return bad <= n / 100;
  }
  document.querySelectorAll(".drop").forEach(function (zone) {
    var area = zone.querySelector("textarea");
    var input = zone.querySelector("input[type=file]");
    if (!area) { return; }
    ["dragenter", "dragover"].forEach(function (ev) {
      area.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (ev) {
      area.addEventListener(ev, function () { zone.classList.remove("dragging"); });
    });
    area.addEventListener("drop", function (e) {
      var files = e.dataTransfer && e.dataTransfer.files;
      if (!files || !files.length) { return; }
      e.preventDefault();
      var file = files[0];
      file.arrayBuffer().then(function (buf) {
        var bytes = new Uint8Array(buf);
        if (isText(bytes)) {
          area.value = new TextDecoder().decode(bytes);
        } else if (input && typeof DataTransfer === "function") {
          var dt = new DataTransfer();
          dt.items.add(file);
          input.files = dt.files;
        }
      });
    });
  });

  // After a form post, put the focus on the answer (screen readers read it).
  var answer = document.getElementById("results");
  if (answer && document.activeElement === document.body) {
    answer.focus({ preventScroll: true });
  }
})();
