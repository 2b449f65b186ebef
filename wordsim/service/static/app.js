// The page: one search form, the results (one column per collection, side by side), a graph of
// the neighbourhood, a compare form. No build step, no dependencies.
// Which parameters and endpoints exist is read from the service's own OpenAPI description,
// so the page offers exactly what the API offers; which collections exist, and in which order
// their columns go, is read from GET /health.
// Words from the service or the user only ever reach the page as text (textContent, SVG text
// nodes, attribute values), never as markup.
"use strict";

const RESULT_KEY = "相似度计算的结果为：";
const BUILT_IN = new Set(["usr_input", "top_k", "collection"]);
const KEY_STORAGE = "wordsim.apiKey";
const ALL = "all"; // ?collections=all, and the chooser's value for the side-by-side view
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

const MESSAGES = {
  empty: "请输入要查询的词。 (Please type a word.)",
  400: "输入有误",
  401: "需要正确的 API Key（在页面下方填写）",
  403: "没有权限",
  408: "请求超时，请重试",
  413: "输入过长",
  414: "输入过长",
  415: "请求格式不受支持",
  431: "请求头过大",
  503: "数据库暂时不可用，请稍后再试",
  network: "无法连接到服务",
};

// Where a word2vec collection's query vector came from, when not from its table.
const SOURCES = {
  segments: "词表中没有这个词：向量由分词结果合成 / not in the table: built from its segments",
  characters: "词表中没有这个词：向量由单字合成 / not in the table: built from its characters",
  none: "词表中没有这个词，也无法合成 / not in the table, nothing to build it from",
};

let extraParams = []; // [{name, schema}] from OpenAPI, beyond the built-in ones
let collections = []; // /health's list: [{name, kind, model, rows, index}], in the service's order
let defaultName = ""; // the collection answering requests without a collection parameter
let compareOffered = false;
let pairLimit = 64; // /compare's pairs per request (read from OpenAPI when it says)
const uncalibrated = new Set(); // collections that answered 400 to score=calibrated (this page load)
let searchSeq = 0; // the latest search; answers of older ones are dropped
let shown = null; // what the results show: {word, columns}
let graphChoice = ""; // the collection the user picked for the graph
let graph = null; // the graph drawn: {word, column, nodes, pairs, calibrated, note}

function headers(json) {
  const h = json ? { "Content-Type": "application/json" } : {};
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) h["X-API-Key"] = key;
  return h;
}

async function call(method, path, body) {
  let resp;
  try {
    resp = await fetch(path, { method, headers: headers(body !== undefined), body: body && JSON.stringify(body) });
  } catch (e) {
    throw { status: "network", error: String(e) };
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw { status: resp.status, error: data.error || resp.statusText };
  return data;
}

async function calibrated(path, body, name) {
  // POST asking for calibrated scores. A collection without a calibration answers 400 to that:
  // ask again without; if that is answered, the 400 was the calibration, and the caller says
  // the numbers are raw distances. Any other failure is the caller's to show.
  const key = name || defaultName;
  if (!uncalibrated.has(key)) {
    try {
      return { data: await call("POST", path, { ...body, score: "calibrated" }), calibrated: true };
    } catch (err) {
      if (err.status !== 400) throw err;
    }
    const data = await call("POST", path, body);
    uncalibrated.add(key);
    return { data, calibrated: false };
  }
  return { data: await call("POST", path, body), calibrated: false };
}

function el(tag, props, ...children) {
  const node = Object.assign(document.createElement(tag), props || {});
  node.append(...children);
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

const clamp01 = (x) => Math.max(0, Math.min(1, x));
const fmt = (x) => x.toFixed(4);

function errorText(err) {
  const zh = MESSAGES[err.status] || `出错了（${err.status}）`;
  return err.error ? `${zh}：${err.error}` : zh;
}

function showError(err) {
  const box = $("error");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = errorText(err);
  box.hidden = false;
}

function currentView() {
  // ALL: every served collection side by side; a name: that collection alone;
  // "": the service serves one collection (no chooser, no collection parameter).
  if ($("collection-box").hidden) return "";
  return $("collection").value;
}

function currentQuery() {
  const q = { usr_input: $("q").value.trim(), top_k: $("top_k").value };
  for (const { name } of extraParams) {
    const input = $("p-" + name);
    const value = input.type === "checkbox" ? (input.checked ? "true" : "") : input.value.trim();
    if (value !== "") q[name] = value;
  }
  return q;
}

function toUrl(q, view) {
  const params = new URLSearchParams({ q: q.usr_input, top_k: q.top_k });
  if (view === ALL) params.set("collections", ALL);
  else if (view) params.set("collection", view);
  for (const [k, v] of Object.entries(q)) if (k !== "usr_input" && k !== "top_k") params.set(k, v);
  return "/?" + params.toString();
}

function fromUrl() {
  const params = new URLSearchParams(location.search);
  if (params.has("q")) $("q").value = params.get("q");
  if (params.has("top_k")) $("top_k").value = params.get("top_k");
  if (!$("collection-box").hidden) {
    // ?collection=NAME: that one; ?collections=all, or neither: all of them side by side.
    const name = params.get("collection");
    if (name && ![...$("collection").options].some((o) => o.value === name)) {
      $("collection").append(new Option(name, name)); // unknown here: the service will say so
    }
    $("collection").value = name || ALL;
  }
  for (const { name } of extraParams) {
    const input = $("p-" + name);
    if (!params.has(name)) continue;
    if (input.type === "checkbox") input.checked = params.get(name) === "true";
    else input.value = params.get(name);
  }
  return params.has("q");
}

function asNumberIfNumeric(q) {
  // JSON body: numbers as numbers, booleans as booleans, the rest as strings.
  const out = {};
  for (const [k, v] of Object.entries(q)) {
    out[k] = v === "true" ? true : (k !== "usr_input" && v !== "" && !isNaN(Number(v)) ? Number(v) : v);
  }
  return out;
}

async function fetchColumn(q, name) {
  // One collection's answer. The bars want calibrated scores (raw inner products of the BERT
  // model all read 0.98-0.99), so the page asks for them unless the user chose `score`, or set
  // `min_score` without it: min_score is a distance then, and a deep link keeps meaning that.
  const body = asNumberIfNumeric(q);
  if (name) body.collection = name;
  const column = { name: name || defaultName, info: collections.find((c) => c.name === (name || defaultName)) };
  try {
    if ("score" in q || "min_score" in q) {
      column.data = await call("POST", "/vector_similarity", body);
      column.calibrated = q.score === "calibrated";
    } else {
      Object.assign(column, await calibrated("/vector_similarity", body, name));
      column.fallback = !column.calibrated;
    }
    column.hits = Object.values(column.data[RESULT_KEY] || {});
  } catch (err) {
    column.error = err;
  }
  return column;
}

async function search(push) {
  const q = currentQuery();
  const view = currentView();
  const mine = ++searchSeq;
  if (!q.usr_input) {
    showError({ status: "empty" });
    $("results-box").hidden = true;
    $("graph-box").hidden = true;
    return;
  }
  const url = toUrl(q, view);
  if (push && location.pathname + location.search !== url) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
  const names = view === ALL ? collections.map((c) => c.name) : [view];
  const columns = await Promise.all(names.map((name) => fetchColumn(q, name)));
  if (mine !== searchSeq) return; // a later search is under way
  const failed = columns.filter((c) => c.error);
  if (failed.length === columns.length) {
    showError(failed[0].error);
    $("results-box").hidden = true;
    $("graph-box").hidden = true;
    return;
  }
  showError(null);
  renderResults(q.usr_input, columns, view === ALL);
  await drawGraph(mine);
}

function renderResults(word, columns, side) {
  shown = { word, columns };
  const many = columns.length > 1;
  $("results").replaceChildren(...columns.map((c) => renderColumn(c, collections.length > 1)));
  $("results").classList.toggle("side", many);
  document.body.classList.toggle("wide", many);
  $("results-title").textContent = many
    ? `与「${word}」最接近的词：${columns.length} 个集合并排 · side by side`
    : `与「${word}」最接近的 ${columns[0].hits.length} 个词`;
  const box = $("results-box");
  box.hidden = false;
  box.dataset.view = side ? "columns" : "single";
  box.dataset.for = word; // which search the list shows (tests wait on it)
}

function renderColumn(column, header) {
  const section = el("section", { className: "column" });
  section.dataset.collection = column.name;
  if (header) {
    const info = column.info || {};
    const h3 = el("h3", {}, el("span", { className: "name", textContent: column.name }));
    if (info.kind) h3.append(" ", el("span", { className: "kind", textContent: info.kind }));
    if (column.name === defaultName) h3.append(" ", el("span", { className: "kind", textContent: "默认 default" }));
    section.append(h3);
    if (info.model) section.append(el("p", { className: "model-name", textContent: info.model, title: info.model }));
  }
  if (column.error) {
    section.append(el("p", { className: "error", textContent: errorText(column.error) }));
    return section;
  }
  section.dataset.scored = column.calibrated ? "calibrated" : "raw";
  const source = column.data.vector_source;
  if (SOURCES[source]) section.append(el("p", { className: "note", textContent: SOURCES[source] }));
  const list = el("ol", { className: "results" });
  column.hits.forEach((hit, i) => list.append(renderHit(hit, i)));
  if (column.hits.length) section.append(list);
  else section.append(el("p", { className: "note", textContent: "没有结果 / no results" }));
  section.append(el("p", {
    className: "note",
    textContent: column.calibrated
      ? "条形与分数：校准分 score（约 0 = 无关，1 = 相同）；灰色：原始距离 distance"
      : column.fallback
        ? "该集合还没有校准：条形与分数为原始距离 distance / no calibration yet: raw distances"
        : "条形与分数为原始距离 distance（内积）/ raw distances",
  }));
  return section;
}

function renderHit(hit, i) {
  const scored = typeof hit.score === "number";
  const value = scored ? hit.score : hit.distance;
  const btn = el("button", {
    className: "word", type: "button", textContent: hit.fields.text, title: `查询这个词 / search this word (id ${hit.id})`,
  });
  btn.addEventListener("click", () => searchWord(hit.fields.text));
  const score = el("span", {
    className: "score", textContent: fmt(value),
    title: scored ? `score (distance ${fmt(hit.distance)})` : "distance (inner product)",
  });
  const distance = el("span", {
    className: "distance", textContent: scored ? fmt(hit.distance) : "", title: "distance (inner product)",
  });
  const fill = el("span");
  fill.style.width = clamp01(value) * 100 + "%";
  return el("li", {},
    el("span", { className: "rank", textContent: i + 1 }), btn,
    el("span", { className: "id", textContent: "id " + hit.id }), score, distance,
    el("span", { className: "bar" }, fill));
}

function searchWord(text) {
  $("q").value = text;
  search(true);
}

// --- the graph ---------------------------------------------------------------------------

// Edges join two neighbours whose calibrated score is at least the threshold, 0.6 by default.
// A calibrated score is about 0 for two unrelated dictionary words and 1 for the same vector,
// so any threshold well above 0 keeps related pairs only; but the nearest neighbours of a word
// are mostly related to each other too: among the 8 nearest of 12 common words (医生, 教师,
// 汽车, 北京, 音乐, ...) in the word2vec collection, half the pairs score 0.59 or more, three
// quarters 0.51 or more. 0.6 joins about the closer half, so the groups inside a neighbourhood
// show instead of a graph where everything is joined; the slider moves it.
const NODE_FONT = 15;
const QUERY_FONT = 18;
// The drawing's own units (the viewBox): wide, or square on a narrow screen, where a wide one
// scaled down to the width would make its words too small to read. Same breakpoint as app.css.
const VIEWS = {
  wide: { w: 640, h: 440, stretch: 1.35, near: 90, far: 185 },
  narrow: { w: 420, h: 420, stretch: 1, near: 75, far: 160 },
};
const NARROW = window.matchMedia("(max-width: 36rem)");
const geometry = () => (NARROW.matches ? VIEWS.narrow : VIEWS.wide);

function graphNodes(column, word) {
  // The query's neighbours in rank order, without the query itself and without repeats, as many
  // as one /compare request can join pairwise (n(n-1)/2 pairs <= its limit).
  const most = Math.floor((1 + Math.sqrt(1 + 8 * pairLimit)) / 2);
  const self = word.normalize("NFKC");
  const seen = new Set([self]);
  const nodes = [];
  for (const hit of column.hits) {
    const text = hit.fields.text;
    if (seen.has(text)) continue;
    seen.add(text);
    nodes.push(hit);
  }
  return { nodes: nodes.slice(0, most), cut: nodes.length > most ? nodes.length : 0, self };
}

async function drawGraph(seq) {
  const box = $("graph-box");
  delete box.dataset.for;
  const usable = shown.columns.filter((c) => !c.error);
  const choice = usable.find((c) => c.name === graphChoice) || usable[0];
  const chooser = $("graph-of");
  chooser.replaceChildren(...usable.map((c) => new Option(c.name, c.name)));
  chooser.value = choice.name;
  $("graph-of-box").hidden = usable.length < 2;
  const { nodes, cut, self } = graphNodes(choice, shown.word);
  const pairs = [];
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) pairs.push([nodes[i].fields.text, nodes[j].fields.text]);
  }
  let results = [];
  let pairsCalibrated = false;
  let failure = null;
  if (compareOffered && pairs.length) {
    const body = { pairs };
    if (collections.length > 1) body.collection = choice.name;
    try {
      const answer = await calibrated("/compare", body, choice.name);
      results = answer.data.results || [];
      pairsCalibrated = answer.calibrated;
    } catch (err) {
      failure = err;
    }
  }
  if (seq !== searchSeq) return;
  graph = { word: self, column: choice, nodes, results, pairsCalibrated, cut, failure };
  box.hidden = false;
  renderGraph();
}

function isWide(ch) {
  return /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]/u.test(ch);
}

function pillWidth(text, size) {
  // Estimated, not measured: the layout does not depend on fonts loaded or the box shown.
  let em = 0;
  for (const ch of text) em += isWide(ch) ? 1 : 0.6;
  return em * size + size;
}

function layout(nodes) {
  // Deterministic: the query in the middle, its neighbours on an ellipse in rank order from the
  // top, clockwise, nearer the middle the higher they score (from the best shown, nearest, to
  // the least, farthest: scores of one neighbourhood are often close together).
  const { w, h, stretch, near, far } = geometry();
  const cx = w / 2, cy = h / 2;
  const values = nodes.map((hit) => (typeof hit.score === "number" ? hit.score : hit.distance));
  const top = Math.max(...values), low = Math.min(...values);
  return nodes.map((hit, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / nodes.length;
    const r = top > low ? near + ((top - values[i]) / (top - low)) * (far - near) : near;
    return { x: cx + stretch * r * Math.cos(angle), y: cy + r * Math.sin(angle) };
  });
}

function node(text, at, size, query) {
  const w = pillWidth(text, size), h = size * 1.8;
  const g = svg("g", { class: query ? "node query" : "node", transform: `translate(${at.x.toFixed(1)} ${at.y.toFixed(1)})` });
  g.append(
    svg("rect", { x: (-w / 2).toFixed(1), y: (-h / 2).toFixed(1), width: w.toFixed(1), height: h.toFixed(1), rx: (h / 2).toFixed(1) }),
    svg("text", { "text-anchor": "middle", "dominant-baseline": "central", "font-size": size }, text),
  );
  g.dataset.word = text;
  return g;
}

function renderGraph() {
  const { word, column, nodes, results, pairsCalibrated, cut, failure } = graph;
  const threshold = Number($("edge-threshold").value);
  $("edge-value").textContent = threshold.toFixed(2);
  const at = layout(nodes);
  const { w, h } = geometry();
  const center = { x: w / 2, y: h / 2 };
  const index = new Map(nodes.map((h, i) => [h.fields.text, i]));
  const spokes = nodes.map((hit, i) => {
    const value = typeof hit.score === "number" ? `score ${fmt(hit.score)} · distance ${fmt(hit.distance)}` : `distance ${fmt(hit.distance)}`;
    return svg("line", { class: "spoke", x1: center.x, y1: center.y, x2: at[i].x.toFixed(1), y2: at[i].y.toFixed(1) },
      svg("title", {}, `${word} — ${hit.fields.text}：${value}`));
  });
  const edges = [];
  for (const r of results) {
    const value = typeof r.score === "number" ? r.score : r.distance;
    if (!(value >= threshold)) continue;
    const i = index.get(r.a), j = index.get(r.b);
    if (i === undefined || j === undefined) continue;
    const label = typeof r.score === "number" ? `score ${fmt(r.score)} · distance ${fmt(r.distance)}` : `distance ${fmt(r.distance)}`;
    const line = svg("line", {
      class: "edge", x1: at[i].x.toFixed(1), y1: at[i].y.toFixed(1), x2: at[j].x.toFixed(1), y2: at[j].y.toFixed(1),
      "stroke-width": (1 + 3 * clamp01((value - threshold) / (1 - threshold || 1))).toFixed(2),
    }, svg("title", {}, `${r.a} — ${r.b}：${label}`));
    line.dataset.a = r.a;
    line.dataset.b = r.b;
    edges.push(line);
  }
  const words = nodes.map((hit, i) => {
    const g = node(hit.fields.text, at[i], NODE_FONT, false);
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "button");
    g.setAttribute("aria-label", `查询「${hit.fields.text}」 / search ${hit.fields.text}`);
    g.prepend(svg("title", {}, `${hit.fields.text}：查询这个词 / search this word`));
    g.addEventListener("click", () => searchWord(hit.fields.text));
    g.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); searchWord(hit.fields.text); }
    });
    return g;
  });
  const plot = $("graph");
  plot.setAttribute("viewBox", `0 0 ${w} ${h}`);
  plot.replaceChildren(...spokes, ...edges, node(word, center, QUERY_FONT, true), ...words);
  plot.setAttribute("aria-label", `「${word}」在 ${column.name} 中的近邻图 / neighbourhood of ${word} in ${column.name}`);
  $("edge-count").textContent = `${edges.length} 条连线 edges ≥ ${threshold.toFixed(2)}`;
  const notes = ["离中心越近越相似 / nearer the middle = more similar"];
  if (!compareOffered) notes.push("服务未提供 /compare：只画与查询词的连线 / no /compare: spokes only");
  else if (failure) notes.push("近邻之间的分数未取到 / pair scores failed: " + errorText(failure));
  else if (results.length) {
    notes.push(pairsCalibrated
      ? "连线：两个近邻的校准分 ≥ 阈值（/compare）/ edges: calibrated pair score ≥ threshold"
      : "该集合还没有校准：连线按原始距离 / no calibration yet: edges by raw distance");
  }
  if (cut) notes.push(`只画前 ${nodes.length} 个近邻（共 ${cut} 个；/compare 一次最多 ${pairLimit} 对）`);
  $("graph-note").textContent = notes.join("；");
  const box = $("graph-box");
  box.dataset.collection = column.name;
  box.dataset.edges = String(edges.length);
  box.dataset.threshold = threshold.toFixed(2);
  box.dataset.for = shown.word; // drawn for this search (tests wait on it)
}

// --- compare -------------------------------------------------------------------------------

async function compare() {
  const body = { a: $("a").value.trim(), b: $("b").value.trim() };
  if (!body.a || !body.b) { showError({ status: "empty" }); return; }
  const view = currentView();
  const names = view === ALL ? collections.map((c) => c.name) : [view];
  const answers = await Promise.all(names.map(async (name) => {
    try {
      return { name, ...(await calibrated("/compare", name ? { ...body, collection: name } : body, name)) };
    } catch (error) {
      return { name, error };
    }
  }));
  const failed = answers.filter((x) => x.error);
  if (failed.length === answers.length) { showError(failed[0].error); return; }
  showError(null);
  const line = (x) => {
    if (x.error) return errorText(x.error);
    const score = typeof x.data.score === "number" ? ` · score ${fmt(x.data.score)}` : "";
    return `distance ${fmt(x.data.distance)}${score}`;
  };
  const first = answers.find((x) => !x.error).data;
  const pair = `「${first.a}」与「${first.b}」`;
  if (answers.length === 1) $("compare-result").textContent = `${pair}：${line(answers[0])}`;
  else $("compare-result").replaceChildren(el("div", { textContent: pair }),
    ...answers.map((x) => el("div", { textContent: `${x.name}：${line(x)}` })));
}

// --- what the service offers ---------------------------------------------------------------

const LABELS = {
  min_score: "最低分 min_score", pos: "词性 pos", min_freq: "最低词频 min_freq", exclude_self: "排除自身",
  exclude_overlap: "排除重叠词", fields: "附加字段 fields", score: "分数 score",
};

function controlFor(name, schema) {
  const label = el("label", { textContent: (LABELS[name] || name) + " " });
  let control;
  if (schema.enum) {
    control = el("select", {}, new Option("", ""), ...schema.enum.map((v) => new Option(v, v)));
  } else if (schema.type === "boolean") {
    control = el("input", { type: "checkbox" });
  } else {
    control = el("input", { type: schema.type === "number" || schema.type === "integer" ? "number" : "text" });
    if (schema.type === "number") control.step = "any";
    if (schema.minimum !== undefined) control.min = schema.minimum;
    if (schema.maximum !== undefined) control.max = schema.maximum;
  }
  control.id = "p-" + name;
  label.title = name + (schema.description ? ": " + schema.description : "");
  label.append(control);
  return label;
}

function maxPairs(node) {
  // The maxItems of a "pairs" property anywhere in /compare's description, if it has one.
  if (!node || typeof node !== "object") return undefined;
  if (node.properties && node.properties.pairs && Number.isInteger(node.properties.pairs.maxItems)) {
    return node.properties.pairs.maxItems;
  }
  for (const child of Object.values(node)) {
    const found = maxPairs(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function discover() {
  // What the API offers: extra query parameters of GET /vector_similarity, and /compare.
  try {
    const spec = await call("GET", "/docs/openapi.json");
    const op = (spec.paths["/vector_similarity"] || {}).get || {};
    extraParams = (op.parameters || [])
      .filter((p) => p.in === "query" && !BUILT_IN.has(p.name))
      .map((p) => ({ name: p.name, schema: p.schema || {} }));
    $("extra").replaceChildren(...extraParams.map((p) => controlFor(p.name, p.schema)));
    compareOffered = Boolean(spec.paths["/compare"]);
    $("compare").hidden = !compareOffered;
    pairLimit = maxPairs((spec.paths["/compare"] || {}).post) || pairLimit;
  } catch (err) {
    extraParams = []; // the built-in search still works
  }
}

async function status() {
  try {
    const h = await call("GET", "/health");
    const rows = typeof h.rows === "number" ? ` · ${h.rows.toLocaleString()} 词 words` : "";
    $("model").textContent = `模型 model: ${h.model}（${h.backend}）· 集合 collection: ${h.collection}${rows}`;
    $("standin").hidden = !h.standin;
    defaultName = h.collection || "";
    collections = h.collections || [];
    const names = collections.map((c) => c.name);
    if (names.length > 1) {
      $("collection").replaceChildren(new Option("全部并排 all, side by side", ALL), ...names.map((n) => new Option(n, n)));
      $("collection-box").hidden = false;
    }
  } catch (err) {
    $("model").textContent = "服务状态未知 / service status unknown: " + (MESSAGES[err.status] || err.status);
  }
}

async function main() {
  $("api-key").value = sessionStorage.getItem(KEY_STORAGE) || "";
  $("api-key").addEventListener("change", (e) => {
    if (e.target.value) sessionStorage.setItem(KEY_STORAGE, e.target.value);
    else sessionStorage.removeItem(KEY_STORAGE);
  });
  $("search").addEventListener("submit", (e) => { e.preventDefault(); search(true); });
  $("compare").addEventListener("submit", (e) => { e.preventDefault(); compare(); });
  $("edge-threshold").addEventListener("input", () => { if (graph) renderGraph(); });
  NARROW.addEventListener("change", () => { if (graph) renderGraph(); });
  $("collection").addEventListener("change", () => { if (shown && $("q").value.trim()) search(true); });
  $("graph-of").addEventListener("change", (e) => { graphChoice = e.target.value; drawGraph(searchSeq); });
  window.addEventListener("popstate", () => { if (fromUrl()) search(false); });
  await Promise.all([status(), discover()]);
  if (fromUrl()) await search(false);
  document.body.dataset.ready = "true"; // for tests and scripts: the first answer is in
}

main();
