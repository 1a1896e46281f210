"""The metric registry: every metric is a registered class with a name, a direction and the
models it needs.

A metric reads one :class:`~idvid.eval.context.EvalContext` (one video, its references and
prompt) and returns a flat ``dict[str, float]``; one metric may give several numbers (e.g.
``facesim_min`` and ``facesim_std``). Its docstring holds the exact definition: that text is
what the report shows, so keep it precise.

Adding a metric::

    @register_metric
    class MyMetric(Metric):
        '''Exact definition ...'''

        name = "my_metric"
        higher_is_better = True
        requires = frozenset({"face_analyzer"})
        outputs = ("my_metric",)

        def compute(self, ctx):
            return {"my_metric": ...}
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, ClassVar

from idvid.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from idvid.eval.context import EvalContext

# name -> class, in registration order (the order results are reported in)
METRICS: dict[str, type[Metric]] = {}


class Metric:
    """Base class of all metrics.

    Class attributes:
        name: unique registry name, ``[a-z0-9_]+``.
        higher_is_better: True / False for the metric's main outputs; None for informational
            numbers that have no better direction.
        output_directions: per-output exceptions to ``higher_is_better``.
        requires: the models it needs, from :data:`idvid.eval.models.REQUIREMENTS`
            (e.g. ``{"face_analyzer"}``, ``{"clip"}``). When one is unavailable the metric is
            skipped and the reason is reported.
        outputs: the keys ``compute`` returns. Metrics whose keys depend on the models given
            (one FaceSim per ONNX embedder) list a pattern such as ``"facesim_<label>"``.
        default: part of the default metric set (all offline metrics are).
    """

    name: ClassVar[str] = ""
    higher_is_better: ClassVar[bool | None] = None
    output_directions: ClassVar[dict[str, bool | None]] = {}
    requires: ClassVar[frozenset[str]] = frozenset()
    outputs: ClassVar[tuple[str, ...]] = ()
    default: ClassVar[bool] = True

    def compute(self, ctx: EvalContext) -> dict[str, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def skip_reason(self, ctx: EvalContext) -> str | None:
        """Why this metric cannot run on ``ctx`` (None: it can). The default checks ``requires``."""
        for requirement in sorted(self.requires):
            reason = ctx.models.unavailable(requirement)
            if reason is not None:
                return reason
        return None

    @classmethod
    def direction(cls, key: str) -> bool | None:
        """Whether a higher value of output ``key`` is better (None: informational)."""
        return cls.output_directions.get(key, cls.higher_is_better)

    @classmethod
    def definition(cls) -> str:
        """The metric's exact definition (its docstring, dedented)."""
        return inspect.cleandoc(cls.__doc__ or "")


def register_metric(cls: type[Metric]) -> type[Metric]:
    """Class decorator: add a metric to :data:`METRICS` under ``cls.name``."""
    if not isinstance(cls, type) or not issubclass(cls, Metric):
        raise TypeError(f"{cls!r} is not a Metric subclass")
    if not cls.name or not cls.name.replace("_", "").isalnum() or cls.name != cls.name.lower():
        raise ValueError(f"metric name must be lower-case [a-z0-9_]+, got {cls.name!r}")
    if not cls.__doc__:
        raise ValueError(f"metric {cls.name!r} needs a docstring with its exact definition")
    existing = METRICS.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"metric {cls.name!r} is already registered by {existing.__qualname__}")
    METRICS[cls.name] = cls
    return cls


def _load_builtin_metrics() -> None:
    import idvid.eval.metrics  # noqa: F401  (registers the built-in metrics)


def metric_names(default_only: bool = False) -> list[str]:
    """Registered metric names in report order; ``default_only`` keeps the default set."""
    _load_builtin_metrics()
    return [name for name, cls in METRICS.items() if cls.default or not default_only]


def get_metric(name: str) -> Metric:
    """A fresh instance of the metric called ``name``; ValueError listing the known names."""
    _load_builtin_metrics()
    if name not in METRICS:
        raise ConfigError(f"unknown metric {name!r}; known metrics: {', '.join(METRICS)}")
    return METRICS[name]()


def resolve_metrics(names: list[str] | tuple[str, ...] | str | None = None) -> list[Metric]:
    """Instances for ``names`` (a list or a comma-separated string; None: the default set).

    Raises ValueError for unknown or repeated names.
    """
    if names is None:
        names = metric_names(default_only=True)
    elif isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = list(names)
    if not names:
        raise ConfigError("no metrics selected")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"metric(s) selected twice: {', '.join(repeated)}")
    return [get_metric(n) for n in names]
