"""``EvalResult``: what one evaluation found, as plain data, and its report line."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class EvalResult:
    instance_id: str
    kind: str  # the patch kind: "gold" | "empty" | "test-only" | "model"
    status: str  # passed | failed | patch_failed | rejected | timeout | error
    exit_code: int | None = None
    apply_method: str | None = None
    duration_s: dict[str, float] = field(default_factory=dict)
    image: str | None = None
    evidence: str = "none"
    log_tail: str = ""
    error: str | None = None  # what broke, when status == "error"
    detail: str | None = None  # why a verdict is what it is (rejections, missing evidence)
    cached: bool = False  # replayed from an identical evaluation earlier in this run
    tests: dict[str, str] = field(default_factory=dict)  # test id -> outcome, from the evidence
    test_counts: dict[str, int] = field(default_factory=dict)  # outcomes, listed tests passed
    log: str = field(default="", repr=False)  # the whole kept eval log; not in the report line

    def report(self, reward: float | None) -> dict:
        """One report line (schema in ARCHITECTURE.md); ``error``/``detail`` only when set.
        The patch kind is reported as ``patch``."""
        line = asdict(self)
        line["patch"] = line.pop("kind")
        line["reward"] = reward
        del line["log"]
        for key in ("error", "detail"):
            if line[key] is None:
                del line[key]
        return line

    @classmethod
    def from_dict(cls, data: dict) -> "EvalResult":
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})
