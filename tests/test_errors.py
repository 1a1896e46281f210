"""Error classes by meaning: all are IdvidError (the CLI's one-line errors), exported from idvid."""

import pytest

import idvid
from idvid import errors

MEANINGS = ["ConfigError", "DataError", "GenerationError", "ModelFileError", "ImageError", "FaceError", "VideoError"]


@pytest.mark.parametrize("name", MEANINGS)
def test_every_error_class_is_an_idvid_error_exported_lazily(name):
    assert getattr(idvid, name) is getattr(errors, name)
    assert issubclass(getattr(errors, name), errors.IdvidError) and name in idvid.__all__


def test_module_errors_sit_under_their_meaning():
    from idvid.data.latent_cache import LatentCacheError
    from idvid.data.store import StoreError
    from idvid.eval.suites import SuiteError

    assert issubclass(StoreError, errors.DataError) and issubclass(LatentCacheError, errors.DataError)
    assert issubclass(SuiteError, errors.ConfigError)
