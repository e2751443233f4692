"""IdMap lookups: the vectorised path for arrays equals the per-id rule of ``IdMap.get``."""

import numpy as np
from hypothesis import given, settings, strategies as st

from shoprec._ids import IdMap


def _reference(idmap, values):
    return np.array([idmap.get(v) for v in values.tolist()], dtype=np.int32)


@settings(max_examples=200, deadline=None)
@given(
    ids=st.lists(st.integers(-50, 50), unique=True, max_size=30),
    queries=st.lists(st.integers(-60, 60), max_size=40),
    shuffle=st.randoms(use_true_random=False),
    dtype=st.sampled_from([np.int64, np.int32, np.int16]),
)
def test_integer_arrays_match_the_per_id_lookup(ids, queries, shuffle, dtype):
    shuffle.shuffle(ids)  # maps are not always sorted (update appends new ids)
    idmap = IdMap(np.asarray(ids, dtype=np.int64))
    values = np.asarray(queries, dtype=dtype)
    np.testing.assert_array_equal(idmap.indices(values, "items"), _reference(idmap, values))


@settings(max_examples=200, deadline=None)
@given(
    # no NUL: numpy's str arrays drop trailing NULs, so "" and "\x00" would be one id
    ids=st.lists(st.text(st.characters(exclude_characters="\x00"), max_size=4), unique=True, max_size=30),
    queries=st.lists(st.text(st.characters(exclude_characters="\x00"), max_size=5), max_size=40),
    shuffle=st.randoms(use_true_random=False),
)
def test_string_arrays_match_the_per_id_lookup(ids, queries, shuffle):
    shuffle.shuffle(ids)
    idmap = IdMap(np.asarray(ids, dtype=str) if ids else np.empty(0, dtype="<U1"))
    values = np.asarray(queries + [ids[0]] if ids else queries, dtype=str)
    np.testing.assert_array_equal(idmap.indices(values, "items"), _reference(idmap, values))


def test_arrays_of_the_other_kind_keep_the_str_int_rule():
    ints = IdMap(np.array([7, 1808, 3], dtype=np.int64))
    np.testing.assert_array_equal(ints.indices(np.array(["1808", "01808", "9"]), "items"), [1, -1, -1])
    strings = IdMap(np.array(["a", "12"]))
    np.testing.assert_array_equal(strings.indices(np.array([12, 5]), "items"), [1, -1])
    # uint64 beyond int64 cannot be compared exactly by a search over int64: the per-id path
    big = np.array([2**63 + 1], dtype=np.uint64)
    np.testing.assert_array_equal(ints.indices(big, "items"), [-1])


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(st.integers(-2**63, 2**63 - 1), unique=True, max_size=300),
    extra=st.lists(st.integers(-2**63, 2**63 - 1), max_size=40),
    shift=st.integers(0, 40),
)
def test_int64_ids_of_any_size_match_the_per_id_lookup(ids, extra, shift):
    # Ids sharing their low bits (multiples of 2**shift) are the hash table's hard case.
    ids = list(dict.fromkeys(((i << shift) + 2**63) % 2**64 - 2**63 for i in ids))
    idmap = IdMap(np.asarray(ids, dtype=np.int64))
    values = np.asarray(extra + ids + [i ^ 1 for i in ids], dtype=np.int64)
    np.testing.assert_array_equal(idmap.indices(values, "items"), _reference(idmap, values))
    # Strided and unsigned value arrays go the same way.
    np.testing.assert_array_equal(idmap.indices(values[::2], "items"), _reference(idmap, values[::2]))
    small = np.arange(0, 300, 7, dtype=np.uint32)
    np.testing.assert_array_equal(idmap.indices(small, "items"), _reference(idmap, small))


def test_int_lookup_without_the_hash_table(monkeypatch):
    """When the core refuses to build a table (clustered hashes) or the ids repeat (a damaged
    map), lookups keep the binary search, with the same answers."""
    from shoprec import _core

    values = np.array([5, 3, 99, -1, 3], dtype=np.int64)
    monkeypatch.setattr(_core, "id_table", lambda ids: None)
    refused = IdMap(np.array([3, 5, 7], dtype=np.int64))
    np.testing.assert_array_equal(refused.indices(values, "items"), [1, 0, -1, -1, 0])
    assert len(refused._hashed) == 0
    monkeypatch.undo()
    repeated = IdMap(np.array([3, 5, 3], dtype=np.int64))
    np.testing.assert_array_equal(repeated.indices(values, "items"), [1, 0, -1, -1, 0])


def test_a_map_pickled_without_the_table_slot_still_looks_up():
    idmap = IdMap(np.array([10, 20, 30], dtype=np.int64))
    restored = IdMap.__new__(IdMap)
    restored.ids, restored._lookup, restored._order = idmap.ids, None, None  # no _hashed: an old pickle
    np.testing.assert_array_equal(restored.indices(np.array([30, 11], dtype=np.int64), "items"), [2, -1])
