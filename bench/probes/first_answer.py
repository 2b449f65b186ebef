"""A newcomer's first answer: ``git clone`` the project into a new folder, run ``make run``
there, and time it until ``POST /vector_similarity`` answers 教师 correctly, then until the
HNSW index has taken over from exhaustive search.

    python -m bench.probes.first_answer            # clones this repository's HEAD
    python -m bench.probes.first_answer --keep     # keep the clone (and its venv) afterwards

Milestones are stamped when their log line first appears (seconds after ``make run``
started); the result goes to ``bench/out/first_answer.json`` and one summary line. The
clone uses its own ports, so it runs beside anything else on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.common import OUT_DIR, PROJECT_DIR, free_port

WORD, WORD_ID = "教师", 161872
ANSWER_KEY = "相似度计算的结果为："
POLL_S = 1.0
MILESTONES = {
    "setup_done": re.compile(r"starting the local Milvus|local Milvus"),
    "words_written": re.compile(r"wrote \d+ words in"),
    "words_loaded": re.compile(r"compacted(,| and) .*loaded in"),
    "server_started": re.compile(r"Starting worker|Worker ready|Goin' Fast|serving on"),
    "index_built_logged": re.compile(r"index of \S+ built: "),
}


def first_correct_answer(url: str) -> bool:
    data = urllib.parse.urlencode({"usr_input": WORD}).encode()
    try:
        with urllib.request.urlopen(url + "/vector_similarity", data=data, timeout=10) as resp:
            body = json.loads(resp.read())
    except (OSError, ValueError):
        return False
    return body.get(ANSWER_KEY, {}).get("结果1", {}).get("id") == WORD_ID


def health(url: str) -> dict:
    try:
        with urllib.request.urlopen(url + "/health", timeout=10) as resp:
            return json.loads(resp.read())
    except (OSError, ValueError):
        return {}


def stamp(log: Path, seen: dict[str, float], elapsed: float) -> None:
    text = log.read_text(errors="replace") if log.is_file() else ""
    for name, pattern in MILESTONES.items():
        if name not in seen and pattern.search(text):
            seen[name] = round(elapsed, 1)


def run(clone: Path, timeout_s: float, index_timeout_s: float) -> dict:
    port, milvus_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORDSIM_", "VIRTUAL_ENV"))}
    # No WORDSIM_MILVUS_URI: make run then starts its own local Milvus (on this port).
    env.update(WORDSIM_PORT=str(port), WORDSIM_LOCAL_MILVUS_PORT=str(milvus_port))
    url = f"http://127.0.0.1:{port}"
    log = clone / "make_run.log"
    t0 = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["make", "run"], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    seen: dict[str, float] = {}
    result: dict = {"port": port}
    try:
        while time.monotonic() - t0 < timeout_s and proc.poll() is None:
            stamp(log, seen, time.monotonic() - t0)
            if first_correct_answer(url):
                result["first_answer_s"] = round(time.monotonic() - t0, 1)
                result["index_at_first_answer"] = health(url).get("index")
                break
            time.sleep(POLL_S)
        while "first_answer_s" in result and time.monotonic() - t0 < timeout_s + index_timeout_s:
            stamp(log, seen, time.monotonic() - t0)
            index = health(url).get("index") or {}
            if index.get("state") == "built":
                result["index_built_s"] = round(time.monotonic() - t0, 1)
                result["index"] = index
                break
            time.sleep(POLL_S)
    finally:
        stamp(log, seen, time.monotonic() - t0)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    result["milestones_s"] = seen
    result["exit_code"] = proc.returncode
    if "first_answer_s" not in result and log.is_file():
        result["log_tail"] = log.read_text(errors="replace")[-3000:]
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", default=str(PROJECT_DIR), help="repository to clone (default: this one)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the first answer")
    p.add_argument("--index-timeout", type=float, default=900, help="then seconds to wait for the index")
    p.add_argument("--keep", action="store_true", help="keep the clone")
    args = p.parse_args()
    clone = Path(tempfile.mkdtemp(prefix="wordsim-first-answer-"))
    commit = subprocess.run(
        ["git", "-C", args.repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", args.repo, str(clone)], check=True)
    try:
        timed = run(clone, args.timeout, args.index_timeout)
        result = {"commit": commit, "cpu_count": os.cpu_count(), **timed}
    finally:
        if not args.keep:
            shutil.rmtree(clone, ignore_errors=True)
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "first_answer.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(
        f"clean clone of {commit}: make run answered {WORD} correctly after "
        f"{result.get('first_answer_s')} s; "
        f"HNSW serving every row after {result.get('index_built_s')} s; milestones {result['milestones_s']}"
    )
    return 0 if "first_answer_s" in result else 1


if __name__ == "__main__":
    raise SystemExit(main())
