"""CLIPScore: skipped with a note without a local CLIP; runs with a tiny random CLIPModel
(and a tiny byte-level BPE tokenizer built here) saved to disk and reloaded."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from idvid.errors import ModelFileError
from idvid.eval import EvalModels, ModelPaths, evaluate_video
from idvid.eval.models import CLIP_ENV, CLIP_HF_REPO

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")


def build_tiny_clip(directory):
    """Save a random 1-layer CLIPModel (32 px images, 77 text positions) with its processor."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    # Byte-level BPE with no merges: every byte is a token (plus its end-of-word form).
    alphabet = sorted(ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(alphabet)}
    vocab.update({c + "</w>": len(alphabet) + i for i, c in enumerate(alphabet)})
    vocab.update({"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1})
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[])
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    small = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)
    config = CLIPConfig(
        text_config=dict(small, vocab_size=len(vocab), max_position_embeddings=77,
                         bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
                         pad_token_id=vocab["<|endoftext|>"]),
        vision_config=dict(small, image_size=32, patch_size=16),
        projection_dim=8,
    )
    torch.manual_seed(0)
    model = CLIPModel(config).eval()
    model.save_pretrained(directory)
    CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(directory)
    return model


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    directory = tmp_path_factory.mktemp("clip")
    return build_tiny_clip(directory), directory


@pytest.fixture(scope="module")
def clip_models(tiny_clip, eval_models):
    return EvalModels(ModelPaths(clip=tiny_clip[1], hf_cache=False), analyzer=eval_models.analyzer)


@pytest.fixture
def frames(astronaut, grace):
    return np.stack([astronaut, grace[:512], astronaut[::-1].copy()])


def test_skipped_with_a_note_without_clip(monkeypatch, frames, astronaut_obs, eval_models):
    monkeypatch.delenv(CLIP_ENV, raising=False)
    result = evaluate_video(frames, astronaut_obs, "a woman smiles", ["clipscore"], models=eval_models)
    assert result.values == {}
    reason = result.skipped["clipscore"]
    assert "no CLIP model" in reason and CLIP_ENV in reason and CLIP_HF_REPO in reason


def test_runs_with_a_tiny_local_clip(tiny_clip, clip_models, frames, astronaut_obs):
    model, directory = tiny_clip
    prompt = "a woman smiles"
    result = evaluate_video(frames, astronaut_obs, prompt, ["clipscore"], models=clip_models)
    per_frame = np.array(result.series["clipscore"].values)
    assert result.values["clipscore"] == pytest.approx(per_frame.mean())
    # independent check: CLIP's logits are logit_scale x cosine
    processor = transformers.CLIPProcessor.from_pretrained(directory)
    inputs = processor(text=[prompt], images=list(frames), return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model(**inputs)
        expected = (out.logits_per_image[:, 0] / model.logit_scale.exp() * 100).numpy()
    np.testing.assert_allclose(per_frame, expected, rtol=1e-4, atol=1e-4)
    assert np.ptp(per_frame) > 0  # each frame is scored on its own pixels


def test_long_prompts_are_truncated_to_77_tokens(clip_models, frames, astronaut_obs):
    # The tiny tokenizer makes one token per character: both prompts exceed 77 tokens and
    # agree on their first 200 characters, so after truncation they are the same text.
    short = evaluate_video(frames, astronaut_obs, "a" * 200, ["clipscore"], models=clip_models)
    longer = evaluate_video(frames, astronaut_obs, "a" * 200 + " then something else", ["clipscore"],
                            models=clip_models)
    assert short.values["clipscore"] == pytest.approx(longer.values["clipscore"], abs=1e-6)


def test_no_prompt_skips(clip_models, frames, astronaut_obs):
    result = evaluate_video(frames, astronaut_obs, "  ", ["clipscore"], models=clip_models)
    assert result.skipped == {"clipscore": "no prompt given"}


def test_path_resolution_order(tiny_clip, tmp_path, monkeypatch):
    directory = tiny_clip[1]
    monkeypatch.delenv(CLIP_ENV, raising=False)
    # 1. explicit argument
    assert ModelPaths(clip=directory).clip_path() == (directory, "argument")
    # 2. environment variable
    monkeypatch.setenv(CLIP_ENV, str(directory))
    assert ModelPaths(hf_cache=False).clip_path()[0] == directory
    monkeypatch.delenv(CLIP_ENV)
    # 3. the Hugging Face cache (a snapshot laid out as huggingface_hub does), offline
    repo = tmp_path / ("models--" + CLIP_HF_REPO.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    shutil.copytree(directory, repo / "snapshots" / ("0" * 40))
    found, source = ModelPaths(hf_cache=tmp_path).clip_path()
    assert source == "Hugging Face cache" and (found / "config.json").is_file()
    assert ModelPaths(hf_cache=tmp_path / "empty").clip_path()[0] is None
    # a wrong explicit path is an error, not a silent skip
    with pytest.raises(ModelFileError, match="not a directory"):
        ModelPaths(clip=tmp_path / "nowhere").clip_path()


def test_a_broken_clip_directory_is_a_model_file_error(tmp_path):
    from idvid.eval.clip_score import ClipScorer

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelFileError, match="not a loadable CLIP directory"):
        ClipScorer(tmp_path)
