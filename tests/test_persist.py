"""The model file format: round trips, mapped loading, and refusal of bad files."""

import os
import struct
import threading

import numpy as np
import pytest

import shoprec
from shoprec import io as _persist


def write(tmp_path, arrays, params=None):
    path = tmp_path / "m.shoprec"
    _persist.write_file(path, "Test", params or {"a": 1}, arrays)
    return path


def test_round_trip_of_every_dtype_and_alignment(tmp_path, rng):
    arrays = {
        "f32": rng.random((7, 3)).astype(np.float32),
        "f64": rng.random(5),
        "i32": np.arange(11, dtype=np.int32),
        "i64_empty": np.zeros(0, np.int64),
        "strings": np.array(["é", "b", "long name"]),
        "mixed": np.array([1, "a", 2.5], dtype=object),
        "big_endian": np.arange(4, dtype=">i4"),
    }
    path = write(tmp_path, arrays, {"k": 3, "name": "x"})
    name, params, back = _persist.read_file(path)
    assert name == "Test" and params == {"k": 3, "name": "x"}
    for key, array in arrays.items():
        assert back[key].tolist() == array.tolist() and back[key].shape == array.shape
    assert back["strings"].dtype == arrays["strings"].dtype and back["mixed"].dtype == object
    meta_directory = back
    for key in ("f32", "f64", "i32"):
        assert not back[key].flags.writeable
        # Mapped, not copied: the array's memory belongs to the file mapping.
        assert back[key].base is not None
    with open(path, "rb") as handle:
        raw = handle.read()
    assert raw[:8] == b"SHOPREC\x00"
    offset = raw.find(arrays["f64"].tobytes())
    assert offset > 0 and offset % 64 == 0
    del meta_directory


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path, monkeypatch):
    path = write(tmp_path, {"x": np.arange(3)})
    before = path.read_bytes()

    def failing_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        _persist.write_file(path, "Test", {}, {"x": np.arange(1000)})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.shoprec"]


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        shoprec.load(tmp_path / "nope.shoprec")


def test_truncated_corrupted_foreign_and_newer_files(tmp_path):
    path = write(tmp_path, {"x": np.arange(100, dtype=np.float64)})
    raw = path.read_bytes()
    bad = tmp_path / "bad.shoprec"
    for cut in (0, 10, 40, len(raw) // 2, len(raw) - 1):
        bad.write_bytes(raw[:cut])
        with pytest.raises(shoprec.ModelFileError):
            _persist.read_file(bad)
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0xFF
    bad.write_bytes(bytes(flipped))
    with pytest.raises(shoprec.ModelFileError, match="checksum"):
        _persist.read_file(bad)
    bad.write_bytes(b"PK\x03\x04" + raw[4:])
    with pytest.raises(shoprec.ModelFileError, match="not a shoprec"):
        _persist.read_file(bad)
    newer = bytearray(raw)
    struct.pack_into("<I", newer, 8, _persist.FORMAT_VERSION + 1)
    bad.write_bytes(bytes(newer))
    with pytest.raises(shoprec.ModelVersionError, match="upgrade"):
        shoprec.load(bad)
    assert issubclass(shoprec.ModelVersionError, shoprec.ModelFileError)


def test_unknown_type_and_lying_directory(tmp_path):
    path = write(tmp_path, {"x": np.arange(3)})
    with pytest.raises(shoprec.ModelFileError, match="unknown model type"):
        shoprec.load(path)
    # A directory entry pointing outside the file, with a valid checksum: refused, no crash.
    import hashlib
    import json

    raw = path.read_bytes()
    meta_len = struct.unpack_from("<Q", raw, 16)[0]
    meta = json.loads(raw[24:24 + meta_len])
    meta["arrays"]["x"]["offset"] = 10**9
    new_meta = json.dumps(meta).encode()
    body = raw[:16] + struct.pack("<Q", len(new_meta)) + new_meta
    body += b"\0" * ((-len(body)) % 64)
    bad = tmp_path / "lie.shoprec"
    bad.write_bytes(body + hashlib.sha256(body).digest())
    with pytest.raises(shoprec.ModelFileError, match="outside"):
        _persist.read_file(bad)


def test_unsaveable_ids_are_refused(tmp_path):
    with pytest.raises(shoprec.InvalidArgumentError, match="tuple"):
        write(tmp_path, {"ids": np.array([(1, 2), "a"], dtype=object)})


def test_concurrent_loads_of_one_file(tmp_path):
    path = write(tmp_path, {"x": np.arange(10_000, dtype=np.float32)})
    results = []

    def worker():
        results.append(float(_persist.read_file(path)[2]["x"].sum()))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [float(np.arange(10_000, dtype=np.float32).sum())] * 8
