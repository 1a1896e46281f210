"""Generic pieces of an accelerate training loop, shared by every trainer in idvid.

- :mod:`~idvid.loop.accelerator`: the Accelerator (CPU or GPU, one process or many);
- :mod:`~idvid.loop.data`: the run's batches as a DataLoader with workers, prepared by accelerate;
- :mod:`~idvid.loop.checkpoints`: atomic ``accelerator.save_state`` / ``load_state`` folders;
- :mod:`~idvid.loop.logs`: the CSV + TensorBoard log and the progress bar.

This package imports nothing from idvid but :mod:`idvid.errors` and :mod:`idvid.atomic`, so any
engine or trainer can import it without import cycles.
"""
