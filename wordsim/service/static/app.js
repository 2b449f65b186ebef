// The page: one search form, results, a compare form. No build step, no dependencies.
// Which parameters and endpoints exist is read from the service's own OpenAPI description,
// so the page offers exactly what the API offers.
"use strict";

const RESULT_KEY = "相似度计算的结果为：";
const BUILT_IN = new Set(["usr_input", "top_k", "collection"]);
const KEY_STORAGE = "wordsim.apiKey";
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

let extraParams = []; // [{name, schema}] from OpenAPI, beyond the built-in ones

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

function showError(err) {
  const box = $("error");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  const zh = MESSAGES[err.status] || `出错了（${err.status}）`;
  box.textContent = err.error ? `${zh}：${err.error}` : zh;
  box.hidden = false;
}

function currentQuery() {
  const q = { usr_input: $("q").value.trim(), top_k: $("top_k").value };
  if (!$("collection-box").hidden && $("collection").value) q.collection = $("collection").value;
  for (const { name } of extraParams) {
    const el = $("p-" + name);
    const value = el.type === "checkbox" ? (el.checked ? "true" : "") : el.value.trim();
    if (value !== "") q[name] = value;
  }
  return q;
}

function toUrl(q) {
  const params = new URLSearchParams({ q: q.usr_input });
  for (const [k, v] of Object.entries(q)) if (k !== "usr_input") params.set(k, v);
  return "/?" + params.toString();
}

function fromUrl() {
  const params = new URLSearchParams(location.search);
  if (params.has("q")) $("q").value = params.get("q");
  if (params.has("top_k")) $("top_k").value = params.get("top_k");
  if (params.has("collection")) $("collection").value = params.get("collection");
  for (const { name } of extraParams) {
    const el = $("p-" + name);
    if (!params.has(name)) continue;
    if (el.type === "checkbox") el.checked = params.get(name) === "true";
    else el.value = params.get(name);
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

async function search(push) {
  const q = currentQuery();
  if (!q.usr_input) { showError({ status: "empty" }); $("results-box").hidden = true; return; }
  const url = toUrl(q);
  if (push && location.pathname + location.search !== url) history.pushState(q, "", url);
  else history.replaceState(q, "", url);
  try {
    const data = await call("POST", "/vector_similarity", asNumberIfNumeric(q));
    showError(null);
    renderResults(q.usr_input, data);
  } catch (err) {
    showError(err);
    $("results-box").hidden = true;
  }
}

function renderResults(word, data) {
  const list = $("results");
  list.replaceChildren();
  const hits = Object.values(data[RESULT_KEY] || {});
  $("results-title").textContent = `与「${word}」最接近的 ${hits.length} 个词`;
  hits.forEach((hit, i) => {
    const value = typeof hit.score === "number" ? hit.score : hit.distance;
    const li = document.createElement("li");
    const rank = Object.assign(document.createElement("span"), { className: "rank", textContent: i + 1 });
    const btn = Object.assign(document.createElement("button"), {
      className: "word", type: "button", textContent: hit.fields.text, title: "查询这个词 / search this word",
    });
    btn.addEventListener("click", () => { $("q").value = hit.fields.text; search(true); });
    const id = Object.assign(document.createElement("span"), { className: "id", textContent: "id " + hit.id });
    const score = Object.assign(document.createElement("span"), {
      className: "score", textContent: value.toFixed(4),
      title: typeof hit.score === "number" ? `score (distance ${hit.distance.toFixed(4)})` : "distance (inner product)",
    });
    const bar = Object.assign(document.createElement("span"), { className: "bar" });
    const fill = document.createElement("span");
    fill.style.width = Math.max(0, Math.min(1, value)) * 100 + "%";
    bar.append(fill);
    li.append(rank, btn, id, score, bar);
    list.append(li);
  });
  $("results-box").hidden = false;
  $("results-box").dataset.for = word; // which search the list shows (tests wait on it)
}

async function compare() {
  const body = { a: $("a").value.trim(), b: $("b").value.trim() };
  if (!body.a || !body.b) { showError({ status: "empty" }); return; }
  if (!$("collection-box").hidden && $("collection").value) body.collection = $("collection").value;
  try {
    const data = await call("POST", "/compare", body);
    showError(null);
    const score = typeof data.score === "number" ? ` · score ${data.score.toFixed(4)}` : "";
    $("compare-result").textContent = `「${data.a}」与「${data.b}」：distance ${data.distance.toFixed(4)}${score}`;
  } catch (err) {
    showError(err);
  }
}

const LABELS = {
  min_score: "最低分 min_score", pos: "词性 pos", min_freq: "最低词频 min_freq", exclude_self: "排除自身",
  exclude_overlap: "排除重叠词", fields: "附加字段 fields", score: "分数 score",
};

function controlFor(name, schema) {
  const label = Object.assign(document.createElement("label"), { textContent: (LABELS[name] || name) + " " });
  let el;
  if (schema.enum) {
    el = document.createElement("select");
    el.append(new Option("", ""), ...schema.enum.map((v) => new Option(v, v)));
  } else if (schema.type === "boolean") {
    el = Object.assign(document.createElement("input"), { type: "checkbox" });
  } else {
    el = Object.assign(document.createElement("input"), {
      type: schema.type === "number" || schema.type === "integer" ? "number" : "text",
    });
    if (schema.type === "number") el.step = "any";
    if (schema.minimum !== undefined) el.min = schema.minimum;
    if (schema.maximum !== undefined) el.max = schema.maximum;
  }
  el.id = "p-" + name;
  label.title = name + (schema.description ? ": " + schema.description : "");
  label.append(el);
  return label;
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
    $("compare").hidden = !spec.paths["/compare"];
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
    const names = (h.collections || []).map((c) => c.name);
    if (names.length > 1) {
      $("collection").replaceChildren(...names.map((n) => new Option(n, n)));
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
  window.addEventListener("popstate", () => { if (fromUrl()) search(false); });
  await Promise.all([status(), discover()]);
  if (fromUrl()) await search(false);
  document.body.dataset.ready = "true"; // for tests and scripts: the first answer is in
}

main();
