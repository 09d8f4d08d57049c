"""The base image that bundled task Dockerfiles build ``FROM``, made without any image registry.

Task Dockerfiles are written ``ARG BASE_IMAGE=python:3.11-slim`` / ``FROM ${BASE_IMAGE}``. Where a
registry is reachable, ``SWE_HARNESS_BASE_IMAGE=python:3.11-slim`` uses the real image. Where none is
(these machines), a Debian bookworm root is made with ``debootstrap``, a Python 3.11 virtualenv is put
on ``PATH`` as ``python``/``pip`` (with pytest, setuptools and wheel, so builds need no network), and
the root is imported with the Docker SDK. The tag carries a hash of the recipe, so a changed recipe
builds a new image and an unchanged one is reused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SUITE = "bookworm"
MIRROR = os.environ.get("SWE_HARNESS_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = (
    "python3", "python3-venv", "python3-dev", "git", "patch", "ca-certificates",
    "gcc", "libc6-dev", "make", "procps",
)
PIP_PACKAGES = ("pytest==8.3.5", "setuptools==75.8.0", "wheel==0.45.1")
PATH = "/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CHANGES = (f"ENV PATH={PATH}", "ENV LANG=C.UTF-8", "ENV PYTHONDONTWRITEBYTECODE=1", 'CMD ["bash"]')
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def recipe_hash() -> str:
    recipe = "|".join((SUITE, *PACKAGES, *PIP_PACKAGES, *CHANGES))
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def default_tag() -> str:
    return f"swe-harness/base:{SUITE}-py311-{recipe_hash()}"


def base_image_name() -> str:
    """The image passed to task builds as ``BASE_IMAGE``."""
    return os.environ.get("SWE_HARNESS_BASE_IMAGE") or default_tag()


def ensure_base_image(client, log=print) -> str:
    """Return the base image name, building it once if it is not present locally."""
    import docker.errors

    name = base_image_name()
    try:
        client.images.get(name)
        return name
    except docker.errors.ImageNotFound:
        pass
    if name != default_tag():
        client.images.pull(name)
        return name
    build_base_image(client, name, log)
    return name


def _run(cmd: list[str], log, env: dict[str, str] | None = None) -> None:
    log("+ " + " ".join(cmd))
    subprocess.run(cmd, check=True, env=env)


def build_base_image(client, tag: str, log=print) -> None:
    """debootstrap → venv with pip packages → ``docker import`` (needs root and debootstrap)."""
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="swe-base-") as tmp:
        root = Path(tmp) / "rootfs"
        _run(["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
              SUITE, str(root), MIRROR], log)
        _layer_python(root, log)
        archive = Path(tmp) / "rootfs.tar"
        _run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(archive), "."], log)
        log(f"importing {archive} as {tag}")
        # the tag rides in the repository name: Podman's compatible API ignores a separate tag
        client.api.import_image_from_file(str(archive), repository=tag, changes=list(CHANGES))


def _layer_python(root: Path, log) -> None:
    ca = root / "tmp" / "host-ca.pem"
    resolv = root / "etc" / "resolv.conf"
    shutil.copy(HOST_CA_BUNDLE, ca)
    had_resolv = resolv.exists()
    if not had_resolv:
        shutil.copy("/etc/resolv.conf", resolv)
    try:
        _run(["chroot", str(root), "python3", "-m", "venv", "/opt/venv"], log)
        # A clean environment: the host's PIP_*/SSL_* variables name files outside the chroot.
        env = {"PATH": PATH, "HOME": "/root", "PIP_CERT": "/tmp/host-ca.pem",
               "SSL_CERT_FILE": "/tmp/host-ca.pem", "REQUESTS_CA_BUNDLE": "/tmp/host-ca.pem"}
        _run(["chroot", str(root), "/opt/venv/bin/pip", "install", "--no-cache-dir",
              "--disable-pip-version-check", *PIP_PACKAGES], log, env)
    finally:
        ca.unlink(missing_ok=True)
        if not had_resolv:
            resolv.unlink(missing_ok=True)
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (root / cache).glob("*"):
            if entry.is_file():
                entry.unlink()
