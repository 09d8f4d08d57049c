"""The registry-free base image: a recipe-keyed tag, and what task Dockerfiles rely on."""

import pytest

from swe_harness import base_image


def test_tag_is_keyed_by_the_recipe(monkeypatch):
    tag = base_image.default_tag()
    assert tag.startswith("swe-harness/base:bookworm-py311-")
    monkeypatch.setattr(base_image, "PIP_PACKAGES", base_image.PIP_PACKAGES + ("six",))
    assert base_image.default_tag() != tag


def test_an_override_names_the_image(monkeypatch):
    monkeypatch.setenv("SWE_HARNESS_BASE_IMAGE", "python:3.11-slim")
    assert base_image.base_image_name() == "python:3.11-slim"


@pytest.mark.docker
def test_base_image_has_what_task_dockerfiles_use(docker_engine):
    name = base_image.ensure_base_image(docker_engine)
    script = ("python --version && pip --version && python -m pytest --version && git --version"
              " && patch --version && gcc --version && test ! -e /tmp/host-ca.pem")
    out = docker_engine.containers.run(name, ["bash", "-c", script], remove=True,
                                       network_mode="none", stderr=True).decode()
    assert "Python 3.11" in out and "pytest 8" in out and "GNU patch" in out
