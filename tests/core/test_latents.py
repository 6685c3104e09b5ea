import numpy as np
import pytest

from texgen.errors import RequestError
from texgen.latents import latent_for_seed, latents_for_seeds, parse_seeds, seeds_from_count, slerp


def test_parse_seeds():
    assert parse_seeds("7") == [7]
    assert parse_seeds("1-5,250") == [1, 2, 3, 4, 5, 250]
    assert parse_seeds(" 0 - 2 , 9 ") == [0, 1, 2, 9]
    assert len(parse_seeds("1-100,250")) == 101


@pytest.mark.parametrize(
    "text,words",
    [
        ("", "empty"),
        ("abc", "not a seed or a range"),
        ("5-1", "runs backwards"),
        ("-3", "negative"),
        ("1-2-3", "not a seed"),
        ("1,,2", "not a seed"),
        ("0-99999999999", "more than"),
        ("1.5", "not a seed"),
    ],
)
def test_malformed_seed_lists(text, words):
    with pytest.raises(RequestError, match=words):
        parse_seeds(text)


def test_counts():
    assert seeds_from_count(3, 10) == [10, 11, 12]
    for bad in (0, -4):
        with pytest.raises(RequestError, match="at least 1"):
            seeds_from_count(bad)


def test_a_seed_decides_its_latent_alone():
    batch = latents_for_seeds(range(64), (8, 3, 3))
    assert np.array_equal(batch[17], latent_for_seed(17, (8, 3, 3)))
    assert not np.array_equal(batch[17], batch[18])
    assert batch.dtype == np.float32 and abs(batch.std() - 1) < 0.1


def test_slerp_ends_and_norm():
    a, b = latent_for_seed(1, (512,)), latent_for_seed(2, (512,))
    assert np.allclose(slerp(a, b, 0.0), a, atol=1e-5) and np.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    mid = slerp(a, b, 0.5)
    # A straight line's midpoint has a norm ~0.7x a sample's; the arc keeps it.
    assert abs(np.linalg.norm(mid) / np.linalg.norm(a) - 1) < 0.05
    assert np.linalg.norm((a + b) / 2) / np.linalg.norm(a) < 0.8
