"""VH-proxy: our stand-in for the Variance Horizon, which picks how many days of history to train on.

The Variance Horizon of Törnquist et al. (2023, arXiv 2309.15207) is not
published as an algorithm or code.  The VH-proxy picks
the shortest window (in whole days) whose target variance is close to that of
the longest window:

- rule ``"share"``: the shortest L with Var(last L days) >= share * Var(last max_days days);
- rule ``"plateau"``: the shortest L after which the relative change of the
  variance from one candidate to the next stays below ``eps`` for ``steps``
  consecutive candidates.

The variance is taken over the raw target level known at the origin, ignoring NaN.
"""

import dataclasses

import numpy as np

VH_RULES = ("share", "plateau")


@dataclasses.dataclass(frozen=True)
class VHProxy:
    """Rule and tolerances of the VH-proxy window choice.

    Attributes
    ----------
    rule : str
        ``"share"`` or ``"plateau"``.
    share : float
        Share of the long-window variance the chosen window must hold (rule ``"share"``), in (0, 1].
    eps : float
        Relative variance change that counts as flat (rule ``"plateau"``), > 0.
    steps : int
        Consecutive flat steps required (rule ``"plateau"``), >= 1.
    min_days, max_days, step_days : int
        Candidate windows min_days, min_days + step_days, ..., max_days (d).
    """

    rule: str = "share"
    share: float = 0.9
    eps: float = 0.02
    steps: int = 3
    min_days: int = 7
    max_days: int = 140
    step_days: int = 1

    def __post_init__(self):
        if self.rule not in VH_RULES:
            raise ValueError(f"unknown VH-proxy rule {self.rule!r}; expected one of {', '.join(VH_RULES)}")
        if not 0 < self.share <= 1:
            raise ValueError(f"VH-proxy share must be in (0, 1], got {self.share!r}")
        if self.eps <= 0:
            raise ValueError(f"VH-proxy eps must be > 0, got {self.eps!r}")
        if self.steps < 1:
            raise ValueError(f"VH-proxy steps must be >= 1, got {self.steps!r}")
        if not 1 <= self.min_days <= self.max_days:
            raise ValueError(f"VH-proxy needs 1 <= min_days <= max_days, got {self.min_days} and {self.max_days}")
        if self.step_days < 1:
            raise ValueError(f"VH-proxy step_days must be >= 1, got {self.step_days!r}")

    def candidates(self):
        """Return the candidate window lengths (d), ascending; ``max_days`` is always the last."""
        days = list(range(self.min_days, self.max_days + 1, self.step_days))
        if days[-1] != self.max_days:
            days.append(self.max_days)
        return days

    def window_days(self, history):
        """Return the chosen training window (d) for the hourly target ``history`` (most recent value last).

        Parameters
        ----------
        history : array_like
            Target levels up to the origin; at least ``max_days * 24`` values
            are read if present, fewer otherwise.

        Returns
        -------
        int
            Window length in days, between ``min_days`` and ``max_days``.

        Raises
        ------
        ValueError
            If ``history`` is shorter than ``min_days`` days.
        """
        history = np.asarray(history, dtype=float)
        if len(history) < self.min_days * 24:
            raise ValueError(f"VH-proxy needs at least {self.min_days} days of history, got {len(history)} h")

        days = self.candidates()
        variances = np.array([np.nanvar(history[-24 * day:]) for day in days])
        if self.rule == "share":
            return self._share_rule(days, variances)
        return self._plateau_rule(days, variances)

    def _share_rule(self, days, variances):
        for day, variance in zip(days, variances):
            if variance >= self.share * variances[-1]:
                return day
        return days[-1]

    def _plateau_rule(self, days, variances):
        flat = 0
        for position in range(1, len(days)):
            previous = variances[position - 1]
            change = abs(variances[position] - previous) / previous if previous > 0 else np.inf
            flat = flat + 1 if change < self.eps else 0
            if flat >= self.steps:
                return days[position - self.steps]
        return days[-1]
