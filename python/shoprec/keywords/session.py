"""onnxruntime sessions opened lazily, once per process: safe to load before ``fork()``.

A server that loads its models before forking workers (gunicorn ``--preload``, celery
prefork) must not carry an onnxruntime session across the fork: its thread pool does not
survive it. A :class:`LazySession` opens the session on first use and opens a new one in a
forked child (the pid differs), so the parent and every child each run their own.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Union

from ..errors import ModelFileError

__all__ = ["import_onnxruntime", "LazySession"]

_LEVELS = {"all": "ORT_ENABLE_ALL", "basic": "ORT_ENABLE_BASIC"}


def import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "shoprec keyword models run with onnxruntime, which is not installed: "
            "pip install 'shoprec[keywords]'"
        ) from None
    return onnxruntime


class LazySession:
    """One onnxruntime session per process over a model given as bytes or a file path.

    ``num_threads`` is onnxruntime's ``intra_op_num_threads`` (a web server runs many workers,
    so 1 by default); spinning is turned off so idle threads do not burn CPU.
    ``optimization`` is onnxruntime's graph optimization level: ``"all"`` (its default) or
    ``"basic"`` (constant folding and redundant-node removal only, no fused kernels).
    """

    def __init__(self, model: Union[bytes, str], num_threads: int = 1, *, what: str = "the keyword model",
                 optimization: str = "all") -> None:
        if optimization not in _LEVELS:
            raise ValueError(f"optimization must be one of {', '.join(_LEVELS)}, got {optimization!r}")
        self._model = model
        self._num_threads = num_threads
        self._what = what
        self._optimization = optimization
        self._lock = threading.Lock()
        self._session: Any = None
        self._pid = -1

    def get(self) -> Any:
        """The session of this process, opened now if it is the first use here."""
        session, pid = self._session, self._pid
        if session is not None and pid == os.getpid():
            return session
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                self._session = self._open()
                self._pid = os.getpid()
            return self._session

    def _open(self) -> Any:
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, _LEVELS[self._optimization])
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        try:
            return ort.InferenceSession(self._model, sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelFileError(f"onnxruntime cannot load {self._what}: {exc}") from None

    def run(self, feeds: Any) -> Any:
        """``session.run(None, feeds)``; onnxruntime's own errors (a graph that loads but
        cannot run: a damaged file read without checksums) become a ModelFileError."""
        session = self.get()
        try:
            return session.run(None, feeds)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelFileError(f"onnxruntime cannot run {self._what} (a damaged model file?): {exc}") from None

    def __getstate__(self) -> Any:
        raise TypeError("an onnxruntime session cannot be pickled; pickle the model that owns it")
