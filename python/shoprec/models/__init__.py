"""The recommenders: :class:`ItemKNN`, :class:`UserKNN`, :class:`Baseline` and :class:`Popular`.

One module per model (``popular``, ``baseline``, ``knn``) over the shared base class in
``_base`` (fitting state, ``recommend``/``recommend_many``/``predict``, persistence). Every
model answers with :class:`shoprec.Recommendations`; see ``_base`` for the behaviour they
share (ranking, filters, fallbacks).
"""

from __future__ import annotations

from ..recommendations import Recommendations
from .baseline import Baseline
from .knn import ItemKNN, UserKNN
from .popular import Popular

__all__ = ["Recommendations", "ItemKNN", "UserKNN", "Baseline", "Popular"]
