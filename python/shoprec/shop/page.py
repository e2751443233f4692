"""The example shops' one HTML page: a search box, results with facets (click one to filter)
and "recommended for you", calling the JSON endpoints of :mod:`shoprec.shop.web`
(``/search`` and ``/recommend/<user>``) from the browser.

:func:`page_html` fills in the shopper and a notice; the page has no other server-side state,
so any web framework can serve it (the Flask and Django examples both do).
"""

from __future__ import annotations

import html
from typing import Optional

__all__ = ["page_html", "NO_SEARCH"]

#: The notice shown when the shop cannot search.
NO_SEARCH = "Search is not available (no shop built yet, or a build of shoprec without search)."


def page_html(user: str = "", notice: Optional[str] = None) -> str:
    """The page, with ``user`` in the shopper box and ``notice`` (if any) under the search box;
    both are HTML-escaped."""
    text = "" if notice is None else f'<p class="meta">{html.escape(notice)}</p>\n'
    return _PAGE.replace("__NOTICE__", text).replace("__USER__", html.escape(str(user), quote=True))


_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>shoprec shop</title>
<style>
 body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 2em; max-width: 960px; }
 form { display: flex; gap: .5em; margin-bottom: 1em; }
 #q { flex: 1; font-size: 1.1em; padding: .3em; }
 .cols { display: flex; gap: 2em; }
 #facets { min-width: 200px; }
 #facets a { display: block; cursor: pointer; color: #0645ad; }
 #facets a.active { font-weight: bold; }
 .meta { color: #777; font-size: .9em; }
 li { margin: .3em 0; }
</style>
</head>
<body>
<h1>shoprec shop</h1>
<form id="search">
  <input id="q" name="q" placeholder="搜索 / search: 无线耳机, running shoes..." autocomplete="off">
  <input id="max_price" name="max_price" placeholder="max price" size="8">
  <input id="user" name="user" value="__USER__" placeholder="shopper id" size="10">
  <button type="submit">Search</button>
</form>
__NOTICE__<div class="cols">
  <div id="facets"></div>
  <div style="flex:1">
    <p id="summary" class="meta"></p>
    <ol id="results"></ol>
    <h2>Recommended for you</h2>
    <p id="rec-source" class="meta"></p>
    <ol id="recommended"></ol>
  </div>
</div>
<script>
const state = { filters: {} };
const $ = (id) => document.getElementById(id);
function item(row) {
  const li = document.createElement("li");
  li.className = "result";
  li.dataset.id = row.id;
  li.textContent = `${row.title}  ¥${row.price ?? ""}  (${row.category}, ${row.brand})`;
  return li;
}
async function getJSON(url) {
  const r = await fetch(url);
  return [r.status, await r.json()];
}
async function search() {
  const params = new URLSearchParams({ q: $("q").value, k: "10" });
  if ($("user").value) params.set("user", $("user").value);
  if ($("max_price").value) params.set("max_price", $("max_price").value);
  for (const [f, v] of Object.entries(state.filters)) params.set(f, v);
  const [status, body] = await getJSON("/search?" + params);
  const list = $("results");
  list.replaceChildren();
  if (status !== 200) { $("summary").textContent = "error: " + body.error; return; }
  $("summary").textContent = `${body.total} matches` + (body.reason ? ` (${body.reason})` : "") +
    (body.expansions.length ? `; also searched: ${body.expansions.map(e => e[0]).join(", ")}` : "");
  body.items.forEach(row => list.appendChild(item(row)));
  const facets = $("facets");
  facets.replaceChildren();
  for (const [field, counts] of Object.entries(body.facets)) {
    const h = document.createElement("h3");
    h.textContent = field;
    facets.appendChild(h);
    for (const [value, n] of Object.entries(counts)) {
      const a = document.createElement("a");
      a.className = "facet" + (state.filters[field] === value ? " active" : "");
      a.dataset.field = field;
      a.dataset.value = value;
      a.textContent = `${value} (${n})`;
      a.onclick = () => {
        if (state.filters[field] === value) delete state.filters[field]; else state.filters[field] = value;
        search();
      };
      facets.appendChild(a);
    }
  }
}
async function recommend() {
  const user = $("user").value || "anonymous";
  const [status, body] = await getJSON("/recommend/" + encodeURIComponent(user) + "?k=5");
  const list = $("recommended");
  list.replaceChildren();
  if (status !== 200) { $("rec-source").textContent = "error: " + body.error; return; }
  $("rec-source").textContent = body.part + (body.reason ? ` (fallback: ${body.reason})` : "");
  body.items.forEach(row => list.appendChild(item(row)));
}
$("search").addEventListener("submit", (e) => { e.preventDefault(); state.filters = {}; search(); recommend(); });
recommend();
</script>
</body>
</html>
"""
