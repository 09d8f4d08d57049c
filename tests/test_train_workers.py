"""``placement: per_node``: the env's episodes on one worker per engine node of a real two-node
Ray cluster (the ``cluster`` fixture), on real Docker, driven with scripted replies as NeMo-RL
drives ``SweEnv``. The results must be those of ``SweEnv`` in this process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from swe_harness import sandbox
from swe_harness.agent.models import ScriptedModel
from swe_harness.train.dryrun import drive, scripted_replies, templated_prompt
from swe_harness.train.env import SweEnv
from swe_harness.train.prompt import opening_messages
from swe_harness.train.tiny import make_tokenizer

from .ray_cluster import HEAD_IP, NODE_IP, wait_for
from .synthetic import harness_containers
from .test_train_env import MARKER, bash, env_config

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("ray-cluster")]

IDS = ("fernleaf-unitconv-9", "brightline-semverlite-7", "lumen-globmatch-15",
       "quartz-fastcrc-3")
TIMINGS = ("swe/eval_seconds_mean", "swe/eval_seconds_max")


@pytest.fixture
def config(copy_tasks, tmp_path):
    tokenizer = {"name": str(make_tokenizer(tmp_path / "tok")),
                 "chat_template_kwargs": {"enable_thinking": False}}
    return env_config(copy_tasks(*IDS), tokenizer=tokenizer)


def mixed_batch(tasks, tokenizer, agent_config):
    """A solve, a failing submit, format errors, and one that lists for its whole budget; one
    task each (so no sample's evaluation is another's cached one)."""
    fern, semver, glob, crc = (tasks[i] for i in IDS)
    plan = [
        (fern, scripted_replies(fern, "gold", MARKER)),                      # 2 turns, 1.0
        (semver, [bash(f"echo {MARKER}")]),                                  # 1 turn, failed
        (glob, ["no block", "```bash\na\n```\n```bash\nb\n```", "none"]),    # format errors
        (crc, [bash("ls")] * 3),                                             # turn budget
    ]
    prompts = []
    for task, _ in plan:
        prompt = templated_prompt(tokenizer, opening_messages(task, agent_config))
        prompts.append((task.instance_id, prompt,
                        {"instance_id": task.instance_id, "turn": 0,
                         "prompt_tokens": tokenizer.count(prompt[0]["content"])}))
    return prompts, [ScriptedModel(replies) for _, replies in plan]


def outcome(rollouts):
    """All a rollout ends with, but the episode key (a fresh uuid per episode)."""
    return [(r.instance_id, r.messages, r.total_reward, r.turns, r.terminated,
             {k: v for k, v in r.metadata.items() if k != "episode"}) for r in rollouts]


class Watched:
    """``EnvWorkers`` as ``drive`` sees it, noting after each step which worker holds each
    live episode and who owns the run's containers."""

    def __init__(self, workers, run):
        self.workers, self.run = workers, run
        self.where: dict[str, set[int]] = {}
        self.owners: set[str] = set()

    def step(self, message_logs, metadata):
        out = self.workers.step(message_logs, metadata)
        for key, (worker, _) in self.workers._where.items():
            self.where.setdefault(key, set()).add(worker)
        self.owners |= {c.labels[sandbox.LABEL_OWNER]
                        for c in harness_containers(sandbox.client(), self.run)}
        return out


def test_per_node_workers_give_the_local_results(cluster, bundled_tasks, config, fresh_run):
    from swe_harness.train.workers import EnvWorkers

    local = SweEnv(config)
    try:
        prompts, models = mixed_batch(bundled_tasks, local.tokenizer, local.agent_config)
        expected = drive(local, prompts, models, max_turns=3)
        local_metrics = local.metrics.snapshot()
    finally:
        local.shutdown()

    workers = EnvWorkers(config)
    try:
        assert [node.address for node in workers.nodes] == [HEAD_IP, NODE_IP]
        watched = Watched(workers, fresh_run)
        prompts, models = mixed_batch(bundled_tasks, local.tokenizer, local.agent_config)
        rollouts = drive(watched, prompts, models, max_turns=3)
        metrics = workers.metrics.snapshot()
        live = workers.live_episodes()
    finally:
        workers.shutdown()

    assert outcome(rollouts) == outcome(expected)
    assert [r.total_reward for r in rollouts] == [1.0, 0.0, 0.0, 0.0]
    assert [r.metadata["ending"] for r in rollouts] == ["submitted", "submitted",
                                                        "format_errors", "step_limit"]
    assert not any("excluded" in r.metadata for r in rollouts)
    drop = lambda m: {k: v for k, v in m.items() if k not in TIMINGS}
    assert drop(metrics) == drop(local_metrics) and metrics["swe/episodes"] == 4
    # every live episode stayed on one worker; the samples were spread over both, and so were
    # their containers (owned by the two workers, not by this process)
    assert workers._where == {} and live == 0
    assert all(len(held) == 1 for held in watched.where.values())
    assert set().union(*watched.where.values()) == {0, 1}
    assert len(watched.owners) == 2 and sandbox.owner() not in watched.owners
    assert harness_containers(sandbox.client(), fresh_run) == []


def test_a_lost_worker_excludes_its_episodes(cluster, bundled_tasks, config, fresh_run):
    """Concurrent one-sample calls are spread too. A lost worker's episodes: their next step is
    an infrastructure error (excluded, never 0.0); new samples go to the worker left; shutdown
    still removes the lost worker's containers."""
    import ray

    from swe_harness.train.workers import EnvWorkers

    workers = EnvWorkers(config)
    try:
        crc, glob = bundled_tasks["quartz-fastcrc-3"], bundled_tasks["lumen-globmatch-15"]
        metas = [{"instance_id": t.instance_id, "turn": 0, "prompt_tokens": 0}
                 for t in (crc, glob)]
        ls = [[{"role": "assistant", "content": bash("ls")}]] * 2
        # as async rollouts call it: one sample a call, at once; still one per worker
        with ThreadPoolExecutor(2) as pool:
            first = list(pool.map(lambda meta: workers.step(ls[:1], [meta]), metas))
        assert [out.terminateds for out in first] == [[False], [False]]
        first_meta = [out.metadata[0] for out in first]
        assert sorted(workers._where[m["episode"]][0] for m in first_meta) == [0, 1]
        lost = workers._where[first_meta[0]["episode"]][0]  # the first sample's worker
        ray.kill(workers.workers[lost])
        wait_for(lambda: gone(workers.workers[lost]), 30, "the killed worker to be gone")
        second = workers.step(ls + ls[:1], first_meta + [metas[0]])
        assert second.terminateds == [True, False, False]
        assert second.rewards == [0.0, 0.0, 0.0]
        assert second.metadata[0]["excluded"].startswith("infra_error")
        assert "excluded" not in second.metadata[1] and "excluded" not in second.metadata[2]
        assert {w for w, _ in workers._where.values()} == {1 - lost}
        assert workers.live_episodes() == 2
    finally:
        workers.shutdown()
    assert harness_containers(sandbox.client(), fresh_run) == []


def gone(actor) -> bool:
    import ray

    try:
        ray.get(actor.live_episodes.remote(), timeout=30)
    except ray.exceptions.RayActorError:
        return True
    return False


def test_actor_builds_per_node_workers(cluster, config):
    import ray

    from swe_harness.train import SweEnvActor

    actor = SweEnvActor.remote({**config, "placement": "per_node"})
    try:
        assert ray.get(actor.live_episodes.remote()) == 0
        assert ray.get(actor.pop_metrics.remote())["swe/episodes"] == 0.0
    finally:
        ray.get(actor.shutdown.remote())
        ray.kill(actor)
    with pytest.raises(ray.exceptions.RayActorError, match="placement"):
        bad = SweEnvActor.remote({**config, "placement": "everywhere"})
        ray.get(bad.live_episodes.remote())
