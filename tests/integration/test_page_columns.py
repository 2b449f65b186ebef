"""The page with two collections served (Milvus Lite: the default one, stand-in model on the
jieba subset, and a word2vec one from a small clustered table the test writes), in a real
browser: the columns side by side and their deep links, calibrated bars (and the fallback to
raw distances), the neighbourhood graph (its nodes, its edges against /compare, the threshold,
clicks and the keyboard), the compare box over every collection, a phone width.
Screenshots go to tests/artifacts/ (WORDSIM_TEST_ARTIFACTS)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from support import (
    ARTIFACTS,
    RunningServer,
    open_page,
    query_of,
    run_ingest_process,
    serving,
    shown_for,
    wait_for,
    word2vec_env,
    words,
)
from wordsim.model.word2vec import write_word2vec

KEY = "相似度计算的结果为："
THRESHOLD = 0.6  # the page's default edge threshold
# Words of one theme lie around one centre, each at its own distance from it (noise of a
# growing size), so pair scores spread over the threshold; the rest are unrelated.
THEMES = [
    ["医生", "护士", "医院", "病人", "大夫", "诊所", "药品", "手术", "门诊", "病房"],
    ["教师", "学生", "学校", "老师", "教学", "课堂"],
    ["汽车", "卡车", "公交", "司机"],
]
TABLE = ["</s>", *(w for theme in THEMES for w in theme), *(f"词{i}" for i in range(150))]


def clustered_vectors(seed: int = 22, dim: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = [rng.normal(size=dim)]  # </s>
    for theme in THEMES:
        centre = rng.normal(size=dim)
        rows += [centre + (0.3 + 0.2 * i) * rng.normal(size=dim) for i in range(len(theme))]
    rows += list(rng.normal(size=(len(TABLE) - len(rows), dim)))
    return np.asarray(rows, dtype=np.float32)


@pytest.fixture(scope="module")
def two_collections(lite_env, tmp_path_factory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("page_two")
    table = tmp / "themes.vector"
    write_word2vec(table, TABLE, clustered_vectors(), binary=True)
    env = word2vec_env(lite_env, tmp / "two.db", table)
    done = run_ingest_process(env, "--all-collections")  # the table's ids are in the subset's ranges
    assert done.returncode == 0, done.stderr[-3000:]
    with serving(env, tmp / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def page(browser, two_collections):
    return lambda path: open_page(browser, two_collections.url + path)


def api_hits(server, word: str, collection: str, top_k: int) -> list[dict]:
    data = {"usr_input": word, "top_k": top_k, "collection": collection, "score": "calibrated"}
    resp = httpx.post(server.url + "/vector_similarity", data=data, timeout=30)
    assert resp.status_code == 200, resp.text
    return list(resp.json()[KEY].values())


def api_pairs(server, pairs: list[list[str]], collection: str) -> list[dict]:
    body = {"pairs": pairs, "collection": collection, "score": "calibrated"}
    resp = httpx.post(server.url + "/compare", json=body, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()["results"]


def columns(b) -> list[dict]:
    """Each column as shown: collection, how it is scored, words, bar widths (%), numbers."""
    return b.execute_script(
        """return [...document.querySelectorAll('#results .column')].map(c => ({
            collection: c.dataset.collection, scored: c.dataset.scored, text: c.textContent,
            words: [...c.querySelectorAll('.word')].map(e => e.textContent),
            widths: [...c.querySelectorAll('.bar span')].map(e => parseFloat(e.style.width)),
            scores: [...c.querySelectorAll('.score')].map(e => e.textContent),
            distances: [...c.querySelectorAll('.distance')].map(e => e.textContent),
        }))"""
    )


def bar_widths(values) -> list[float]:
    """What the bars show of each value: its width in %, clamped to [0, 1]."""
    return [100 * min(1.0, max(0.0, v)) for v in values]


def chosen(b, select_id: str) -> str:
    from selenium.webdriver.support.ui import Select

    return Select(b.find_element("id", select_id)).first_selected_option.get_attribute("value")


def graph(b) -> dict:
    return b.execute_script(
        """const box = document.getElementById('graph-box');
        return {for: box.dataset.for || null, collection: box.dataset.collection,
            threshold: box.dataset.threshold, edges: document.querySelectorAll('#graph .edge').length,
            edge_titles: [...document.querySelectorAll('#graph .edge title')].map(e => e.textContent),
            query: [...document.querySelectorAll('#graph .node.query')].map(e => e.textContent),
            nodes: [...document.querySelectorAll('#graph .node[tabindex]')].map(e => e.dataset.word),
            value: document.getElementById('edge-value').textContent}"""
    )


def graph_drawn(b, word: str, collection: str, threshold: str | None = None) -> dict | None:
    g = graph(b)
    ok = g["for"] == word and g["collection"] == collection and threshold in (None, g["threshold"])
    return g if ok else None


def neighbours(hits: list[dict], word: str) -> list[str]:
    """The graph's nodes besides the query: the hits' words in rank order, no repeats."""
    out: list[str] = []
    for h in hits:
        if h["fields"]["text"] != word and h["fields"]["text"] not in out:
            out.append(h["fields"]["text"])
    return out


def expected_edges(server, nodes: list[str], collection: str, threshold: float) -> int:
    pairs = [[a, b] for i, a in enumerate(nodes) for b in nodes[i + 1 :]]
    return sum(r["score"] >= threshold for r in api_pairs(server, pairs, collection))


def test_side_by_side_columns_are_the_api_answers_with_calibrated_bars(page, two_collections):
    b = page("/?q=医生&collections=all&top_k=6")
    assert b.find_element("id", "results-box").get_attribute("data-view") == "columns"
    shown = columns(b)
    assert [c["collection"] for c in shown] == ["words", "semantic"]  # /health's order
    for column in shown:
        hits = api_hits(two_collections, "医生", column["collection"], 6)
        assert column["scored"] == "calibrated"
        assert column["words"] == [h["fields"]["text"] for h in hits]
        np.testing.assert_allclose(column["widths"], bar_widths(h["score"] for h in hits), atol=0.01)
        assert column["scores"] == [f"{h['score']:.4f}" for h in hits]
        assert column["distances"] == [f"{h['distance']:.4f}" for h in hits]  # the raw distance beside it
    assert "word2vec" in shown[1]["text"] and "bert" in shown[0]["text"]  # each column names its kind
    assert set(shown[1]["words"]) <= set(THEMES[0])  # the theme of the table
    raw = api_hits(two_collections, "医生", "words", 6)
    assert all(h["score"] < h["distance"] - 0.2 for h in raw)  # raw, the stand-in's bars would all look full
    wait_for(b, lambda d: graph_drawn(d, "医生", "words"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    b.save_screenshot(str(ARTIFACTS / "page_columns.png"))


def test_one_collection_links_and_the_chooser(page, two_collections):
    from selenium.webdriver.support.ui import Select

    b = page("/?q=医生&collection=semantic&top_k=5")
    assert b.find_element("id", "results-box").get_attribute("data-view") == "single"
    assert [c["collection"] for c in columns(b)] == ["semantic"]
    assert words(b) == [h["fields"]["text"] for h in api_hits(two_collections, "医生", "semantic", 5)]
    assert query_of(b)["collection"] == ["semantic"] and "collections" not in query_of(b)
    assert chosen(b, "collection") == "semantic"

    b = page("/?q=医生&top_k=5")  # a link from before: no collection named, so all of them
    assert [c["collection"] for c in columns(b)] == ["words", "semantic"]
    assert query_of(b)["collections"] == ["all"]

    Select(b.find_element("id", "collection")).select_by_value("words")  # choosing one searches it
    wait_for(b, lambda d: query_of(d).get("collection") == ["words"] and len(columns(d)) == 1)
    assert words(b) == [h["fields"]["text"] for h in api_hits(two_collections, "医生", "words", 5)]
    b.back()
    wait_for(b, lambda d: len(columns(d)) == 2)
    assert chosen(b, "collection") == "all"


def test_graph_nodes_edges_threshold_and_click(page, two_collections):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    b = page("/?q=医生&collections=all&top_k=8")
    wait_for(b, lambda d: graph_drawn(d, "医生", "words"))  # the first column's, to begin with
    Select(b.find_element("id", "graph-of")).select_by_value("semantic")
    g = wait_for(b, lambda d: graph_drawn(d, "医生", "semantic"))
    nodes = neighbours(api_hits(two_collections, "医生", "semantic", 8), "医生")
    assert g["query"] == ["医生"] and g["nodes"] == nodes and len(nodes) == 7  # the query is its own top hit
    assert g["value"] == "0.60" and g["threshold"] == "0.60"
    assert g["edges"] == expected_edges(two_collections, nodes, "semantic", THRESHOLD) > 0
    assert all("score " in t and "distance " in t for t in g["edge_titles"])

    slider = b.find_element("id", "edge-threshold")
    slider.send_keys(Keys.ARROW_LEFT * 6)  # the keyboard moves it: 0.60 -> 0.30
    g = wait_for(b, lambda d: graph_drawn(d, "医生", "semantic", "0.30"))
    low, default = (expected_edges(two_collections, nodes, "semantic", t) for t in (0.3, THRESHOLD))
    assert g["value"] == "0.30" and g["edges"] == low > default
    b.save_screenshot(str(ARTIFACTS / "page_graph.png"))

    target = nodes[2]
    b.find_element("css selector", f'#graph .node[data-word="{target}"]').click()  # a node searches its word
    wait_for(b, lambda d: shown_for(d) == target)
    assert query_of(b)["q"] == [target] and query_of(b)["collections"] == ["all"]
    wait_for(b, lambda d: graph_drawn(d, target, "semantic"))  # the chosen collection stays


def test_keyboard_reaches_every_control_and_the_nodes(page, two_collections):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    b = page("/?q=医生&collections=all&top_k=5")
    wait_for(b, lambda d: graph_drawn(d, "医生", "words"))
    b.find_element("id", "q").click()
    seen = []
    for _ in range(60):
        ActionChains(b).send_keys(Keys.TAB).perform()
        seen.append(
            b.execute_script(
                "const e = document.activeElement; return e.id || (e.dataset.word && 'node') || e.tagName"
            )
        )
        if seen[-1] == "SUMMARY":  # the last control
            break
    controls = ("top_k", "collection", "p-min_score", "graph-of", "edge-threshold", "a", "b", "SUMMARY")
    for control in controls:  # SUMMARY: the API key's box
        assert control in seen, (control, seen)
    assert seen.count("node") == len(graph(b)["nodes"]) > 0

    b.execute_script("document.getElementById('edge-threshold').focus()")
    ActionChains(b).send_keys(Keys.TAB).perform()  # from the threshold to the first node
    first = b.execute_script("return document.activeElement.dataset.word")
    assert first == graph(b)["nodes"][0]
    ring = "return getComputedStyle(document.activeElement.querySelector('rect')).strokeWidth"
    assert b.execute_script(ring) == "3px"  # the focused node shows it
    ActionChains(b).send_keys(Keys.ENTER).perform()  # Enter searches it
    wait_for(b, lambda d: shown_for(d) == first)
    assert query_of(b)["q"] == [first]


def test_a_collection_without_calibration_shows_raw_distances(page, two_collections):
    b = page("/?collections=all")
    # The service's answer for a collection with no calibration recorded (both of these have one).
    b.execute_script(
        """const real = window.fetch;
        window.fetch = (url, opts) => {
          const body = opts && opts.body ? JSON.parse(opts.body) : {};
          if (body.collection === 'semantic' && body.score === 'calibrated') {
            const error = "collection 'semantic' has no calibration yet: run python insert_data_to_milvus.py";
            return Promise.resolve(new Response(JSON.stringify({ok: false, error, status: 400}),
              {status: 400, headers: {'Content-Type': 'application/json'}}));
          }
          return real(url, opts);
        };"""
    )
    b.find_element("id", "q").send_keys("护士\n")
    wait_for(b, lambda d: shown_for(d) == "护士")
    words_col, semantic = columns(b)
    assert words_col["scored"] == "calibrated" and semantic["scored"] == "raw"
    assert "还没有校准" in semantic["text"] and "no calibration" in semantic["text"]
    hits = api_hits(two_collections, "护士", "semantic", 3)
    assert semantic["words"] == [h["fields"]["text"] for h in hits]
    np.testing.assert_allclose(semantic["widths"], bar_widths(h["distance"] for h in hits), atol=0.01)
    assert semantic["scores"] == [f"{h['distance']:.4f}" for h in hits]
    assert not b.find_element("id", "error").is_displayed()


def test_compare_box_answers_for_every_collection(page, two_collections):
    b = page("/?collections=all")
    for field, word in (("a", "医生"), ("b", "护士")):
        b.find_element("id", field).send_keys(word)
    b.find_element("css selector", "#compare button").click()
    text = wait_for(b, lambda d: d.find_element("id", "compare-result").text or None)
    lines = text.splitlines()
    assert lines[0] == "「医生」与「护士」" and len(lines) == 3
    for line, name in zip(lines[1:], ("words", "semantic"), strict=True):
        (pair,) = api_pairs(two_collections, [["医生", "护士"]], name)
        assert line == f"{name}：distance {pair['distance']:.4f} · score {pair['score']:.4f}"


def test_phone_width_stacks_the_columns(page, browser):
    browser.set_window_size(390, 844)
    try:
        b = page("/?q=医生&collections=all&top_k=5")
        wait_for(b, lambda d: graph_drawn(d, "医生", "words"))
        first, second = b.execute_script(
            "return [...document.querySelectorAll('.column')].map(c => c.getBoundingClientRect().toJSON())"
        )
        assert second["top"] >= first["bottom"] - 1  # one above the other
        assert abs(second["left"] - first["left"]) < 1
        assert b.execute_script("return document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        plot = b.execute_script("return document.getElementById('graph').getBoundingClientRect().toJSON()")
        assert 250 < plot["width"] <= 390 and plot["height"] <= plot["width"] + 1  # the graph scales down
        text = "return document.querySelector('#graph text').getBoundingClientRect().height"
        assert b.execute_script(text) >= 12  # in a drawing of its own (square) its words stay readable
        for box, name in (("results-box", "page_columns_phone.png"), ("graph-box", "page_graph_phone.png")):
            b.execute_script("document.getElementById(arguments[0]).scrollIntoView()", box)
            b.save_screenshot(str(ARTIFACTS / name))
    finally:
        browser.set_window_size(1100, 900)
