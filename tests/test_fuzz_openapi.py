"""Schemathesis fuzzes the OpenAPI description the server publishes: no server errors,
answers that match the described schemas, status codes and content types."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_openapi_describes_both_endpoints(lite_server):
    spec = httpx.get(lite_server.url + "/docs/openapi.json", timeout=30).json()
    paths = spec["paths"]
    assert {"post", "get"} <= set(paths["/vector_similarity"]) and "get" in paths["/health"]
    body = paths["/vector_similarity"]["post"]["requestBody"]["content"]
    assert {"application/x-www-form-urlencoded", "multipart/form-data", "application/json"} <= set(body)
    usr_input = body["application/x-www-form-urlencoded"]["schema"]["properties"]["usr_input"]
    assert usr_input["type"] == "string" and usr_input["maxLength"] == 64
    one_or_list = body["application/json"]["schema"]["properties"]["usr_input"]["oneOf"]
    assert one_or_list == [usr_input, {"type": "array", "items": usr_input, "minItems": 1, "maxItems": 64}]
    get_params = {p["name"] for p in paths["/vector_similarity"]["get"]["parameters"]}
    assert {"min_score", "pos", "min_freq", "exclude_self", "exclude_overlap", "fields"} <= get_params


def test_schemathesis_finds_no_server_error(lite_server, tmp_path):
    cmd = [
        str(SCHEMATHESIS), "run", lite_server.url + "/docs/openapi.json",
        "--url", lite_server.url,
        "--checks", CHECKS,
        # Bounded by a number of cases, not by time: the same cases on a fast or a slow machine.
        "--max-examples", "40",
        "--seed", "1",
        "--generation-deterministic",
        "--request-timeout", "30",
        "--report-dir", str(tmp_path),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "No issues found" in output
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated and int(generated.group(1)) >= 100, output[-2000:]  # it really sent requests
    assert httpx.get(lite_server.url + "/health", timeout=30).status_code == 200
