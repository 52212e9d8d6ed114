"""How fast a count moves, over a sliding span of looks (pure). The wait before a count first
moves is not part of its pace (a donor preparing its copy, a joiner's script setting up, caches
that have not started to forget yet): the span begins at the last look before the first move. A
pause after that is (the pace then falls, as it should); a count that goes back starts over.
"""

from __future__ import annotations

from collections import deque


class Pace:
    """Units per second of a count seen look by look, over the last ``span`` seconds."""

    def __init__(self, span: float) -> None:
        self.span = span
        self._looks: deque[tuple[float, int]] = deque()
        self._moved = False

    def add(self, at: float, count: int) -> float | None:
        """The count at ``at``; the pace as of this look."""
        if self._looks and count < self._looks[-1][1]:
            self.clear()
        if self._looks and not self._moved:
            if count == self._looks[-1][1]:
                self._looks.clear()  # still waiting: only the latest look counts
            else:
                self._moved = True
        self._looks.append((at, count))
        self.prune(at)
        return self.rate()

    def prune(self, now: float) -> None:
        """Forget the looks older than the span."""
        while self._looks and self._looks[0][0] < now - self.span:
            self._looks.popleft()

    def clear(self) -> None:
        self._looks.clear()
        self._moved = False

    def rate(self) -> float | None:
        """Units per second from the first look kept to the latest; None until two looks apart."""
        if len(self._looks) < 2:
            return None
        (first, start), (last, end) = self._looks[0], self._looks[-1]
        return (end - start) / (last - first) if last > first else None
