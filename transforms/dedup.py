"""Dedup: exact duplicates by content hash, near duplicates by MinHash LSH; first seen survives."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xxhash

from transforms.config import LSH_BANDS, LSH_ROWS, SHINGLE_WORDS  # FineWeb: 14 x 8, 5-grams
from transforms.lines import group_texts, normalize_line


@dataclass(frozen=True)
class Duplicate:
    """A document that is a copy of an earlier kept document."""

    doc_id: str
    kept_doc_id: str
    kind: str  # "exact" | "near"
    similarity: float


def content_hash(text: str) -> str:
    """32-hex hash of the normalized content text ("" for a document with no content).

    >>> content_hash("Hello,  world!") == content_hash("hello world")
    True
    """
    norm = "\n".join(n for n in (normalize_line(t) for t in text.split("\n")) if n)
    return xxhash.xxh3_128_hexdigest(norm.encode()) if norm else ""


def find_exact_duplicates(
    docs: Iterable[tuple[str, str]], *, seen: dict[str, str] | None = None
) -> tuple[list[Duplicate], dict[str, str]]:
    """Exact duplicates among (doc_id, content_hash) pairs in survivor order.

    `seen` maps hashes already loaded to their kept doc_id; returns the duplicates and the
    updated mapping (a new dict). Documents without content are never duplicates.
    """
    kept = dict(seen or {})
    dups = []
    for doc_id, chash in docs:
        if not chash:
            continue
        first = kept.setdefault(chash, doc_id)
        if first != doc_id:
            dups.append(Duplicate(doc_id, first, "exact", 1.0))
    return dups, kept


# --- near duplicates: MinHash over word shingles, LSH banding, union-find -------------------

# Fixed seed of the MinHash permutations: signatures in the persistent state stay comparable.
MINHASH_SEED = 1
_MASK32 = np.uint64(0xFFFFFFFF)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # golden-ratio constant (splitmix64)
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64 finalizer constants
_MIX3 = np.uint64(0x94D049BB133111EB)
# Shingles hashed per chunk in `minhash_signatures` (bounds the (perm x shingle) temporary).
_CHUNK_SHINGLES = 1 << 13
# `text_signatures` works on groups of texts of about this many characters (bounded words).
SIGNATURE_GROUP_CHARS = 1 << 18


def _text_words(text: str) -> list[str]:
    """Words of the normalized text (`normalize_line` of each line, as in `content_hash`)."""
    return " ".join(normalize_line(t) for t in text.split("\n")).split()


def _word_hashes(word_lists: Sequence[list[str]]) -> np.ndarray:
    """xxh3-64 of every word of many texts, one after the other; each distinct word once."""
    vocab = dict.fromkeys(itertools.chain.from_iterable(word_lists))
    hashes = {w: xxhash.xxh3_64_intdigest(w.encode()) for w in vocab}
    flat = itertools.chain.from_iterable(word_lists)
    return np.fromiter(map(hashes.__getitem__, flat), np.uint64, sum(map(len, word_lists)))


def _shingles_of(w: np.ndarray, sizes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Word n-gram hashes of many texts (word hashes `w`, `sizes` words each) and their number
    per text: a text with fewer than `n` words is one shingle; duplicates are kept."""
    if n < 1:
        raise ValueError("n must be >= 1")
    starts = np.zeros(len(sizes), np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    counts = np.where(sizes >= n, sizes - n + 1, np.minimum(sizes, 1))
    long = np.flatnonzero(sizes >= n)
    # first words of every full window: text start + 0 .. count-1, texts of >= n words
    first = np.repeat(starts[long] - np.cumsum(counts[long]) + counts[long], counts[long])
    first += np.arange(len(first), dtype=np.int64)
    h = np.zeros(len(first), np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):  # order-sensitive combination of n consecutive word hashes
            h = (h ^ w[first + j]) * _MIX
        h ^= h >> np.uint64(31)
        out = np.empty(int(counts.sum()), np.uint64)
        at = np.cumsum(counts) - counts  # where each text's shingles begin in `out`
        is_long = sizes >= n
        out[np.repeat(is_long, counts)] = h
        for t in np.flatnonzero(~is_long & (sizes > 0)).tolist():  # short text: one shingle
            g = np.zeros(1, np.uint64)
            for x in w[starts[t] : starts[t] + sizes[t]]:
                g = (g ^ x) * _MIX
            g ^= g >> np.uint64(31)
            out[at[t]] = g[0]
    return out, counts


def shingle_hashes(text: str, *, n: int = SHINGLE_WORDS) -> np.ndarray:
    """Sorted unique uint64 hashes of the word n-grams of the normalized text.

    Words come from `normalize_line` (the same normalization as `content_hash`); a text with
    fewer than `n` words is one shingle; a text without words has none.

    >>> len(shingle_hashes("one two three four five six", n=5))
    2
    >>> len(shingle_hashes("")), len(shingle_hashes("Hi there!", n=5))
    (0, 1)
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    words = [_text_words(text)]
    sizes = np.array([len(words[0])], np.int64)
    return np.unique(_shingles_of(_word_hashes(words), sizes, n)[0])


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, num_perm, dtype=np.uint64) | np.uint64(1)  # odd multipliers
    b = rng.integers(0, 2**63, num_perm, dtype=np.uint64)
    return a[:, None], b[:, None]


def minhash_signatures(
    shingles: Sequence[np.ndarray],
    *,
    num_perm: int = LSH_BANDS * LSH_ROWS,
    seed: int = MINHASH_SEED,
) -> np.ndarray:
    """(documents x num_perm) uint32 MinHash signatures, vectorized over all documents.

    Permutation i is the multiply-shift hash ((a_i * x + b_i) mod 2^64) >> 32 with odd a_i
    (Dietzfelbinger et al. 1997) drawn from a fixed seed. A document without shingles gets
    all 0xFFFFFFFF (never a candidate: see `band_keys`).

    >>> s = minhash_signatures([shingle_hashes("a b c d e f g"), shingle_hashes("a b c d e f g")])
    >>> s.shape, bool((s[0] == s[1]).all())
    ((2, 112), True)
    """
    sizes = np.fromiter((len(s) for s in shingles), np.int64, len(shingles))
    flat = np.concatenate([np.empty(0, np.uint64), *(np.asarray(s, np.uint64) for s in shingles)])
    return _minhash_flat(flat, sizes, num_perm=num_perm, seed=seed)


def _minhash_flat(flat: np.ndarray, sizes: np.ndarray, *, num_perm: int, seed: int) -> np.ndarray:
    """`minhash_signatures` of documents given as one array of shingles and their sizes.

    A shingle repeated within a document changes no minimum, so duplicates may stay.
    """
    if num_perm < 1:
        raise ValueError("num_perm must be >= 1")
    a, b = _permutations(num_perm, seed)
    out = np.full((len(sizes), num_perm), 0xFFFFFFFF, np.uint32)
    nonempty = np.flatnonzero(sizes)
    if not len(nonempty):
        return out
    ends = np.cumsum(sizes[nonempty])
    starts = ends - sizes[nonempty]
    total = int(ends[-1])
    # Fixed chunks of shingles, a document may span several (its minimum is taken over them):
    # the (perm x shingle) buffer stays num_perm x _CHUNK_SHINGLES whatever one text holds
    # (sized by the largest document, one 5M-word text took 4.5 GB).
    buf = np.empty((num_perm, min(total, _CHUNK_SHINGLES)), np.uint64)
    for lo in range(0, total, _CHUNK_SHINGLES):
        hi = min(lo + _CHUNK_SHINGLES, total)
        hv = buf[:, : hi - lo]
        with np.errstate(over="ignore"):
            np.multiply(a, flat[None, lo:hi], out=hv)
            np.add(hv, b, out=hv)
        first = int(np.searchsorted(ends, lo, side="right"))  # documents overlapping [lo, hi)
        last = int(np.searchsorted(starts, hi, side="left"))
        offsets = np.maximum(starts[first:last], lo) - lo
        rows = nonempty[first:last]
        # x >> 32 keeps the order of x: shift the minima, not every value
        low = np.minimum.reduceat(hv, offsets, axis=1) >> np.uint64(32)
        out[rows] = np.minimum(out[rows], low.T)
    return out


def text_signatures(
    texts: Sequence[str],
    *,
    shingle_words: int = SHINGLE_WORDS,
    num_perm: int = LSH_BANDS * LSH_ROWS,
) -> np.ndarray:
    """MinHash signatures (documents x num_perm) of content texts; a row depends on its text only.

    Texts go in groups of about SIGNATURE_GROUP_CHARS characters: the words of a group are
    hashed together (each distinct word once) and their shingles go through the
    permutations in chunks of whole documents.

    >>> text_signatures(["a b c d e f g", ""], num_perm=4).shape
    (2, 4)
    """
    parts = [np.empty((0, num_perm), np.uint32)]
    for group in group_texts(texts, chars=SIGNATURE_GROUP_CHARS):
        words = [_text_words(texts[i]) for i in group]
        sizes = np.fromiter(map(len, words), np.int64, len(words))
        flat, counts = _shingles_of(_word_hashes(words), sizes, shingle_words)
        parts.append(_minhash_flat(flat, counts, num_perm=num_perm, seed=MINHASH_SEED))
    return np.concatenate(parts)


def band_keys(
    signatures: np.ndarray, *, bands: int = LSH_BANDS, rows: int = LSH_ROWS
) -> np.ndarray:
    """(documents x bands) uint64 LSH bucket keys; 0 marks a document without shingles.

    >>> s = minhash_signatures([shingle_hashes("a b c d e f"), shingle_hashes("")])
    >>> k = band_keys(s); k.shape, bool((k[0] != 0).all()), bool((k[1] == 0).all())
    ((2, 14), True, True)
    """
    if bands < 1 or rows < 1:
        raise ValueError("bands and rows must be >= 1")
    _, width = signatures.shape
    if width < bands * rows:
        raise ValueError(f"signatures have {width} values, need bands*rows = {bands * rows}")
    h = np.arange(1, bands + 1, dtype=np.uint64)[None, :] * _MIX  # band index salts the key
    with np.errstate(over="ignore"):
        for j in range(rows):
            # row j of every band, widened one column set at a time (not a uint64 copy of
            # all signatures: 19 MiB at 1M benchmark lines, the dedup stage's peak)
            col = signatures[:, j : bands * rows : rows].astype(np.uint64)
            h = (h ^ col) * _MIX2
            h ^= h >> np.uint64(29)
        h = (h * _MIX3) ^ (h >> np.uint64(32))
    h[h == 0] = 1
    h[(signatures == 0xFFFFFFFF).all(axis=1)] = 0
    return h


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of row pairs of two signature arrays (share of equal values).

    >>> float(estimate_jaccard(np.array([[1, 2, 3, 4]]), np.array([[1, 2, 0, 4]]))[0])
    0.75
    """
    if a.shape != b.shape:
        raise ValueError("signature arrays differ in shape")
    return (np.asarray(a) == np.asarray(b)).mean(axis=-1)


def candidate_pairs(keys: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """(pairs x 2) rank pairs (earlier, later) of documents sharing one bucket key.

    `keys` and `ranks` are 1-D and aligned (one band); key 0 is never a bucket. Each bucket
    member is paired with the bucket's first member and with its predecessor, so a bucket of
    m documents gives at most 2m pairs, not m^2.

    >>> candidate_pairs(np.array([7, 9, 7, 7, 0, 0]), np.array([0, 1, 2, 3, 4, 5])).tolist()
    [[0, 2], [0, 3], [2, 3]]
    """
    keys, ranks = np.asarray(keys, np.uint64), np.asarray(ranks, np.int64)
    keep = keys != 0
    keys, ranks = keys[keep], ranks[keep]
    order = np.lexsort((ranks, keys))
    k, r = keys[order], ranks[order]
    same = np.flatnonzero(k[1:] == k[:-1]) + 1  # positions continuing a bucket
    if not len(same):
        return np.empty((0, 2), np.int64)
    starts = np.flatnonzero(np.concatenate([[True], k[1:] != k[:-1]]))
    first = r[starts[np.searchsorted(starts, same, side="right") - 1]]
    pairs = np.concatenate([np.stack([first, r[same]], 1), np.stack([r[same - 1], r[same]], 1)])
    return np.unique(pairs, axis=0)


def resolve_clusters(n: int, pairs: np.ndarray) -> np.ndarray:
    """Union-find over ranks 0..n-1: the smallest rank of each connected cluster, per rank.

    The root of a cluster is always its first-seen member (the survivor rule), whatever the
    order of `pairs`.

    >>> resolve_clusters(5, np.array([[3, 4], [1, 3], [0, 2]])).tolist()
    [0, 1, 0, 1, 1]
    """
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in np.asarray(pairs, np.int64).reshape(-1, 2).tolist():
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return np.fromiter((find(i) for i in range(n)), np.int64, n)


# --- near-duplicate decisions over a run and the state of earlier runs ----------------------


def run_ordinals(run_seq: int, positions: np.ndarray) -> np.ndarray:
    """Global survivor order of a run's documents: run_seq << 32 | position in the run.

    >>> run_ordinals(2, np.array([0, 5])).tolist()
    [8589934592, 8589934597]
    """
    return (np.int64(run_seq) << np.int64(32)) + np.asarray(positions, np.int64)


def band_candidates(
    new_keys: np.ndarray,
    new_ordinals: np.ndarray,
    prior_keys: np.ndarray,
    prior_ordinals: np.ndarray,
    *,
    first_new: int,
) -> np.ndarray:
    """Candidate pairs of one band that involve a new document (ordinal >= `first_new`).

    >>> band_candidates(np.array([7, 8], np.uint64), np.array([10, 11]),
    ...                 np.array([7], np.uint64), np.array([1]), first_new=10).tolist()
    [[1, 10]]
    """
    keys = np.concatenate([np.asarray(prior_keys, np.uint64), np.asarray(new_keys, np.uint64)])
    ords = np.concatenate(
        [np.asarray(prior_ordinals, np.int64), np.asarray(new_ordinals, np.int64)]
    )
    pairs = candidate_pairs(keys, ords)
    return pairs[pairs[:, 1] >= first_new]


@dataclass(frozen=True)
class NearDuplicate:
    """A new document (by ordinal) in a near-duplicate cluster whose survivor is `kept`."""

    ordinal: int
    kept: int
    similarity: float


def resolve_near_duplicates(
    pairs: np.ndarray,
    signatures: Mapping[int, np.ndarray],
    *,
    first_new: int,
    min_jaccard: float,
) -> list[NearDuplicate]:
    """Confirm candidate pairs by estimated Jaccard, cluster them (union-find) and name each
    removed new document's survivor: the cluster's first-seen (lowest ordinal) member.

    `signatures` maps every ordinal in `pairs` to its signature; documents with an ordinal
    below `first_new` (earlier runs) are never removed. Sorted by ordinal.

    >>> sigs = {1: np.array([1, 2, 3, 4]), 10: np.array([1, 2, 3, 9]), 11: np.array([5, 6, 7, 8])}
    >>> resolve_near_duplicates(np.array([[1, 10], [10, 11]]), sigs, first_new=10, min_jaccard=0.7)
    [NearDuplicate(ordinal=10, kept=1, similarity=0.75)]
    """
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    if not len(pairs):
        return []
    a = np.stack([signatures[int(x)] for x in pairs[:, 0]])
    c = np.stack([signatures[int(x)] for x in pairs[:, 1]])
    confirmed = pairs[estimate_jaccard(a, c) >= min_jaccard]
    nodes = np.unique(confirmed)  # sorted ordinals: rank order = survivor order
    roots = resolve_clusters(len(nodes), np.searchsorted(nodes, confirmed))
    found = []
    for i, o in enumerate(nodes.tolist()):
        keep = int(nodes[roots[i]])
        if o < first_new or keep == o:
            continue
        simil = float(estimate_jaccard(signatures[o][None], signatures[keep][None])[0])
        found.append(NearDuplicate(o, keep, simil))
    return found


def chain_to_near_survivors(
    found: Sequence[Duplicate], kept: Mapping[str, str]
) -> tuple[list[Duplicate], dict[str, str]]:
    """Point exact copies of a near duplicate, and its content hash, at the near survivor.

    A document removed as an exact copy of X, where X itself is a near duplicate of Y, is
    recorded as a copy of Y (with X's similarity), so `kept_doc_id` always names a document
    that is in `documents`. Returns new values; nothing passed in is changed.

    >>> found = [Duplicate("x", "y", "near", 0.8), Duplicate("x2", "x", "exact", 1.0)]
    >>> chained, kept = chain_to_near_survivors(found, {"h": "x"})
    >>> chained[1], kept
    (Duplicate(doc_id='x2', kept_doc_id='y', kind='exact', similarity=0.8), {'h': 'y'})
    """
    near = {d.doc_id: d for d in found if d.kind == "near"}
    chained = [
        Duplicate(d.doc_id, near[d.kept_doc_id].kept_doc_id, d.kind, near[d.kept_doc_id].similarity)
        if d.kind == "exact" and d.kept_doc_id in near
        else d
        for d in found
    ]
    return chained, {h: near[d].kept_doc_id if d in near else d for h, d in kept.items()}
