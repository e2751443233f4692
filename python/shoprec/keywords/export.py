"""Turn a sentence-transformers model directory into an int8 encoder directory for
:meth:`shoprec.KeywordModel.from_encoder`.

    pip install 'shoprec[export]'
    python -m shoprec.keywords.export path/to/sentence-transformers-model out-dir

Writes ``out-dir/model.onnx`` (weights of every MatMul quantized to int8, one scale per output
channel, activations quantized dynamically at run time) and ``out-dir/tokenizer.json``. The
transformer is exported with ``torch.onnx.export`` at opset 14 with dynamic batch and sequence
axes; its output is the per-token hidden state, which ``from_encoder`` mean-pools over the
attention mask (the pooling of most sentence-transformers models). Nothing is downloaded: the
source must be a local directory.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Union


def quantize_encoder(source: Union[str, Path], target: Union[str, Path]) -> None:
    """Quantize the MatMul weights of an fp32 ONNX encoder to int8, per output channel."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Gemm"])


def export_transformer(source: Path, onnx_path: Path) -> None:
    """Export the transformer of a sentence-transformers directory to fp32 ONNX."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(source), device="cpu")
    transformer = model[0].auto_model.eval()
    sample = model.tokenize(["shoprec export"])
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}

    class Hidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            return self.inner(**dict(zip(names, inputs))).last_hidden_state

    with torch.no_grad():
        torch.onnx.export(Hidden(transformer), tuple(sample[n] for n in names), str(onnx_path),
                          input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=14)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="sentence-transformers model directory")
    parser.add_argument("target", type=Path, help="directory to write model.onnx and tokenizer.json to")
    args = parser.parse_args(argv)
    tokenizer = args.source / "tokenizer.json"
    if not tokenizer.is_file():
        parser.error(f"{tokenizer} is missing (a fast tokenizer is needed)")
    args.target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model-fp32.onnx"
        export_transformer(args.source, fp32)
        quantize_encoder(fp32, args.target / "model.onnx")
    shutil.copyfile(tokenizer, args.target / "tokenizer.json")
    print(f"wrote {args.target / 'model.onnx'} and {args.target / 'tokenizer.json'}")


if __name__ == "__main__":
    main()
