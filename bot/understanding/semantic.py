"""The semantic stage: a softmax regression over sentence vectors, trained on the intents.

Classes are the intents plus ``OOS``, learned from ``intents/out_of_scope.yaml``. Training runs
at build time (``python -m bot.understanding build``) into ``intents/.model/semantic.npz``,
keyed by a hash of the training phrases and the model file; a stale or missing artifact is
rebuilt in memory on load (``/reload`` of changed intents) and reported by ``check``, so a stale
one is never served. :meth:`Semantic.classify` returns the classes ranked by probability with the
cosine of the nearest training example of each top class (the matcher decides from those).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.knowledge import Knowledge, Problem
from bot.understanding.embedder import Embedder, ModelError, Vectors

log = logging.getLogger(__name__)

OOS = "_out_of_scope"  # the class of the negative examples (never an intent id: ids start a-z)
ARTIFACT = Path("intents") / ".model" / "semantic.npz"
TRAINING = {"epochs": 400, "rate": 0.05, "l2": 1e-4, "scale": 20.0}  # part of the key
BUILD = "python -m bot.understanding build"  # the command that writes the artifact
TOP = 5  # classes reported with their nearest-example cosine

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Verdict:
    """The classifier's view of one message: classes by probability, with nearest cosines."""

    ranked: list[tuple[str, float]]  # (class, probability), best first; may include OOS
    nearest: dict[str, float]  # class -> cosine of its closest training example (top classes)

    @property
    def top(self) -> str:
        """The most probable class."""
        return self.ranked[0][0]

    @property
    def margin(self) -> float:
        """How far the top probability leads the runner-up."""
        second = self.ranked[1][1] if len(self.ranked) > 1 else 0.0
        return self.ranked[0][1] - second


def training_data(kb: Knowledge) -> tuple[list[str], list[str]]:
    """The phrases to learn from and their classes (intents in id order, then OOS)."""
    texts: list[str] = []
    labels: list[str] = []
    for intent_id in sorted(kb.intents):
        for example in kb.intents[intent_id].examples:
            texts.append(example)
            labels.append(intent_id)
    texts += kb.out_of_scope
    labels += [OOS] * len(kb.out_of_scope)
    return texts, labels


def artifact_key(kb: Knowledge, model_digest: str) -> str:
    """The hash an artifact must carry to be served for ``kb`` and this model file."""
    texts, labels = training_data(kb)
    blob = json.dumps([model_digest, TRAINING, texts, labels], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def artifact_path(kb: Knowledge) -> Path | None:
    """Where ``kb``'s artifact lives (None for knowledge built in memory)."""
    return kb.data_dir / ARTIFACT if kb.data_dir else None


def train(vectors: Matrix, targets: npt.NDArray[np.int64], classes: int) -> tuple[Matrix, Matrix]:
    """Fit a multinomial logistic regression with Adam on the whole set; return (W, b)."""
    rng = np.random.default_rng(0)
    n, dim = vectors.shape
    x = vectors * TRAINING["scale"]
    weights = (rng.standard_normal((dim, classes)) * 0.01).astype(np.float32)
    bias = np.zeros(classes, np.float32)
    onehot = np.zeros((n, classes), np.float32)
    onehot[np.arange(n), targets] = 1.0
    m_w, v_w = np.zeros_like(weights), np.zeros_like(weights)
    m_b, v_b = np.zeros_like(bias), np.zeros_like(bias)
    rate, l2 = TRAINING["rate"], TRAINING["l2"]
    for step in range(1, int(TRAINING["epochs"]) + 1):
        probs = _softmax(x @ weights + bias)
        grad = (probs - onehot) / n
        g_w = x.T @ grad + l2 * weights
        g_b = grad.sum(axis=0)
        for param, g, m, v in ((weights, g_w, m_w, v_w), (bias, g_b, m_b, v_b)):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            param -= rate * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return weights * TRAINING["scale"], bias


@dataclass
class Classifier:
    """The trained artifact: class names, weights, and the training vectors for the cosine gate."""

    key: str
    classes: list[str]
    weights: Matrix
    bias: Matrix
    vectors: Matrix  # training vectors, float16 on disk
    labels: npt.NDArray[np.int64]  # class index of each training vector
    texts: list[str]  # the training phrases (a rebuild re-embeds only new ones)
    model: str = ""  # sha256 of the model file that embedded them

    @classmethod
    def fit(
        cls,
        key: str,
        vectors: Matrix,
        labels: list[str],
        texts: list[str] | None = None,
        model: str = "",
    ) -> Classifier:
        """Train on ``vectors`` labelled ``labels`` (embedded from ``texts``)."""
        classes = [*sorted(set(labels) - {OOS}), OOS]
        index = {c: i for i, c in enumerate(classes)}
        targets = np.array([index[label] for label in labels], np.int64)
        weights, bias = train(vectors, targets, len(classes))
        stored = vectors.astype(np.float16).astype(np.float32)
        return cls(key, classes, weights, bias, stored, targets, texts or [], model)

    def save(self, path: Path) -> None:
        """Write the artifact (npz, no pickles)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            np.savez_compressed(
                out,
                key=np.array(self.key),
                classes=np.array(self.classes),
                weights=self.weights,
                bias=self.bias,
                vectors=self.vectors.astype(np.float16),
                labels=self.labels,
                texts=np.array(self.texts, dtype=str),
                model=np.array(self.model),
            )

    @classmethod
    def read(cls, path: Path) -> Classifier:
        """Read an artifact written by :meth:`save`; ``ValueError`` if it is unreadable."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(
                    str(data["key"]),
                    [str(c) for c in data["classes"]],
                    data["weights"].astype(np.float32),
                    data["bias"].astype(np.float32),
                    data["vectors"].astype(np.float32),
                    data["labels"].astype(np.int64),
                    [str(t) for t in data["texts"]],
                    str(data["model"]),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: unreadable classifier artifact ({exc})") from exc

    def verdict(self, vector: Vectors) -> Verdict:
        """Rank the classes for one unit vector."""
        probs = _softmax((vector @ self.weights + self.bias)[None, :])[0]
        order = np.argsort(-probs)
        cosines = self.vectors @ vector
        nearest: dict[str, float] = {}
        for i in order[:TOP]:
            mine = cosines[self.labels == i]
            nearest[self.classes[i]] = float(mine.max()) if mine.size else 0.0
        return Verdict([(self.classes[i], float(probs[i])) for i in order], nearest)


class Semantic:
    """The embedder and the classifier together: text in, :class:`Verdict` out."""

    def __init__(self, embedder: Embedder, classifier: Classifier) -> None:
        """Serve ``classifier`` over ``embedder``'s vectors."""
        self.embedder = embedder
        self.classifier = classifier

    def classify(self, text: str) -> Verdict:
        """The verdict on one message (the model reads at most its first 128 tokens)."""
        return self.classifier.verdict(self.embedder.embed_one(model_text(text)))


MODEL_CHARS = 1000  # more than 128 tokens of English: the model never reads further
MARKUP = re.compile(r"</?[a-z][a-z0-9]*\s*/?>", re.IGNORECASE)  # a pasted tag: <b>, </i>, <br/>


def model_text(text: str) -> str:
    """What the model reads of a message: its words, without emoji, other symbols and markup.

    The tokenizer maps an emoji to an unknown token, so a flood of them would fill the 128
    tokens the model reads and push the words out; a tag's name is no word of the question
    ("<b>what is an mha</b>" read as "b what is an mha b" looks like "a or b"). The user's
    message itself is unchanged.
    """
    text = MARKUP.sub(" ", text[:MODEL_CHARS])
    kept = "".join(" " if unicodedata.category(c)[0] in "SC" else c for c in text)
    return " ".join(kept.split())


_EMBEDDERS: dict[Path | None, Embedder] = {}


def embedder() -> Embedder:
    """The process's embedder, loaded once (a /reload reuses it)."""
    if None not in _EMBEDDERS:
        _EMBEDDERS[None] = Embedder()
    return _EMBEDDERS[None]


def build(kb: Knowledge, emb: Embedder, previous: Classifier | None = None) -> Classifier:
    """Embed ``kb``'s training phrases and train a classifier.

    Phrases ``previous`` (an artifact of the same model) already holds are not embedded again,
    so a curator's ``/reload`` after a small change takes a second, not the ~20 s of a full build.
    """
    texts, labels = training_data(kb)
    known = {}
    if previous is not None and previous.model == emb.digest:
        known = dict(zip(previous.texts, previous.vectors, strict=True))
    fresh = [t for t in dict.fromkeys(texts) if t not in known]
    known.update(zip(fresh, emb.embed(fresh), strict=True))
    vectors = np.stack([known[t] for t in texts]).astype(np.float32)
    return Classifier.fit(artifact_key(kb, emb.digest), vectors, labels, texts, emb.digest)


SAMPLE = 4  # stored phrases re-embedded at load to confirm the vectors are this machine's
SAME_VECTOR = 0.999  # float16 storage keeps a phrase's cosine with itself above 0.9999


def vector_drift(classifier: Classifier, emb: Embedder) -> str | None:
    """Why ``classifier``'s training vectors are not what ``emb`` computes here, or None.

    The key covers the phrases and the model file, not the CPU: a runtime whose arithmetic
    differs would embed messages differently from the phrases the classifier was trained on.
    """
    if not classifier.texts:
        return None
    picks = np.linspace(0, len(classifier.texts) - 1, SAMPLE).astype(int)
    fresh = emb.embed([classifier.texts[i] for i in picks])
    cosines = (fresh * classifier.vectors[picks]).sum(axis=1)
    if float(cosines.min()) >= SAME_VECTOR:
        return None
    return f"its vectors differ from this machine's model output (cosine {cosines.min():.4f})"


def load_semantic(kb: Knowledge) -> Semantic:
    """The semantic stage for ``kb``: its artifact if current, else rebuilt (and saved if it can).

    Raises :class:`ModelError` (naming the file) when the embedding model is missing or corrupt.
    """
    emb = embedder()
    key = artifact_key(kb, emb.digest)
    path = artifact_path(kb)
    previous: Classifier | None = None
    if path is not None and path.exists():
        try:
            previous = Classifier.read(path)
            if previous.key == key and (drift := vector_drift(previous, emb)) is None:
                return Semantic(emb, previous)
            if previous.key == key:
                log.warning("%s: %s; rebuilding the classifier", path, drift)
                previous = None  # its vectors are not this machine's: embed everything again
            else:
                log.warning("%s is stale; rebuilding the classifier", path)
        except ValueError as exc:
            log.warning("%s; rebuilding the classifier", exc)
    classifier = build(kb, emb, previous)
    if path is not None:
        try:
            classifier.save(path)
        except OSError as exc:
            log.warning("could not save %s (%s); serving the rebuilt classifier", path, exc)
    return Semantic(emb, classifier)


def problems(kb: Knowledge) -> list[Problem]:
    """What ``check`` reports about the semantic stage: model file, artifact missing or stale."""
    from bot.understanding.embedder import file_digest, model_path

    model = model_path()
    try:
        if not model.is_file():
            return [Problem(model, 1, "embedding model file not found")]
        emb = Embedder(model)  # a corrupt graph fails here, naming the file
        digest = file_digest(model)
    except ModelError as exc:
        return [Problem(model, 1, str(exc).removeprefix(f"{model}: "))]
    path = artifact_path(kb)
    if path is None:
        return []
    if not path.exists():
        return [Problem(path, 1, f"classifier artifact missing ({BUILD})")]
    try:
        classifier = Classifier.read(path)
    except ValueError as exc:
        return [Problem(path, 1, str(exc).split(": ", 1)[-1])]
    if classifier.key != artifact_key(kb, digest):
        return [Problem(path, 1, f"classifier artifact is stale ({BUILD})")]
    if drift := vector_drift(classifier, emb):
        return [Problem(path, 1, f"classifier artifact: {drift} ({BUILD})")]
    return []


def _softmax(z: npt.NDArray[np.floating[Any]]) -> Matrix:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: Matrix = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.understanding build [DIR]``: train and write DIR's intents' artifact."""
    from bot.knowledge import default_data_dir, load

    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "build":
        print("usage: python -m bot.understanding build [DIR]", file=sys.stderr)
        return 2
    kb = load(Path(args[1]) if len(args) > 1 else default_data_dir())
    path = artifact_path(kb)
    if path is None:  # knowledge built in memory has nowhere to keep an artifact
        print("the knowledge has no data folder to write the artifact in", file=sys.stderr)
        return 2
    build(kb, embedder()).save(path)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
