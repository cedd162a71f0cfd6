import random

import numpy as np
import pytest

from transforms.dedup import (
    _CHUNK_SHINGLES,
    MINHASH_SEED,
    SIGNATURE_GROUP_CHARS,
    Duplicate,
    NearDuplicate,
    band_candidates,
    band_keys,
    candidate_pairs,
    chain_to_near_survivors,
    content_hash,
    estimate_jaccard,
    find_exact_duplicates,
    minhash_signatures,
    resolve_clusters,
    resolve_near_duplicates,
    run_ordinals,
    shingle_hashes,
    text_signatures,
)
from transforms.dedup import _permutations as permutations


def test_content_hash_ignores_formatting_but_not_words():
    assert content_hash("Hello,  World!\nSecond line.") == content_hash("hello world\nsecond line")
    assert content_hash("Hello world") != content_hash("Hello there")
    assert content_hash("") == "" and content_hash("  \n ") == ""


def test_first_seen_survives_and_empty_content_is_never_a_duplicate():
    docs = [("a", "h1"), ("b", "h2"), ("c", "h1"), ("d", ""), ("e", "")]
    dups, kept = find_exact_duplicates(docs)
    assert [(d.doc_id, d.kept_doc_id, d.kind) for d in dups] == [("c", "a", "exact")]
    assert kept == {"h1": "a", "h2": "b"}


def test_duplicates_of_earlier_runs_point_to_the_old_survivor():
    dups, kept = find_exact_duplicates([("x", "h1")], seen={"h1": "a"})
    assert dups[0].kept_doc_id == "a" and kept == {"h1": "a"}


# --- near duplicates ------------------------------------------------------------------------

_WORDS = [f"w{i}" for i in range(5000)]


def _text(seed: int, n: int = 300) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def _jaccard(a: str, b: str) -> float:
    sa, sb = set(shingle_hashes(a).tolist()), set(shingle_hashes(b).tolist())
    return len(sa & sb) / len(sa | sb)


def test_shingles_use_the_content_normalization_and_word_order():
    assert np.array_equal(
        shingle_hashes("Hello, World! a b c"), shingle_hashes("hello world a b c")
    )
    assert not np.array_equal(shingle_hashes("a b c d e f"), shingle_hashes("f e d c b a"))
    with pytest.raises(ValueError):
        shingle_hashes("x", n=0)


@pytest.mark.parametrize("edit_rate", [0.02, 0.05, 0.1, 0.3])
def test_estimated_jaccard_is_close_to_the_true_jaccard(edit_rate):
    a = _text(1).split()
    rng = random.Random(2)
    b = [rng.choice(_WORDS) if rng.random() < edit_rate else w for w in a]
    sigs = minhash_signatures([shingle_hashes(" ".join(a)), shingle_hashes(" ".join(b))])
    est = float(estimate_jaccard(sigs[:1], sigs[1:])[0])
    # 112 permutations: standard error sqrt(J(1-J)/112) <= 0.047; allow 3 sigma.
    assert abs(est - _jaccard(" ".join(a), " ".join(b))) < 0.15


def test_signatures_are_deterministic_and_independent_of_the_batch():
    docs = [shingle_hashes(_text(i)) for i in range(30)]
    together = minhash_signatures(docs)
    alone = np.concatenate([minhash_signatures([d]) for d in docs])
    assert np.array_equal(together, alone)
    assert np.array_equal(together, minhash_signatures(list(reversed(docs)))[::-1])


def test_near_duplicates_share_a_band_and_unrelated_documents_do_not():
    base = _text(5).split()
    near = base[:]
    near[100] = "changed"  # one word: Jaccard about 0.97
    sigs = minhash_signatures([shingle_hashes(" ".join(t)) for t in (base, near, _text(6).split())])
    keys = band_keys(sigs)
    assert (keys[0] == keys[1]).any()
    assert not (keys[0] == keys[2]).any()


def test_empty_documents_never_share_a_bucket():
    sigs = minhash_signatures([shingle_hashes(""), shingle_hashes("   ")])
    keys = band_keys(sigs)
    assert (keys == 0).all()
    assert len(candidate_pairs(keys[:, 0], np.array([0, 1]))) == 0


@pytest.mark.parametrize("bands, rows", [(14, 8), (20, 5), (1, 1)])
def test_band_keys_follow_the_layout(bands, rows):
    sigs = minhash_signatures([shingle_hashes(_text(1))], num_perm=bands * rows)
    assert band_keys(sigs, bands=bands, rows=rows).shape == (1, bands)
    with pytest.raises(ValueError):
        band_keys(sigs[:, :-1], bands=bands, rows=rows)


def test_candidate_pairs_link_each_bucket_member_to_the_first_and_its_predecessor():
    keys = np.array([5, 5, 5, 5, 8, 8, 9], np.uint64)
    ranks = np.array([40, 10, 30, 20, 1, 2, 3])
    assert candidate_pairs(keys, ranks).tolist() == [
        [1, 2],
        [10, 20],
        [10, 30],
        [10, 40],
        [20, 30],
        [30, 40],
    ]


def test_union_find_keeps_the_first_seen_member_transitively():
    # 4~2, 2~3, 3~1: one cluster whose survivor is 1, whatever the pair order
    pairs = np.array([[2, 4], [2, 3], [1, 3]])
    for perm in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        assert resolve_clusters(6, pairs[perm]).tolist() == [0, 1, 1, 1, 1, 5]


def test_union_find_is_deterministic_under_permutations_of_equal_rank_input():
    rng = random.Random(0)
    pairs = [(rng.randrange(200), rng.randrange(200)) for _ in range(300)]
    pairs = [(min(a, b), max(a, b)) for a, b in pairs if a != b]
    expected = resolve_clusters(200, np.array(pairs))
    for seed in range(3):
        rng.seed(seed)
        shuffled = pairs[:]
        rng.shuffle(shuffled)
        assert np.array_equal(resolve_clusters(200, np.array(shuffled)), expected)
    assert all(expected[i] <= i for i in range(200))


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        minhash_signatures([], num_perm=0)
    with pytest.raises(ValueError):
        estimate_jaccard(np.zeros((1, 4)), np.zeros((1, 5)))


def test_band_candidates_only_pairs_with_a_new_document():
    first = int(run_ordinals(2, np.zeros(1))[0])
    new_o = run_ordinals(2, np.array([0, 1]))
    prior_k, prior_o = np.array([7, 7], np.uint64), np.array([3, 4])  # two earlier docs, one key
    pairs = band_candidates(np.array([7, 8], np.uint64), new_o, prior_k, prior_o, first_new=first)
    assert pairs.tolist() == [[3, int(new_o[0])], [4, int(new_o[0])]]  # never the prior pair 3-4


def _sig(*values):
    return np.array(values, np.uint32)


def test_resolve_near_duplicates_first_seen_survives_and_prior_is_never_removed():
    first = 100
    sigs = {
        5: _sig(1, 2, 3, 4),
        100: _sig(1, 2, 3, 9),
        101: _sig(1, 2, 3, 4),
        102: _sig(7, 7, 7, 7),
    }
    pairs = np.array([[5, 100], [100, 101], [101, 102]])
    got = resolve_near_duplicates(pairs, sigs, first_new=first, min_jaccard=0.75)
    assert got == [NearDuplicate(100, 5, 0.75), NearDuplicate(101, 5, 1.0)]  # 102 not confirmed
    # a chain among new documents only: the lowest ordinal survives, whatever the pair order
    chain = resolve_near_duplicates(np.array([[101, 100]]), sigs, first_new=first, min_jaccard=0.7)
    assert chain == [NearDuplicate(101, 100, 0.75)]
    assert resolve_near_duplicates(np.empty((0, 2)), {}, first_new=first, min_jaccard=0.7) == []


def test_chain_to_near_survivors_points_exact_copies_at_the_near_survivor():
    found = [
        Duplicate("copy", "x", "exact", 1.0),
        Duplicate("other", "z", "exact", 1.0),
        Duplicate("x", "y", "near", 0.8),
    ]
    kept = {"hx": "x", "hz": "z"}
    chained, new_kept = chain_to_near_survivors(found, kept)
    assert chained[0] == Duplicate("copy", "y", "exact", 0.8)
    assert chained[1:] == found[1:]
    assert new_kept == {"hx": "y", "hz": "z"} and kept == {"hx": "x", "hz": "z"}


def test_text_signatures_equal_texts_equal_rows():
    s = text_signatures(["one two three four five six", "one two three four five six", ""])
    assert s.shape == (3, 112) and (s[0] == s[1]).all() and (s[2] == 0xFFFFFFFF).all()


@pytest.mark.parametrize("n", [1, 3, 5])
def test_text_signatures_of_a_batch_are_each_text_on_its_own(n):
    # shingles of a group of texts are made in one pass and hashed in chunks of whole
    # documents (> _CHUNK_SHINGLES here), groups of > SIGNATURE_GROUP_CHARS (here two):
    # texts shorter than n, empty ones and repeats included
    texts = [_text(i, 700) for i in range(70)] + ["", "a b", "x\ny\n\nz!", "a a a a a a a a a"]
    texts += ["   ", _text(3)]
    assert sum(len(t.split()) for t in texts) > 2 * _CHUNK_SHINGLES
    assert 2 * SIGNATURE_GROUP_CHARS > sum(map(len, texts)) > SIGNATURE_GROUP_CHARS
    got = text_signatures(texts, shingle_words=n)
    alone = np.concatenate([minhash_signatures([shingle_hashes(t, n=n)]) for t in texts])
    assert np.array_equal(got, alone)


@pytest.mark.parametrize(
    "sizes",
    [
        [5, _CHUNK_SHINGLES + 3, 0, 2 * _CHUNK_SHINGLES, 7, 1],  # across chunk boundaries
        [3 * _CHUNK_SHINGLES + 1],  # one document larger than the chunk buffer
        [_CHUNK_SHINGLES - 1, 1, 1],  # a document that ends exactly at the boundary
    ],
    ids=["spanning", "one-large", "boundary"],
)
def test_minhash_is_the_minimum_over_every_shingle_of_a_document(sizes):
    rng = np.random.default_rng(7)
    shingles = [rng.integers(0, 2**63, k, dtype=np.uint64) for k in sizes]
    got = minhash_signatures(shingles, num_perm=8)
    a, b = permutations(8, MINHASH_SEED)
    for row, sh in zip(got, shingles, strict=True):
        if len(sh) == 0:
            assert (row == 0xFFFFFFFF).all()
            continue
        with np.errstate(over="ignore"):
            want = ((a * sh[None, :] + b) >> np.uint64(32)).min(axis=1)
        assert np.array_equal(row, want.astype(np.uint32))
