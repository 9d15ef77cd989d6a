// Report page: show what was extracted for the highlighted figure under the pointer,
// the keyboard focus or the URL hash (#f12). Data comes from the page's JSON block;
// everything is written with textContent, never as HTML.
(function () {
  "use strict";
  var facts = JSON.parse(document.getElementById("facts-data").textContent);
  var detail = document.getElementById("detail");
  var FIELDS = ["text", "value", "unit", "metric", "region", "period", "type", "qualifier", "rule", "dimension"];
  var LABELS = { text: "mention" };

  function show(ks) {
    detail.textContent = "";
    ks.forEach(function (k) {
      var fact = facts[k];
      if (!fact) return;
      var h = document.createElement("h3");
      h.textContent = "Fact " + (k + 1);
      var dl = document.createElement("dl");
      dl.className = "fact-detail";
      dl.setAttribute("data-k", String(k));
      FIELDS.forEach(function (name) {
        var dt = document.createElement("dt");
        dt.textContent = LABELS[name] || name;
        var dd = document.createElement("dd");
        dd.className = "f-" + name;
        dd.textContent = fact[name] === null || fact[name] === undefined ? "—" : String(fact[name]);
        dl.appendChild(dt);
        dl.appendChild(dd);
      });
      detail.appendChild(h);
      detail.appendChild(dl);
    });
    document.querySelectorAll(".selected").forEach(function (el) { el.classList.remove("selected"); });
    ks.forEach(function (k) {
      document.querySelectorAll('mark[data-f~="' + k + '"], #report-facts tr[data-k="' + k + '"]').forEach(function (el) {
        el.classList.add("selected");
      });
    });
  }

  function ksOf(mark) {
    return mark.getAttribute("data-f").split(" ").map(Number);
  }

  var text = document.getElementById("text");
  if (text) {
    ["mouseover", "click", "focusin"].forEach(function (type) {
      text.addEventListener(type, function (event) {
        var mark = event.target.closest("mark.fact");
        if (mark) show(ksOf(mark));
      });
    });
  }
  document.getElementById("report-facts").addEventListener("click", function (event) {
    var row = event.target.closest("tr[data-k]");
    if (row) show([Number(row.getAttribute("data-k"))]);
  });

  function fromHash() {
    var match = /^#f(\d+)$/.exec(location.hash);
    if (!match) return;
    var k = Number(match[1]);
    show([k]);
    var target = document.getElementById("f" + k);
    if (target && target.scrollIntoView) target.scrollIntoView({ block: "center" });
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
