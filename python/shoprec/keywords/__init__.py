"""Keyword models: query expansion learnt from the shop's own catalogue and search log.

* :mod:`.model`: :class:`KeywordModel` (build, save/load, expand);
* :mod:`.graph`: the ONNX scoring graph it writes; :mod:`.onnx_proto`: shoprec's own ONNX
  protobuf encoder;
* :mod:`.session`: onnxruntime sessions opened lazily and again after ``fork()``;
* :mod:`.encoder`: expansion with a pretrained sentence encoder instead
  (:meth:`KeywordModel.from_encoder`); :mod:`.export` makes one
  (``python -m shoprec.keywords.export``).
"""

from __future__ import annotations

from .model import KeywordModel

__all__ = ["KeywordModel"]
