"""Evaluation: a registry of metrics and ``evaluate_video`` for one generated video.

Names load on first use (module ``__getattr__``), so ``import idvid.eval`` imports neither
OpenCV, MediaPipe nor torch.

    from idvid.eval import evaluate_video, format_result, ModelPaths
    result = evaluate_video("out.mp4", "face.jpg", "a woman turns her head to the left")
    print(format_result(result)); result.to_json()
"""

from typing import TYPE_CHECKING

from idvid.lazy import lazy_exports

_LAZY = {
    "evaluate_video": "idvid.eval.evaluate",
    "format_result": "idvid.eval.evaluate",
    "metric_definitions": "idvid.eval.evaluate",
    "EvalResult": "idvid.eval.evaluate",
    "EvalContext": "idvid.eval.context",
    "Series": "idvid.eval.context",
    "sample_indices": "idvid.eval.context",
    "ModelPaths": "idvid.eval.models",
    "EvalModels": "idvid.eval.models",
    "Metric": "idvid.eval.registry",
    "METRICS": "idvid.eval.registry",
    "register_metric": "idvid.eval.registry",
    "get_metric": "idvid.eval.registry",
    "metric_names": "idvid.eval.registry",
    "HeadAction": "idvid.engines.nano.head_actions",
    "classify_actions": "idvid.engines.nano.head_actions",
    "check_action": "idvid.engines.nano.motion_check",
    "frechet_distance": "idvid.eval.fid",
    "frechet_distance_from_features": "idvid.eval.fid",
}

__all__ = sorted(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from idvid.engines.nano.head_actions import HeadAction, classify_actions
    from idvid.engines.nano.motion_check import check_action
    from idvid.eval.context import EvalContext, Series, sample_indices
    from idvid.eval.evaluate import EvalResult, evaluate_video, format_result, metric_definitions
    from idvid.eval.fid import frechet_distance, frechet_distance_from_features
    from idvid.eval.models import EvalModels, ModelPaths
    from idvid.eval.registry import METRICS, Metric, get_metric, metric_names, register_metric

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
