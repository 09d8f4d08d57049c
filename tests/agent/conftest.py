"""Fixtures for the agent tests: a warm pool per module, the bundled tasks' agent images."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture(scope="module")
def pool(docker_engine):
    from swe_harness import sandbox

    label = {"swe_harness.test": uuid.uuid4().hex}
    with sandbox.WarmPool(size=1, labels=label, limits=sandbox.Limits(memory="1g", pids=256)) as p:
        yield p
    left = docker_engine.containers.list(all=True, filters={"label": [f"swe_harness.test={label['swe_harness.test']}"]})
    assert not left, f"the pool left {len(left)} containers"


@pytest.fixture(scope="module")
def invoice_task(bundled_tasks):
    return bundled_tasks["acme-invoicekit-41"]


@pytest.fixture(scope="module")
def invoice_image(docker_engine, invoice_task):
    from swe_harness import sandbox

    return sandbox.agent_image(invoice_task)
