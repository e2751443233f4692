"""CleaningReport: what a cleaning step removed or changed, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


from ..errors import InternalError



@dataclass(frozen=True)
class CleaningReport:
    """What one cleaning step did.

    Attributes
    ----------
    step : str
        The name of the step (``"dedupe_events"``, ...).
    n_in, n_out : int
        Rows (or values) before and after the step. ``n_in - n_out == n_removed`` always.
    removed : dict of str to int
        Rows removed, by reason. Empty when the step never removes rows.
    changed : dict of str to int
        Rows kept but with a changed value, by reason.
    details : pandas.DataFrame or numpy.ndarray or None
        The rows concerned, with the reason (for DataFrame input: removed rows with a
        ``reason`` column, or the positions of changed values for array input).
    params : dict
        The parameters the step ran with, so a report is enough to reproduce it.
    extra : dict
        Step-specific numbers (e.g. users removed, series left too short to filter).
    """

    step: str
    n_in: int
    n_out: int
    removed: Mapping[str, int] = field(default_factory=dict)
    changed: Mapping[str, int] = field(default_factory=dict)
    details: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The report is the promise that nothing vanished: make a broken promise a bug, loudly.
        if self.n_in - self.n_out != self.n_removed:
            raise InternalError(
                f"{self.step}: {self.n_in} rows in, {self.n_out} out, but {self.n_removed} reported removed"
            )

    @property
    def n_removed(self) -> int:
        """Rows removed, all reasons together."""
        return int(sum(self.removed.values()))

    @property
    def n_changed(self) -> int:
        """Rows whose value changed, all reasons together."""
        return int(sum(self.changed.values()))

    def __str__(self) -> str:
        lines = [f"{self.step}: {self.n_in} in, {self.n_out} out"]
        for reason, count in self.removed.items():
            lines.append(f"  removed {count}: {reason}")
        for reason, count in self.changed.items():
            lines.append(f"  changed {count}: {reason}")
        for key, value in self.extra.items():
            lines.append(f"  {key}: {value}")
        return "\n".join(lines)
