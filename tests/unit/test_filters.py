"""Filters and the threshold, fast: what is parsed, refused, and the Milvus expression built."""

from __future__ import annotations

import pytest
from sanic.exceptions import BadRequest

from wordsim.service.filters import Filters, parse_filters
from wordsim.store.schema import Hit


def parse(**params):
    return parse_filters(params.get)


def test_nothing_given_is_no_filter():
    assert parse() == Filters() and Filters().expr() == "" and not Filters().in_service


def test_values_from_forms_and_from_json():
    form = parse(
        pos="n, v,n", min_freq="10", min_score="0.9", exclude_self="true", exclude_overlap="0", fields="pos"
    )
    assert form == Filters(("n", "v"), 10, 0.9, True, False, ("pos",))
    json = parse(pos=["nr"], min_freq=0, min_score=1, exclude_self=False, fields=["pos", "freq"])
    assert json == Filters(("nr",), 0, 1.0, False, False, ("freq", "pos"))


def test_expression_is_built_from_validated_values_only():
    assert parse(pos="n,v", min_freq="5").expr() == 'pos in ["n", "v"] and freq >= 5'


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"pos": 'n"] or id > 0 or pos in ["'}, "is not a part-of-speech tag"),
        ({"pos": "名词"}, "is not a part-of-speech tag"),
        ({"pos": [1]}, "list of strings"),
        ({"min_freq": "-1"}, "min_freq must be a whole number of at least 0"),
        ({"min_freq": str(2**63)}, "min_freq must be a whole number .* at most 9223372036854775807"),
        ({"min_freq": 2**64}, "min_freq must be a whole number"),
        ({"min_freq": 2.5}, "min_freq must be a whole number"),
        ({"min_freq": "1e3"}, "min_freq must be a whole number"),
        ({"min_score": "nan"}, "min_score must be a number from -2.0 to 2.0"),
        ({"min_score": "3"}, "min_score must be a number"),
        ({"min_score": True}, "min_score must be a number"),
        ({"exclude_self": "maybe"}, "exclude_self must be true or false"),
        ({"fields": "vector"}, "'vector' is not one of freq, pos"),
    ],
)
def test_bad_values_are_400s_that_say_what_is_wrong(params, message):
    with pytest.raises(BadRequest, match=message):
        parse(**params)


def test_service_side_filters():
    f = Filters(min_score=0.95, exclude_self=True, exclude_overlap=True)
    assert f.in_service
    hits = [
        Hit(1, 1.0, "汽车"),
        Hit(2, 0.99, "汽车业"),
        Hit(3, 0.98, "车"),
        Hit(4, 0.97, "卡车"),
        Hit(5, 0.94, "轿车"),
    ]
    kept = [h.text for h in hits if f.keep(h, "汽车")]
    assert kept == ["卡车"]  # itself, containing, contained and below the threshold are dropped
