"""``make run`` where unprivileged user namespaces are unavailable (simulated with the
sandbox's test hook, failing as Ubuntu's AppArmor restriction does): Milvus runs with its
own authentication and a generated root password stored 0600 under the data dir; the
ingest and the service use it without being told; a client without it is refused; the log
names the protection; a killed Milvus comes back with the same password."""

from __future__ import annotations

import stat

import httpx
import pytest
from test_milvus_supervised import Supervised, _kill_and_recover, start_supervised, stop_supervised

from wordsim.local_milvus.namespaces import TEST_HOOK_DENY_USERNS
from wordsim.local_milvus.protection import DEFAULT_PASSWORD

pytestmark = pytest.mark.milvus_server


@pytest.fixture(scope="module")
def unisolated(tmp_path_factory) -> Supervised:
    run = start_supervised(tmp_path_factory.mktemp("unisolated"), **{TEST_HOOK_DENY_USERNS: "1"})
    yield run
    assert stop_supervised(run) == 0, run.log()[-3000:]


def test_the_log_names_the_protection(unisolated: Supervised) -> None:
    port = unisolated.env["WORDSIM_LOCAL_MILVUS_PORT"]
    said = unisolated.wait_log(
        r"WARNING wordsim\.local_milvus: local Milvus protection: no user namespaces \(.*uid_map: "
        r"Operation not permitted.*\), so Milvus' authentication is on "
        r"\(root's password in (\S+), mode 0600.*"
        rf"On 127\.0\.0\.1 only: (.*)\. ON ALL INTERFACES.*: {port} \(the API, password required\) and "
        r"Milvus' internal ports (.*) \(no authentication\)",
        0,
        5,
    )
    assert said.group(1) == str(unisolated.data_dir / "credentials")
    assert "2379" in said.group(2).split(", ")  # etcd: on loopback
    assert said.group(3) != "(none found)"
    assert "user/network namespaces" not in unisolated.log()


def test_credentials_file_is_private(unisolated: Supervised) -> None:
    path = unisolated.data_dir / "credentials"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) >= 24
    assert not list(unisolated.data_dir.glob("*credentials.*")), "a pending or temporary file was left"


def test_clients_without_the_password_are_refused(unisolated: Supervised) -> None:
    from pymilvus import MilvusClient

    uri = f"http://127.0.0.1:{unisolated.env['WORDSIM_LOCAL_MILVUS_PORT']}"
    for token in ("", f"root:{DEFAULT_PASSWORD}"):  # pymilvus says "Fail connecting" for both
        with pytest.raises(Exception):  # noqa: B017
            client = MilvusClient(uri=uri, token=token, timeout=10)
            client.list_collections()
    # while the same server, at the same moment, takes the stored password
    password = (unisolated.data_dir / "credentials").read_text().strip()
    client = MilvusClient(uri=uri, token=f"root:{password}", timeout=10)
    assert client.has_collection("words")  # the alias of the version loaded
    client.close()


def test_the_service_answers_with_the_stored_password(unisolated: Supervised) -> None:
    # the ingest already ran through it (start_supervised waits for the server after it)
    answer = httpx.post(unisolated.url + "/vector_similarity", data={"usr_input": "教师"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert "教师" in answer.text


def test_killed_milvus_comes_back_authenticated(unisolated: Supervised) -> None:
    (milvus,) = [p for p in unisolated.sandbox_tree() if p.name() == "milvus"]
    _kill_and_recover(unisolated, milvus, "milvus died")
