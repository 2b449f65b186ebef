"""deploy/: no Docker engine runs here, so the files are checked as far as they can be
without one: the compose file parses, every service has a health check, dependencies
wait for health, and the env file documents every WORDSIM_* variable the service reads."""

from __future__ import annotations

import re
from dataclasses import fields

import yaml

from support import ROOT
from wordsim.settings import ENV_PREFIX, Settings

DEPLOY = ROOT / "deploy"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_compose_parses_and_has_milvus_with_its_dependencies_and_the_service():
    services = compose()["services"]
    assert set(services) == {"etcd", "minio", "standalone", "wordsim"}
    assert re.fullmatch(r"milvusdb/milvus:v\d+\.\d+\.\d+", services["standalone"]["image"])
    assert services["wordsim"]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert services["wordsim"]["env_file"] == "wordsim.env"


def test_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies():
    services = compose()["services"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dep, cond in (service.get("depends_on") or {}).items():
            assert dep in services and cond == {"condition": "service_healthy"}, (name, dep, cond)
    assert set(services["wordsim"]["depends_on"]) == {"standalone"}
    assert set(services["standalone"]["depends_on"]) == {"etcd", "minio"}


def test_env_file_documents_every_setting_and_points_at_the_compose_milvus():
    text = (DEPLOY / "wordsim.env").read_text()
    assigned = dict(re.findall(r"^#? ?(WORDSIM_[A-Z0-9_]+)=(.*)$", text, flags=re.M))
    expected = {ENV_PREFIX + f.name.upper() for f in fields(Settings)}
    assert expected <= set(assigned), sorted(expected - set(assigned))
    assert set(assigned) <= expected, sorted(set(assigned) - expected)  # no stale names
    active = dict(re.findall(r"^(WORDSIM_[A-Z0-9_]+)=(.*)$", text, flags=re.M))
    assert active["WORDSIM_MILVUS_URI"] == "http://standalone:19530"
    assert active["WORDSIM_HOST"] == "0.0.0.0"


def test_dockerfile_uses_cpu_torch_a_non_root_user_and_a_health_check():
    text = (DEPLOY / "Dockerfile").read_text()
    assert "download.pytorch.org/whl/cpu" in text
    assert re.search(r"^USER (?!root)\w+", text, flags=re.M)
    assert re.search(r"^HEALTHCHECK .*\n.*/health", text, flags=re.M)
    assert 'VOLUME ["/models"]' in text
