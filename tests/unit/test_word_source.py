"""Reading word lists: ids are line numbers, bad lines are reported by line number."""

from __future__ import annotations

from support import ID_JIAOSHI, ID_JIAOXUE, ID_RENKE
from wordsim.ingest.wordlist import jieba_dict_path, parse_line, read_words


def test_jieba_dict_ids_are_line_numbers():
    report = read_words(jieba_dict_path())
    assert report.lines == 349046 and len(report.words) == 349046 and not report.bad_lines
    by_id = {w.id: w for w in report.words}
    assert by_id[ID_JIAOSHI].text == "教师"
    assert by_id[ID_JIAOXUE].text == "教学"
    assert by_id[ID_RENKE].text == "任课教师"
    assert by_id[ID_JIAOSHI].freq > 0 and by_id[ID_JIAOSHI].pos == "n"


def test_id_ranges_keep_line_numbers():
    report = read_words(jieba_dict_path(), id_ranges=[(161870, 161875)])
    assert [w.id for w in report.words] == list(range(161870, 161875))
    assert report.words[2].text == "教师"


def test_both_formats():
    assert parse_line("教师 1234 n") == ("教师", 1234, "n")
    assert parse_line("教师 1234") == ("教师", 1234, "")
    assert parse_line("教师") == ("教师", 0, "")
    assert parse_line("machine learning") == ("machine learning", 0, "")


def test_bad_lines_reported_and_skipped(tmp_path):
    src = tmp_path / "words.txt"
    src.write_bytes(
        "\ufeff教师 10 n\n".encode()
        + b"\n"
        + b"\xff\xfe broken\n"
        + ("长" * 100 + "\n").encode()
        + "教学\n".encode()
    )
    report = read_words(src)
    assert [(w.id, w.text) for w in report.words] == [(0, "教师"), (4, "教学")]
    assert [n for n, _ in report.bad_lines] == [2, 3, 4]
    reasons = " ".join(why for _, why in report.bad_lines)
    assert "blank" in reasons and "UTF-8" in reasons and "longer than" in reasons
    assert "line 3" in report.summary()
