"""A tiny, fully specified random number generator so the few-shot draws can be reproduced anywhere.

numpy's generators may change their algorithms between releases; SplitMix64 (Steele, Lea and Flood 2014)
is ten lines, has published test vectors, and can be re-implemented in any language from the docs.
"""

from __future__ import annotations

from typing import MutableSequence, TypeVar

MASK64 = (1 << 64) - 1
T = TypeVar("T")


class SplitMix64:
    def __init__(self, seed: int) -> None:
        self.state = seed & MASK64

    def next_u64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """A whole number in [0, n): the top 53 bits scaled by n (exact integer arithmetic)."""
        if n < 1:
            raise ValueError(f"below(n) needs n >= 1, got {n}")
        return ((self.next_u64() >> 11) * n) >> 53

    def shuffle(self, items: MutableSequence[T]) -> MutableSequence[T]:
        """Fisher-Yates in place, from the last position down: swap i with below(i + 1)."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]
        return items
