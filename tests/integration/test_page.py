"""The page at / in a real browser (Debian's chromium, driven by Selenium through chromedriver):
deep links, Enter to search, clicking a result, the compare box, errors in Chinese, a phone
width. Screenshots go to tests/artifacts/ (WORDSIM_TEST_ARTIFACTS)."""

from __future__ import annotations

import re

import pytest

from support import ARTIFACTS, open_page, query_of, shown_for, wait_for, words


@pytest.fixture(scope="module")
def page(browser, http_server):
    """Open ``path`` and wait until the page has answered its deep link (or has none)."""
    return lambda path: open_page(browser, http_server.url + path)


@pytest.mark.parametrize("backend_env", ["server"], indirect=True)
def test_deep_link_search_enter_click_and_errors(page, browser):
    b = page("/?q=教师&top_k=5")
    assert words(b)[0] == "教师" and len(words(b)) == 5
    first_score = b.execute_script("return document.querySelector('#results li .score').textContent")
    assert first_score.startswith(("1.0000", "0.9999"))
    assert "ckiplab/albert-tiny-chinese" in b.find_element("id", "model").text
    assert b.find_element("id", "standin").is_displayed()  # the stand-in model is announced
    assert not b.find_element("id", "collection-box").is_displayed()  # one collection: no chooser
    assert b.find_element("id", "p-min_score").is_displayed()  # the API's filters are offered
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    b.save_screenshot(str(ARTIFACTS / "page_jiaoshi.png"))

    box = b.find_element("id", "q")
    box.clear()
    box.send_keys("医生\n")  # Enter searches
    wait_for(b, lambda d: shown_for(d) == "医生")
    assert query_of(b)["q"] == ["医生"]
    assert query_of(b)["top_k"] == ["5"]  # the URL follows each search

    target = words(b)[1]
    b.execute_script("document.querySelectorAll('#results .word')[1].click()")  # a result searches that word
    wait_for(b, lambda d: shown_for(d) == target)
    assert query_of(b)["q"] == [target] and words(b)[0] == target
    assert b.find_element("id", "q").get_attribute("value") == target

    b.back()  # history: the previous search comes back
    wait_for(b, lambda d: shown_for(d) == "医生")
    assert b.find_element("id", "q").get_attribute("value") == "医生"

    box = b.find_element("id", "q")
    box.clear()
    box.send_keys("\n")
    error = wait_for(
        b, lambda d: d.find_element("id", "error") if d.find_element("id", "error").is_displayed() else None
    )
    assert error.text.startswith("请输入要查询的词")

    box.send_keys("教" * 70)  # longer than the field allows: the browser cuts it at 64
    assert len(box.get_attribute("value")) == 64
    b.execute_script("document.getElementById('q').value = arguments[0]", "教\ue000")  # refused by the server
    box.send_keys("\n")
    wait_for(b, lambda d: "输入有误" in d.find_element("id", "error").text)
    assert "U+E000" in b.find_element("id", "error").text


@pytest.mark.parametrize("backend_env", ["server"], indirect=True)
def test_compare_box(page, browser, encoder):
    b = page("/")
    assert b.find_element("id", "compare").is_displayed()  # the service offers /compare
    for field, word in (("a", "教师"), ("b", "教学")):
        b.find_element("id", field).send_keys(word)
    b.find_element("css selector", "#compare button").click()
    result = wait_for(b, lambda d: d.find_element("id", "compare-result").text or None)
    expected = float(encoder.encode_one("教师") @ encoder.encode_one("教学"))
    shown = float(re.search(r"distance (\d\.\d{4})", result).group(1))
    assert "「教师」与「教学」" in result and abs(shown - expected) <= 1e-4
    b.save_screenshot(str(ARTIFACTS / "page_compare.png"))


@pytest.mark.parametrize("backend_env", ["server"], indirect=True)
def test_phone_width_and_api_key_field(page, browser):
    browser.set_window_size(390, 844)
    try:
        b = page("/?q=教学")
        assert words(b)[0] == "教学"
        width = b.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # no sideways scrolling on a phone
        b.save_screenshot(str(ARTIFACTS / "page_phone.png"))
        key = b.find_element("id", "api-key")
        b.find_element("css selector", "details summary").click()
        key.send_keys("k123")
        b.find_element("id", "q").click()  # leaving the field stores it
        assert b.execute_script("return sessionStorage.getItem('wordsim.apiKey')") == "k123"
        assert b.execute_script("return localStorage.length") == 0
        b.execute_script("sessionStorage.clear()")
    finally:
        browser.set_window_size(1100, 900)
