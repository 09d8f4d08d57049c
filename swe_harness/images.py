"""Task images at scale: a content hash of each build context (so an edited task rebuilds),
pruning what no loaded task uses, and moving images to machines without a registry.

A task's ``image_name`` (from task.json, or a template) stays its tag: scripts and registries
know images by it. The hash of the build context enters as the label ``swe_harness.context``
of the image the harness builds; before an image built by the harness is reused, the label
must match the task's current context, else it is rebuilt (the old one becomes an untagged
``swe_harness`` image that ``images --prune`` removes). Images the harness did not build
(pulled, loaded, made by hand) carry no ``swe_harness`` label and are used as they are.

Docker is imported lazily; the pure part (``context_hash``) needs none.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

LABEL = "swe_harness"
LABEL_CONTEXT = "swe_harness.context"
# Read by the harness from the task data, never from the image: editing them needs no rebuild.
NOT_IN_IMAGE = frozenset({"task.json", "eval_script.sh"})
SKIPPED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".git"})


@functools.cache
def context_hash(build_context: str, base_image: str) -> str:
    """sha256 (first 16 hex digits) of every file's path, mode bit and bytes in the build
    context (symlinks by their target), and of the base image it builds ``FROM``."""
    root = Path(build_context)
    digest = hashlib.sha256(f"base={base_image}\0".encode())
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel in NOT_IN_IMAGE or name.endswith(".pyc"):
                continue
            digest.update(rel.encode() + b"\0")
            if path.is_symlink():
                digest.update(b"link:" + os.readlink(path).encode())
            else:
                digest.update(b"x" if os.access(path, os.X_OK) else b"-")
                digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def task_context_hash(task) -> str | None:
    if not task.build_context:
        return None
    from .base_image import base_image_name

    return context_hash(str(task.build_context), base_image_name())


def build_labels(task) -> dict[str, str]:
    """Labels of an image the harness builds for ``task``."""
    digest = task_context_hash(task)
    return {LABEL: "1", **({LABEL_CONTEXT: digest} if digest else {})}


_fresh: set[tuple[str, str]] = set()  # (image, hash) checked in this process


def stale(task) -> bool:
    """True when the local image of ``task`` was built by the harness from another build
    context than the task's current one (an edited task)."""
    digest = task_context_hash(task)
    if digest is None or (task.image_name, digest) in _fresh:
        return False
    import docker.errors

    from .sandbox import client

    try:
        labels = client().images.get(task.image_name).labels or {}
    except docker.errors.ImageNotFound:
        return False  # missing, not stale: the image policy builds it
    if labels.get(LABEL) != "1" or labels.get(LABEL_CONTEXT) == digest:
        _fresh.add((task.image_name, digest))
        return False
    return True


# ---------------------------------------------------------------- prune, save, load


def unused_images(tasks, label_filter: str | None = None) -> list:
    """``swe_harness``-labelled images that no loaded task uses by name (tagged ones whose
    tags are all unused, and untagged leftovers of rebuilds). ``label_filter`` narrows it
    (``key=value``)."""
    from .sandbox import client

    used = {task.image_name for task in tasks}
    used |= {f"{name}:latest" for name in used if ":" not in name.rsplit("/", 1)[-1]}
    filters = {"label": [f"{LABEL}=1"] + ([label_filter] if label_filter else [])}
    out = []
    for image in client().images.list(all=False, filters=filters):
        if not any(tag in used for tag in image.tags):
            out.append(image)
    return out


def prune(tasks, label_filter: str | None = None, dry_run: bool = False) -> list[str]:
    """Remove the images of :func:`unused_images`; returns what was (or would be) removed.
    An image still used by a container is kept."""
    import docker.errors

    from .sandbox import client

    removed = []
    for image in unused_images(tasks, label_filter):
        name = ", ".join(image.tags) or image.short_id
        if dry_run:
            removed.append(name)
            continue
        try:
            for tag in image.tags or [image.id]:
                client().images.remove(tag, noprune=False)
            removed.append(name)
        except docker.errors.APIError:
            pass  # in use by a container, or removed meanwhile
    return removed


def save(tasks, directory: str | Path, log=lambda msg: None) -> Path:
    """Every local task image, in one archive (``images.tar``, layers shared by several images
    stored once) plus ``images.json`` (image name -> id)."""
    from .sandbox import client

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    names = sorted({task.image_name for task in tasks})
    ids = {}
    for name in names:
        ids[name] = client().images.get(name).id
    log(f"saving {len(names)} image(s) to {directory / 'images.tar'}")
    api = client().api
    # GET /images/get?names=a&names=b: one tar for all (the SDK's image.save() takes one)
    response = api._get(api._url("/images/get"), params={"names": names}, stream=True)
    api._raise_for_status(response)
    tmp = directory / "images.tar.part"
    with tmp.open("wb") as fh:
        for chunk in response.iter_content(chunk_size=1 << 20):
            fh.write(chunk)
    tmp.replace(directory / "images.tar")
    (directory / "images.json").write_text(json.dumps(ids, indent=1) + "\n")
    return directory / "images.tar"


def load(directory: str | Path) -> list[str]:
    """Load ``images.tar`` (from :func:`save`, or any ``docker save`` tar) from ``directory``;
    returns the loaded image names. Checks the ids against ``images.json`` when present."""
    from .sandbox import InfraError, client

    directory = Path(directory)
    archive = directory / "images.tar"
    if not archive.is_file():
        raise InfraError(f"{archive}: no such file (made by `images --save DIR`)")
    with archive.open("rb") as fh:
        loaded = client().images.load(fh)
    names = sorted(tag for image in loaded for tag in image.tags)
    manifest = directory / "images.json"
    if manifest.is_file():
        expected = json.loads(manifest.read_text())
        wrong = [n for n, i in expected.items() if client().images.get(n).id != i]
        if wrong:
            raise InfraError(f"loaded images differ from {manifest}: {', '.join(wrong)}")
    return names
