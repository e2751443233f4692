"""Data to try shoprec on: a generated demo shop, and loaders for the files a shop already has.

* :func:`demo_shop`: a seeded shop that behaves like a real one (products in categories with
  Chinese and English titles, brands, prices and stock; shoppers with a few tastes; view ->
  cart -> purchase sessions with popularity skew, double clicks and a few bots; daily sales
  with injected anomalies; coupons and who redeemed them).
* :func:`load_movielens`: MovieLens ratings (ml-100k ``u.data`` or ml-latest ``ratings.csv``)
  and, when present, the movies as a catalogue.
* :func:`load_events_csv`: an event log exported as CSV, with the columns renamed to the
  names the rest of shoprec uses (``user``, ``item``, ``event``, ``timestamp``).

pandas is required (every function returns DataFrames).
"""

from __future__ import annotations

from .demo import DemoShop, demo_shop
from .loaders import MovieLens, load_events_csv, load_movielens

__all__ = ["DemoShop", "demo_shop", "MovieLens", "load_movielens", "load_events_csv"]
