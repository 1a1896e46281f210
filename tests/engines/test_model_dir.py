"""Broken model directories fail with one clear ModelFileError, before anything loads."""

import shutil

import pytest
import torch

from idvid.engines.dit.pipeline import IDVideoPipeline
from idvid.errors import ModelFileError


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny")
    IDVideoPipeline.from_pretrained("tiny").save_pretrained(path)
    return path


@pytest.fixture
def copy(saved, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(saved, target)
    return target


def test_missing_directory(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        IDVideoPipeline.from_pretrained(tmp_path / "nowhere")


def test_directory_without_model_index(tmp_path):
    with pytest.raises(ModelFileError, match="model_index.json is missing"):
        IDVideoPipeline.from_pretrained(tmp_path)


def test_incomplete_directory_names_the_missing_component(copy):
    shutil.rmtree(copy / "id_adapter")
    with pytest.raises(ModelFileError, match="component folder id_adapter/ is missing"):
        IDVideoPipeline.from_pretrained(copy)


def test_corrupt_model_index(copy):
    (copy / "model_index.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="model_index.json is corrupt"):
        IDVideoPipeline.from_pretrained(copy)


def test_truncated_weights(copy):
    weights = next((copy / "transformer").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-64])
    with pytest.raises(ModelFileError, match="corrupt weights file .*transformer"):
        IDVideoPipeline.from_pretrained(copy)


def test_garbage_weights(copy):
    next((copy / "face_encoder").glob("*.safetensors")).write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ModelFileError, match="corrupt weights file"):
        IDVideoPipeline.from_pretrained(copy)


def test_pickle_weights_are_refused(copy):
    folder = copy / "id_adapter"
    state = IDVideoPipeline.from_pretrained("tiny").id_adapter.state_dict()
    for f in folder.glob("*.safetensors"):
        f.unlink()
    torch.save(state, folder / "diffusion_pytorch_model.bin")
    with pytest.raises(ModelFileError, match="refusing pickle weights id_adapter/diffusion_pytorch_model.bin"):
        IDVideoPipeline.from_pretrained(copy)


def test_corrupt_component_config(copy):
    (copy / "transformer" / "config.json").write_text("[[[")
    with pytest.raises(ModelFileError, match="cannot load model from"):
        IDVideoPipeline.from_pretrained(copy)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ModelFileError, match="unknown model 'nope'.*tiny"):
        from idvid.engines import load_engine

        load_engine("nope")
