"""Built-in metrics, one module per family. Importing this package registers them all, in
report order."""

from idvid.eval.metrics import (  # noqa: F401  (registration side effects)
    identity,
    copy_paste,
    motion,
    flicker,
    prompt_motion,
    scene_colour,
    text,
    fid,
)
