// Index page: the facts table, filtered and paged here from data/*.js (script files,
// because browsers refuse fetch() on file:// pages). Filters live in the URL hash
// (#metric=…&region=…&period=…&type=…) so a filtered view can be linked to.
// Everything from the data is written with textContent, never as HTML.
(function () {
  "use strict";
  var R = window.REVIEW;
  var PAGE = 100;
  var CATEGORICAL = ["unit", "metric", "region", "period", "type", "qualifier", "rule"];
  var FILTERS = ["metric", "region", "period", "type"];

  // Join the chunks into one column store.
  var F = { report: [], k: [], text: [], value: [] };
  CATEGORICAL.forEach(function (name) { F[name] = []; });
  R.chunks.forEach(function (chunk) {
    Object.keys(F).forEach(function (name) {
      var column = chunk[name];
      for (var i = 0; i < column.length; i++) F[name].push(column[i]);
    });
  });
  R.chunks = null;
  var total = F.text.length;

  var form = document.getElementById("filters");
  var tbody = document.querySelector("#facts-table tbody");
  var count = document.getElementById("fact-count");
  var pager = document.getElementById("pager");
  var state = { page: 0, sort: null, dir: 1, rows: [] };

  function fill(list, values, asOptions) {
    values.forEach(function (value) {
      var option = document.createElement("option");
      option.value = value;
      if (asOptions) option.textContent = value;
      list.appendChild(option);
    });
  }
  fill(document.getElementById("metric-list"), R.dict.metric, false);
  fill(document.getElementById("region-list"), R.dict.region, false);
  fill(form.elements.period, R.dict.period.slice().reverse(), true);
  fill(form.elements.type, R.dict.type, true);

  // Which dictionary codes a filter accepts: the exact value if it is one, else substrings.
  function accepted(name, wanted) {
    if (!wanted) return null;
    var values = R.dict[name];
    var ok = new Uint8Array(values.length);
    var exact = values.indexOf(wanted);
    if (exact >= 0) { ok[exact] = 1; return ok; }
    var needle = wanted.toLowerCase();
    for (var i = 0; i < values.length; i++) if (values[i].toLowerCase().indexOf(needle) >= 0) ok[i] = 1;
    return ok;
  }

  function label(name, i) {
    if (name === "report") return R.reports[F.report[i]][0];
    if (name === "text" || name === "value") return F[name][i];
    var code = F[name][i];
    return code < 0 ? null : R.dict[name][code];
  }

  function filter() {
    var tests = [];
    FILTERS.forEach(function (name) {
      var ok = accepted(name, form.elements[name].value.trim());
      if (ok) tests.push([F[name], ok]);
    });
    var rows = [];
    outer: for (var i = 0; i < total; i++) {
      for (var t = 0; t < tests.length; t++) {
        var code = tests[t][0][i];
        if (code < 0 || !tests[t][1][code]) continue outer;
      }
      rows.push(i);
    }
    if (state.sort) {
      var key = state.sort, dir = state.dir;
      rows.sort(function (a, b) {
        var x = label(key, a), y = label(key, b);
        if (x === y) return a - b;
        if (x === null) return 1;
        if (y === null) return -1;
        return (x < y ? -1 : 1) * dir;
      });
    }
    state.rows = rows;
  }

  function cell(tr, value, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = value === null || value === undefined ? "—" : value;
    tr.appendChild(td);
    return td;
  }

  function number(value) {
    return value === null ? null : value.toLocaleString("en-US", { maximumFractionDigits: 6 });
  }

  function render() {
    var rows = state.rows;
    var pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    var fragment = document.createDocumentFragment();
    rows.slice(state.page * PAGE, (state.page + 1) * PAGE).forEach(function (i) {
      var tr = document.createElement("tr");
      tr.className = "fact-row";
      var report = R.reports[F.report[i]];
      var a = document.createElement("a");
      a.href = "reports/" + encodeURIComponent(report[1]) + "#f" + F.k[i];
      a.textContent = report[0];
      cell(tr, null).replaceChildren(a);
      cell(tr, F.text[i], "mention");
      cell(tr, number(F.value[i]), "num");
      ["unit", "metric", "region", "period", "type", "qualifier", "rule"].forEach(function (name) {
        cell(tr, label(name, i), "f-" + name);
      });
      fragment.appendChild(tr);
    });
    tbody.replaceChildren(fragment);
    count.textContent = rows.length === total
      ? total + " facts"
      : rows.length + " of " + total + " facts match";
    pager.textContent = "";
    if (pages > 1) {
      [["« first", 0], ["‹ previous", state.page - 1], ["next ›", state.page + 1], ["last »", pages - 1]]
        .forEach(function (b, n) {
          var button = document.createElement("button");
          button.type = "button";
          button.textContent = b[0];
          button.disabled = b[1] < 0 || b[1] >= pages || b[1] === state.page;
          button.addEventListener("click", function () { state.page = b[1]; render(); });
          pager.appendChild(button);
          if (n === 1) pager.appendChild(document.createTextNode(" page " + (state.page + 1) + " of " + pages + " "));
        });
    }
  }

  function update(fromUser) {
    state.page = 0;
    filter();
    render();
    if (fromUser) {
      var params = new URLSearchParams();
      FILTERS.forEach(function (name) {
        var value = form.elements[name].value.trim();
        if (value) params.set(name, value);
      });
      var hash = params.toString();
      history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
    }
  }

  function fromHash() {
    var hash = location.hash.slice(1);
    if (hash.indexOf("=") < 0) return false;
    var params = new URLSearchParams(hash);
    FILTERS.forEach(function (name) { form.elements[name].value = params.get(name) || ""; });
    return true;
  }

  var timer = null;
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { update(true); }, 150);
  });
  form.addEventListener("reset", function () { setTimeout(function () { update(true); }, 0); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  document.querySelectorAll("#facts-table th[data-sort]").forEach(function (th) {
    th.addEventListener("click", function () {
      var key = th.getAttribute("data-sort");
      state.dir = state.sort === key ? -state.dir : 1;
      state.sort = key;
      document.querySelectorAll("#facts-table th").forEach(function (h) { h.className = h.className.replace(/ ?sorted-\w+/g, ""); });
      th.className += " sorted-" + (state.dir > 0 ? "asc" : "desc");
      filter();
      render();
    });
  });
  window.addEventListener("hashchange", function () { if (fromHash()) update(false); });
  var filtered = fromHash();
  update(false);
  if (filtered) document.getElementById("facts").scrollIntoView();

  // Reports table: rendered in the page; filter by file or title, sort by a column.
  var reportRows = Array.prototype.slice.call(document.querySelectorAll("#reports-table tbody tr"));
  document.getElementById("report-filter").addEventListener("input", function (event) {
    var needle = event.target.value.trim().toLowerCase();
    reportRows.forEach(function (tr) {
      tr.hidden = needle !== "" && tr.cells[0].textContent.toLowerCase().indexOf(needle) < 0 &&
        tr.cells[1].textContent.toLowerCase().indexOf(needle) < 0;
    });
  });
  document.querySelectorAll("#reports-table th").forEach(function (th, column) {
    var dir = 1;
    th.addEventListener("click", function () {
      var numeric = th.classList.contains("num");
      reportRows.sort(function (a, b) {
        var x = a.cells[column].textContent, y = b.cells[column].textContent;
        return (numeric ? Number(x) - Number(y) : x.localeCompare(y)) * dir;
      });
      dir = -dir;
      var body = document.querySelector("#reports-table tbody");
      reportRows.forEach(function (tr) { body.appendChild(tr); });
    });
  });
})();
