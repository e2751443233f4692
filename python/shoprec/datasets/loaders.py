"""Loaders for the files a shop already has: MovieLens ratings and an event log in CSV.

Both return DataFrames with the column names the rest of shoprec uses by default (``user``,
``item``, ``rating`` or ``event``, ``timestamp`` as datetime64), so
``shoprec.Interactions.from_pandas(df, rating="rating", timestamp="timestamp")`` and
``shoprec.Shop.build(products, events)`` take them as they are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from ..errors import DTypeError, InvalidArgumentError

__all__ = ["MovieLens", "load_movielens", "load_events_csv"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class MovieLens:
    """A MovieLens data set.

    Attributes
    ----------
    ratings : DataFrame
        ``user``, ``item``, ``rating`` (float) and ``timestamp`` (datetime64).
    movies : DataFrame or None
        ``id``, ``title`` and ``category`` (the first genre) and ``genres`` (all of them,
        ``|``-separated), when the movie file is next to the ratings (``u.item`` or
        ``movies.csv``); else None.
    """

    ratings: Any
    movies: Any = None


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        raise ImportError("shoprec.datasets needs pandas: pip install pandas") from None
    return pd


def _ratings_file(path: Path) -> Path:
    if path.is_dir():
        for name in ("u.data", "ratings.csv", "ratings.dat"):
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"{path}: no u.data, ratings.csv or ratings.dat (is this a MovieLens folder?)")
    if not path.exists():
        raise FileNotFoundError(f"no such file or directory: {os.fspath(path)!r}")
    return path


def _check_ratings(df: Any, where: Path) -> Any:
    pd = _pandas()
    if df.isna().any().any():
        raise InvalidArgumentError(f"{where}: missing values in the ratings (is this a MovieLens ratings file?)")
    for column in ("user", "item", "timestamp"):
        if not pd.api.types.is_integer_dtype(df[column]):
            raise InvalidArgumentError(f"{where}: column {column!r} is not integer (is this a MovieLens ratings file?)")
    if not pd.api.types.is_numeric_dtype(df["rating"]):
        raise InvalidArgumentError(f"{where}: ratings are not numbers")
    df["rating"] = df["rating"].astype("float64")
    df["timestamp"] = pd.to_datetime(df["timestamp"], unit="s")
    return df


def load_movielens(path: PathLike) -> MovieLens:
    """Read MovieLens ratings, and the movies when their file is next to them.

    Parameters
    ----------
    path : str or PathLike
        A MovieLens folder or its ratings file: ml-100k's ``u.data`` (tab-separated ``user
        item rating timestamp``, no header; movies in ``u.item``), ml-latest's ``ratings.csv``
        (``userId,movieId,rating,timestamp`` with a header; movies in ``movies.csv``) or ml-1m's
        ``ratings.dat`` (``::``-separated; movies in ``movies.dat``).

    Returns
    -------
    MovieLens

    Raises
    ------
    FileNotFoundError
        No such file, or a folder without a ratings file.
    InvalidArgumentError
        The file does not have the layout of its name.
    """
    pd = _pandas()
    file = _ratings_file(Path(os.fspath(path)))
    names = ["user", "item", "rating", "timestamp"]
    try:
        if file.suffix == ".csv":
            raw = pd.read_csv(file)
            expected = ["userId", "movieId", "rating", "timestamp"]
            if list(raw.columns[:4]) != expected:
                raise InvalidArgumentError(f"{file}: expected the columns {expected}, found {list(raw.columns)}")
            ratings = raw.iloc[:, :4].set_axis(names, axis=1)
        elif file.suffix == ".dat":
            ratings = pd.read_csv(file, sep="::", engine="python", header=None, names=names)
        else:
            ratings = pd.read_csv(file, sep="\t", header=None, names=names)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, InvalidArgumentError):
            raise
        raise InvalidArgumentError(f"{file}: not a MovieLens ratings file ({exc})") from None
    ratings = _check_ratings(ratings, file)
    return MovieLens(ratings=ratings, movies=_movies(file.parent, file.suffix))


def _movies(folder: Path, suffix: str) -> Optional[Any]:
    pd = _pandas()
    if suffix == ".csv" and (folder / "movies.csv").is_file():
        raw = pd.read_csv(folder / "movies.csv")
        movies = pd.DataFrame({"id": raw["movieId"], "title": raw["title"].astype(str), "genres": raw["genres"].astype(str)})
    elif suffix == ".dat" and (folder / "movies.dat").is_file():
        raw = pd.read_csv(folder / "movies.dat", sep="::", engine="python", header=None,
                          names=["id", "title", "genres"], encoding="latin-1")
        movies = raw.astype({"title": str, "genres": str})
    elif suffix not in (".csv", ".dat") and (folder / "u.item").is_file():
        raw = pd.read_csv(folder / "u.item", sep="|", header=None, encoding="latin-1")
        genre_names = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
                       "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
                       "Romance", "Sci-Fi", "Thriller", "War", "Western"]
        flags = raw.iloc[:, 5:5 + len(genre_names)].to_numpy(dtype=bool)
        genres = ["|".join(g for g, f in zip(genre_names, row) if f) or "unknown" for row in flags]
        movies = pd.DataFrame({"id": raw[0], "title": raw[1].astype(str), "genres": genres})
    else:
        return None
    movies["category"] = movies["genres"].str.split("|").str[0]
    return movies[["id", "title", "category", "genres"]]


def load_events_csv(
    path: PathLike,
    *,
    user: str = "user",
    item: str = "item",
    event: Optional[str] = "event",
    timestamp: Optional[str] = "timestamp",
    rating: Optional[str] = None,
    sep: str = ",",
    timestamp_unit: str = "s",
) -> Any:
    """Read an event log from CSV (one row per event, with a header).

    Parameters
    ----------
    path : str or PathLike
    user, item : str
        The columns of the shopper and product ids (read as strings, so ``"007"`` stays
        ``"007"``).
    event : str or None
        The column of event names (``view``, ``cart``, ``purchase``...), or None.
    timestamp : str or None
        The column of times: numbers (Unix time in ``timestamp_unit``) or date strings
        (ISO 8601); or None.
    rating : str or None
        A column of explicit ratings, instead of or besides ``event``.
    sep : str
        The field separator.
    timestamp_unit : {"s", "ms", "us", "ns"}
        The unit of numeric timestamps.

    Returns
    -------
    DataFrame
        ``user``, ``item``, then ``event``, ``rating`` and ``timestamp`` (datetime64) as
        given, then any other columns unchanged.

    Raises
    ------
    FileNotFoundError
        No such file.
    InvalidArgumentError
        A named column is missing, an id is missing, a rating is not a number, or a time
        cannot be read.
    """
    pd = _pandas()
    file = Path(os.fspath(path))
    if not file.is_file():
        raise FileNotFoundError(f"no such file: {os.fspath(path)!r}")
    if timestamp_unit not in ("s", "ms", "us", "ns"):
        raise InvalidArgumentError(f"timestamp_unit must be 's', 'ms', 'us' or 'ns', got {timestamp_unit!r}")
    wanted = {"user": user, "item": item, "event": event, "timestamp": timestamp, "rating": rating}
    for role, column in wanted.items():
        if column is not None and not isinstance(column, str):
            raise DTypeError(f"{role} must be a column name (str), got {type(column).__name__}")
    try:
        df = pd.read_csv(file, sep=sep, dtype={user: str, item: str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"{file}: not a readable CSV file ({exc})") from None
    missing = [f"{role}={column!r}" for role, column in wanted.items() if column is not None and column not in df.columns]
    if missing:
        raise InvalidArgumentError(f"{file}: missing columns {', '.join(missing)}; the file has {list(df.columns)}")
    for role in ("user", "item"):
        if df[wanted[role]].isna().any():
            row = int(df[wanted[role]].isna().to_numpy().nonzero()[0][0])
            raise InvalidArgumentError(f"{file}: {role} id missing on data row {row + 1}")
    out = pd.DataFrame({"user": df[user], "item": df[item]})
    if event is not None:
        out["event"] = df[event].astype(str)
    if rating is not None:
        values = pd.to_numeric(df[rating], errors="coerce")
        if values.isna().any():
            row = int(values.isna().to_numpy().nonzero()[0][0])
            raise InvalidArgumentError(f"{file}: rating on data row {row + 1} is not a number: {df[rating].iloc[row]!r}")
        out["rating"] = values.astype("float64")
    if timestamp is not None:
        column = df[timestamp]
        try:
            if pd.api.types.is_numeric_dtype(column):
                out["timestamp"] = pd.to_datetime(column, unit=timestamp_unit)
            else:
                out["timestamp"] = pd.to_datetime(column, utc=True).dt.tz_convert(None)
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidArgumentError(f"{file}: column {timestamp!r} holds a time that cannot be read ({exc})") from None
        if out["timestamp"].isna().any():
            row = int(out["timestamp"].isna().to_numpy().nonzero()[0][0])
            raise InvalidArgumentError(f"{file}: time missing on data row {row + 1}")
    rest = [c for c in df.columns if c not in wanted.values() and c not in out.columns]
    for column in rest:
        out[column] = df[column]
    return out
