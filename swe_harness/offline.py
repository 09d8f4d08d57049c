"""Package managers that fail fast without a network.

Evaluations run with the network off, and generator-style eval scripts still run
``pip install -e ".[tests]" || pip install -e . || true``. pip then spends its retries, with
back-off, on an index it cannot reach (16 s of a 17 s eval on a real task), and fails anyway.
These settings make pip and its peers give up at once. They change no verdict: with the
network off every index request fails either way, and everything local (wheels on disk,
``--find-links``, a ``file://`` index, already-installed build backends) works as before.

pip's ``PIP_NO_INDEX`` is deliberately not set: it would also switch off an image's own
``file://`` index. ``PIP_RETRIES=0`` removes the back-off, the actual cost.
"""

from __future__ import annotations

OFFLINE_ENV = {
    # pip: one try per request, no back-off between retries; a short connect timeout
    "PIP_RETRIES": "0",
    "PIP_TIMEOUT": "5",
    # uv: no network at all (cached and local packages still resolve)
    "UV_OFFLINE": "1",
    "UV_HTTP_TIMEOUT": "5",
    # conda / mamba / micromamba: offline mode (local channels still work)
    "CONDA_OFFLINE": "true",
    "MAMBA_OFFLINE": "true",
    # npm / yarn (berry) / pnpm: no network requests, use the cache only
    "npm_config_offline": "true",
    "npm_config_fetch_retries": "0",
    "YARN_ENABLE_OFFLINE_MODE": "1",
    # poetry: no retries on a failed request
    "POETRY_REQUESTS_MAX_RETRIES": "0",
}


def offline_env(network: bool) -> dict[str, str]:
    """The environment added to an evaluation's container: the settings above when its network
    is off, nothing when the task asked for a network."""
    return {} if network else dict(OFFLINE_ENV)
