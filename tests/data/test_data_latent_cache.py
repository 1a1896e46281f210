"""Latent cache: cached values equal the trainer's own encodings, the dataset samples from it
without decoding, reruns skip finished clips, and wrong, stale or corrupt caches are refused."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution  # noqa: E402
from diffusers.utils.torch_utils import randn_tensor  # noqa: E402

from idvid.cli import main  # noqa: E402
from idvid.data.cache_latents import cache_latents, latent_distribution  # noqa: E402
from idvid.data.dataset import ClipDataset, frames_to_video  # noqa: E402
from idvid.data.latent_cache import (  # noqa: E402
    LATENTS,
    MANIFEST,
    LatentCache,
    LatentCacheError,
    cache_identity,
    find_latent_cache,
)
from idvid.data.store import ClipStore  # noqa: E402
from idvid.engines.dit.pipeline import IDVideoPipeline  # noqa: E402

FRAMES, WINDOW = 12, 9  # 9 = 4k+1 (Wan) and 8k+1 (CogVideoX)
MODELS = ["tiny", "tiny-cogvideox-i2v"]


def _refs(frame_indices):
    k = len(frame_indices)
    return {"crops": np.zeros((k, 224, 224, 3), np.uint8), "embeddings": np.ones((k, 128), np.float32),
            "vertices": np.zeros((k, 478, 3), np.float32),
            "poses": np.stack([np.linspace(-30, 30, k), np.zeros(k), np.zeros(k)], 1).astype(np.float32),
            "frame_indices": np.asarray(frame_indices)}


def _frames(n, h, w):
    rng = np.random.default_rng(n)
    ramp = np.linspace(0, 200, w, dtype=np.float32)[None, None, :, None]
    return np.clip(ramp + rng.normal(0, 20, (FRAMES, h, w, 3)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def pipes():
    return {name: IDVideoPipeline.from_pretrained(name) for name in MODELS}


@pytest.fixture(scope="module")
def root(tmp_path_factory, pipes):
    """5 clips of 12 frames (3 at 32x32, 2 at 32x48, two to a shard) with reference views at
    frames inside and outside the cached window; cached for both tiny models."""
    root = tmp_path_factory.mktemp("lc") / "ds"
    store = ClipStore(root, shard_size=2)
    for n in range(5):
        h, w = (32, 32) if n < 3 else (32, 48)
        store.write_clip(f"clip{n}", _frames(n, h, w), _refs([0, 4, 6, 10, 11, -1]),
                         {"caption": f"a person number {n} nods", "split": "train"}, n, fps=8)
    store.rebuild_index()
    for name in MODELS:
        cache_latents(root, name, WINDOW, batch_size=2, progress=False)
    return root


def _cache(root, pipes, name, frames=WINDOW):
    return find_latent_cache(root, cache_identity(pipes[name], name, frames))


def _window_video(store, meta, window):
    """(1, 3, T, H, W) in [-1, 1]: the window as the trainer's step sees it."""
    return frames_to_video(store.read_frames(meta["clip_id"], window)).permute(1, 0, 2, 3)[None]


@pytest.mark.parametrize("name", ["tiny", "tiny-cogvideox"])
def test_latent_distribution_is_what_family_encode_samples(pipes, name):
    pipe = pipes["tiny"] if name == "tiny" else IDVideoPipeline.from_pretrained(name)
    vae, family = pipe.vae, pipe.family
    if name == "tiny":  # the tiny Wan VAE normalises with mean 0, std 1: make it non-trivial
        vae = type(vae).from_config({**vae.config, "latents_mean": [0.5, -1.0, 0.0, 2.0],
                                     "latents_std": [2.0, 0.5, 1.0, 3.0]})
        vae.load_state_dict(pipe.vae.state_dict())
    video = torch.rand(2, 3, WINDOW, 32, 48, generator=torch.Generator().manual_seed(0)) * 2 - 1
    mean, std = latent_distribution(family, vae, video)
    with torch.no_grad():
        expected = family.encode(vae, video, generator=torch.Generator().manual_seed(5))
    noise = randn_tensor(tuple(mean.shape), generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(mean + std * noise, expected, rtol=1e-5, atol=1e-5)
    assert float((mean - expected).abs().max()) > 1e-3  # the std term matters


@pytest.mark.parametrize("name", MODELS)
def test_cached_values_equal_the_training_step(root, pipes, name, monkeypatch):
    pipe, store = pipes[name], ClipStore(root)
    cache = _cache(root, pipes, name)
    assert cache is not None and cache.manifest["buckets"] == ["32x32", "32x48"]
    torch.testing.assert_close(cache.null_text, pipe.encode_prompt([""])[0])
    for meta in (store.meta("clip0"), store.meta("clip4")):  # one per bucket
        entry = cache.load(store, meta)
        start = (FRAMES - WINDOW) // 2
        np.testing.assert_array_equal(entry["frame_indices"].numpy(), np.arange(start, start + WINDOW))
        video = _window_video(store, meta, entry["frame_indices"].numpy())
        torch.testing.assert_close(entry["text_embeds"], pipe.encode_prompt([meta["caption"]])[0])
        with monkeypatch.context() as m, torch.no_grad():  # the VAE's mode instead of a sample
            m.setattr(DiagonalGaussianDistribution, "sample", lambda self, generator=None: self.mode())
            x0 = pipe.family.encode(pipe.vae, video)
            torch.testing.assert_close(entry["latent_mean"], x0[0], rtol=1e-5, atol=1e-5)
            if name == "tiny-cogvideox-i2v":
                condition = pipe.family.image_condition(pipe.vae, video[:, :, 0], x0.shape[2])
                torch.testing.assert_close(entry["condition_mean"], condition[0, :, :1], rtol=1e-5, atol=1e-5)
                assert not condition[:, :, 1:].any()
        assert ("condition_mean" in entry) == (name == "tiny-cogvideox-i2v")


@pytest.mark.parametrize("name", MODELS)
def test_dataset_samples_from_the_cache_without_decoding(root, pipes, name, monkeypatch):
    pipe, store = pipes[name], ClipStore(root)
    cache = _cache(root, pipes, name)
    ds = ClipDataset(root, num_refs=3, caption_dropout=0, identity_dropout=0, latent_cache=cache)
    assert ds.num_frames == WINDOW  # taken from the cache

    def no_decoding(*args, **kwargs):
        raise AssertionError("a cached dataset decoded a video")

    monkeypatch.setattr(ClipStore, "read_frames", no_decoding)
    normalised = []
    for epoch in range(3):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            s = ds[i]
            entry = cache.load(store, ds.metas[i])
            assert "video" not in s and s["latents"].dtype == torch.float32
            assert s["latents"].shape == entry["latent_mean"].shape
            torch.testing.assert_close(s["text_embeds"], entry["text_embeds"])
            assert torch.equal(s["frame_indices"], entry["frame_indices"])
            used = s["ref_source_frames"][s["ref_mask"]].numpy()
            assert used.size and not np.isin(used, s["frame_indices"].numpy()).any()
            normalised.append(((s["latents"] - entry["latent_mean"]) / entry["latent_std"]).flatten())
            assert ("condition" in s) == ("condition_mean" in entry)
            if "condition_mean" in entry:
                assert s["condition"].shape == s["latents"].shape and not s["condition"][:, 1:].any()
    z = torch.cat(normalised)
    assert abs(float(z.mean())) < 0.08 and abs(float(z.std()) - 1) < 0.08  # drawn from N(mean, std)

    dropped = ClipDataset(root, caption_dropout=1.0, latent_cache=cache)[0]
    assert dropped["caption"] == "" and torch.equal(dropped["text_embeds"], cache.null_text)

    # the keys fit the trainer's step: a batch of one bucket goes through the backbone
    batch = torch.utils.data.default_collate([ds[i] for i in (3, 4)])
    timestep = torch.tensor([500, 500])
    with torch.no_grad():
        out = pipe.family.predict(pipe.transformer, batch["latents"], timestep, batch["text_embeds"],
                                  batch.get("condition"))
    assert out.shape == batch["latents"].shape


def test_epochs_draw_different_latents(root, pipes):
    ds = ClipDataset(root, latent_cache=_cache(root, pipes, "tiny"))
    first = ds[1]["latents"]
    assert torch.equal(first, ds[1]["latents"])
    ds.set_epoch(1)
    assert not torch.equal(first, ds[1]["latents"])


def test_rerun_skips_finished_clips_and_redoes_changed_ones(root, pipes, tmp_path):
    copy = tmp_path / "ds"
    shutil.copytree(root, copy)
    cache = _cache(copy, pipes, "tiny")
    store = ClipStore(copy)
    stamps = {p: p.stat().st_mtime_ns for p in cache.path.rglob("*.safetensors")}
    report = cache_latents(copy, "tiny", WINDOW, progress=False)
    assert (report.cached, report.skipped) == (0, 5)
    assert stamps == {p: p.stat().st_mtime_ns for p in cache.path.rglob("*.safetensors")}

    store.write_clip("clip1", _frames(1, 32, 32), _refs([0, 4]), {"caption": "someone new waves", "split": "train"},
                     1, fps=8)
    store.rebuild_index()
    with pytest.raises(LatentCacheError, match=r"clip1\.safetensors is stale"):
        ClipDataset(copy, latent_cache=cache)[1]
    cache.entry_path(store.meta("clip3")).unlink()
    with pytest.raises(LatentCacheError, match="lacks 1 of 5 clips"):
        ClipDataset(copy, latent_cache=cache)
    report = cache_latents(copy, "tiny", WINDOW, progress=False)
    assert (report.cached, report.skipped) == (2, 3)
    new = cache.load(store, store.meta("clip1"))["text_embeds"]
    torch.testing.assert_close(new, pipes["tiny"].encode_prompt(["someone new waves"])[0])


def test_cache_for_another_frame_count_or_model_is_ignored_or_refused(root, pipes, caplog):
    nine = _cache(root, pipes, "tiny")
    with caplog.at_level(logging.WARNING, logger="idvid"):
        assert _cache(root, pipes, "tiny", frames=5) is None  # automatic lookup: ignored, with a warning
    assert nine.path.name in caplog.text and "ignoring latent cache" in caplog.text
    five = cache_identity(pipes["tiny"], "tiny", 5)
    with pytest.raises(LatentCacheError, match="num_frames 9 .wanted 5."):
        LatentCache.open(nine.path, five)  # explicit path: refused
    other_model = cache_identity(pipes["tiny-cogvideox-i2v"], "tiny-cogvideox-i2v", WINDOW)
    with pytest.raises(LatentCacheError, match="model 'tiny' .wanted 'tiny-cogvideox-i2v'."):
        LatentCache.open(nine.path, other_model)
    with pytest.raises(LatentCacheError, match="holds 9 frames"):
        ClipDataset(root, num_frames=5, latent_cache=nine)


def test_corrupt_cache_files_are_clear_errors_and_rewritten(root, pipes, tmp_path):
    copy = tmp_path / "ds"
    shutil.copytree(root, copy)
    cache = _cache(copy, pipes, "tiny")
    ds = ClipDataset(copy, latent_cache=cache)
    path = cache.entry_path(ds.metas[2])
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(LatentCacheError, match=r"clip2\.safetensors is corrupt .*run idvid cache-latents again"):
        ds[2]
    report = cache_latents(copy, "tiny", WINDOW, progress=False)
    assert (report.cached, report.skipped) == (1, 4)
    assert ds[2]["latents"].shape == ds[0]["latents"].shape
    (cache.path / MANIFEST).write_text("{not json")
    with pytest.raises(LatentCacheError, match="manifest.json is corrupt"):
        LatentCache.open(cache.path)
    with pytest.raises(LatentCacheError, match="not a latent cache"):
        LatentCache.open(copy / LATENTS)


def _store_copy(root, tmp_path):
    data = tmp_path / "ds"
    shutil.copytree(root, data, ignore=shutil.ignore_patterns(LATENTS))
    return data


def test_cache_latents_command(root, tmp_path, capsys):
    data = _store_copy(root, tmp_path)
    args = ["cache-latents", str(data), "--model", "tiny", "--frames", "5", "--batch-size", "3", "--device", "cpu"]
    assert main(args) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("cached 5 clip(s), 0 already cached") and "tiny-5f-" in printed
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("cached 0 clip(s), 5 already cached")


@pytest.mark.parametrize("data, args, message", [
    ("missing", ["--model", "tiny", "--frames", "5"], "does not exist"),
    ("empty", ["--model", "tiny", "--frames", "5"], "is not a clip store"),
    ("ds", ["--model", "no-such-model", "--frames", "5"], "unknown model 'no-such-model'"),
    ("ds", ["--model", "nano", "--frames", "5"], "not a diffusion-transformer model"),
    ("ds", ["--model", "tiny", "--frames", "13"], "5 clip(s) have fewer than the 13 frames"),
    ("ds", ["--model", "tiny", "--frames", "7"], "frames must be 4k+1"),
    ("ds", ["--model", "tiny", "--frames", "5", "--batch-size", "0"], "--batch-size must be >= 1"),
])
def test_cache_latents_bad_input(root, tmp_path, capsys, data, args, message):
    _store_copy(root, tmp_path)
    (tmp_path / "empty").mkdir()
    assert main(["cache-latents", str(tmp_path / data), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert not (tmp_path / "ds" / LATENTS).exists()  # nothing written
