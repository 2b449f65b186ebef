"""The HTTP answers, pinned byte for byte: the original shape, key order, float formatting and
ranking must not change when the code moves. Taken from the code before the ``wordsim/``
package existed, on the test subset (support.SUBSET_RANGES), per backend (Milvus Lite and
the Milvus server differ in the last bits of a float)."""

from __future__ import annotations

import httpx

PINNED = {
    "lite": [
        (
            {"usr_input": "教师"},
            '{"相似度计算的结果为：":{"结果1":{"id":161872,"distance":1.000000238418579,"fields":{"id":161872,"text":"教师"}},"结果2":{"id":161804,"distance":0.9889667630195618,"fields":{"id":161804,"text":"教学"}},"结果3":{"id":161785,"distance":0.9881921410560608,"fields":{"id":161785,"text":"教员"}}}}',
        ),
        (
            {"usr_input": "教师", "top_k": "10"},
            '{"相似度计算的结果为：":{"结果1":{"id":161872,"distance":1.000000238418579,"fields":{"id":161872,"text":"教师"}},"结果2":{"id":161804,"distance":0.9889667630195618,"fields":{"id":161804,"text":"教学"}},"结果3":{"id":161785,"distance":0.9881921410560608,"fields":{"id":161785,"text":"教员"}},"结果4":{"id":161770,"distance":0.9871982336044312,"fields":{"id":161770,"text":"教务"}},"结果5":{"id":161754,"distance":0.9867599606513977,"fields":{"id":161754,"text":"教众"}},"结果6":{"id":162035,"distance":0.9860140085220337,"fields":{"id":162035,"text":"教训"}},"结果7":{"id":161924,"distance":0.9853376150131226,"fields":{"id":161924,"text":"教点"}},"结果8":{"id":162047,"distance":0.98518306016922,"fields":{"id":162047,"text":"教门"}},"结果9":{"id":162044,"distance":0.9851565361022949,"fields":{"id":162044,"text":"教运"}},"结果10":{"id":161891,"distance":0.9846433401107788,"fields":{"id":161891,"text":"教惯"}}}}',
        ),
        (
            {"usr_input": "医生"},
            '{"相似度计算的结果为：":{"结果1":{"id":29028,"distance":0.9140870571136475,"fields":{"id":29028,"text":"仿生"}},"结果2":{"id":29029,"distance":0.9097049832344055,"fields":{"id":29029,"text":"仿生学"}},"结果3":{"id":161677,"distance":0.8888174891471863,"fields":{"id":161677,"text":"救生带"}}}}',
        ),
    ],
    "server": [
        (
            {"usr_input": "教师"},
            '{"相似度计算的结果为：":{"结果1":{"id":161872,"distance":1.0000003576278687,"fields":{"id":161872,"text":"教师"}},"结果2":{"id":161804,"distance":0.9889667630195618,"fields":{"id":161804,"text":"教学"}},"结果3":{"id":161785,"distance":0.988192081451416,"fields":{"id":161785,"text":"教员"}}}}',
        ),
        (
            {"usr_input": "教师", "top_k": "10"},
            '{"相似度计算的结果为：":{"结果1":{"id":161872,"distance":1.0000003576278687,"fields":{"id":161872,"text":"教师"}},"结果2":{"id":161804,"distance":0.9889667630195618,"fields":{"id":161804,"text":"教学"}},"结果3":{"id":161785,"distance":0.988192081451416,"fields":{"id":161785,"text":"教员"}},"结果4":{"id":161770,"distance":0.9871982336044312,"fields":{"id":161770,"text":"教务"}},"结果5":{"id":161754,"distance":0.9867599010467529,"fields":{"id":161754,"text":"教众"}},"结果6":{"id":162035,"distance":0.9860140085220337,"fields":{"id":162035,"text":"教训"}},"结果7":{"id":161924,"distance":0.9853376150131226,"fields":{"id":161924,"text":"教点"}},"结果8":{"id":162047,"distance":0.9851830005645752,"fields":{"id":162047,"text":"教门"}},"结果9":{"id":162044,"distance":0.9851564764976501,"fields":{"id":162044,"text":"教运"}},"结果10":{"id":161891,"distance":0.9846433401107788,"fields":{"id":161891,"text":"教惯"}}}}',
        ),
        (
            {"usr_input": "医生"},
            '{"相似度计算的结果为：":{"结果1":{"id":29028,"distance":0.9140870571136475,"fields":{"id":29028,"text":"仿生"}},"结果2":{"id":29029,"distance":0.9097050428390503,"fields":{"id":29029,"text":"仿生学"}},"结果3":{"id":161677,"distance":0.8888174295425415,"fields":{"id":161677,"text":"救生带"}}}}',
        ),
    ],
}


def test_answers_are_byte_identical_to_the_pinned_ones(http_server, backend_env):
    backend = "lite" if "://" not in backend_env["WORDSIM_MILVUS_URI"] else "server"
    for params, body in PINNED[backend]:
        resp = httpx.post(http_server.url + "/vector_similarity", data=params, timeout=30)
        assert resp.status_code == 200
        assert resp.content.decode() == body, params
