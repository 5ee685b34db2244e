"""The draw generator is SplitMix64 exactly, so the few-shot draws can be rebuilt from the docs alone."""

from collections import Counter

import pytest

from nnsam_bench.rng import SplitMix64


def test_matches_the_published_splitmix64_test_vectors():
    # reference outputs of Vigna's splitmix64.c for seed 1234567
    rng = SplitMix64(1234567)
    assert [rng.next_u64() for _ in range(5)] == [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
        4593380528125082431,
        16408922859458223821,
    ]


def test_below_stays_in_range_and_covers_it():
    rng = SplitMix64(7)
    counts = Counter(rng.below(5) for _ in range(5000))
    assert set(counts) == {0, 1, 2, 3, 4}
    assert all(800 < c < 1200 for c in counts.values())
    with pytest.raises(ValueError, match="n >= 1"):
        rng.below(0)


def test_below_is_the_top_53_bits_scaled():
    a, b = SplitMix64(99), SplitMix64(99)
    for n in (2, 3, 70, 1000):
        assert a.below(n) == (b.next_u64() >> 11) * n >> 53


def test_shuffle_is_a_seeded_permutation():
    items = list(range(70))
    once = SplitMix64(3).shuffle(list(items))
    again = SplitMix64(3).shuffle(list(items))
    other = SplitMix64(4).shuffle(list(items))
    assert sorted(once) == items
    assert once == again
    assert once != other and once != items
