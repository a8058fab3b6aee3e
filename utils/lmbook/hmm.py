"""Hidden Markov models: likelihood, decoding and learning in log space, and a
supervised part-of-speech tagger.

An HMM with ``S`` states and ``V`` symbols is three arrays (Rabiner, 1989):

* ``startprob`` ``pi`` of shape ``(S,)``: ``pi[i] = P(z_1 = i)``;
* ``transmat`` ``A`` of shape ``(S, S)``: ``A[i, j] = P(z_t = j | z_{t-1} = i)``;
* ``emissionprob`` ``B`` of shape ``(S, V)``: ``B[i, k] = P(x_t = k | z_t = i)``.

Every algorithm works on log probabilities and is vectorised over states, so sequences
of any length neither underflow nor need Python loops over states. The ``*_log``
functions take the log start vector ``(S,)``, the log transition matrix ``(S, S)`` and a
log *emission score* matrix ``(T, S)`` (row ``t`` scores the observation at time ``t``
under every state); the tagger uses them directly because its emission scores come from
an unknown-word model rather than from a fixed table.

Ties in :func:`viterbi` are broken towards the lowest state index (``numpy.argmax``).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

__all__ = [
    "HMM",
    "forward_log",
    "backward_log",
    "viterbi_trellis",
    "viterbi_log",
    "viterbi_batch",
    "backtrace",
    "forward",
    "backward",
    "log_likelihood",
    "viterbi",
    "forward_backward",
    "baum_welch",
    "BaumWelchResult",
    "brute_force_log_likelihood",
    "exhaustive_viterbi",
    "word_shape",
    "HMMTagger",
    "MostFrequentTagger",
    "tagging_accuracy",
]

PROB_ATOL = 1e-6


# ---------------------------------------------------------------------------- the model
def _as_real_array(name: str, value, ndim: int) -> np.ndarray:
    """``value`` as a float64 array of ``ndim`` dimensions, or a TypeError/ValueError
    naming ``name``.
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of real numbers") from error
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}")
    return array


def _as_prob_array(name: str, value, ndim: int) -> np.ndarray:
    array = _as_real_array(name, value, ndim)
    if array.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite numbers")
    if np.any(array < 0):
        raise ValueError(f"{name} must hold probabilities >= 0")
    sums = array.sum(axis=-1)
    if not np.allclose(sums, 1.0, atol=PROB_ATOL, rtol=0):
        worst = float(np.max(np.abs(sums - 1.0)))
        raise ValueError(
            f"every row of {name} must sum to 1 (largest deviation {worst:.3g})"
        )
    return array


@dataclass(frozen=True)
class HMM:
    """A discrete HMM: ``startprob`` ``(S,)``, ``transmat`` ``(S, S)``, ``emissionprob``
    ``(S, V)``.

    The constructor checks shapes and that every distribution sums to 1 (``ValueError``
    otherwise).
    """

    startprob: np.ndarray
    transmat: np.ndarray
    emissionprob: np.ndarray
    log_startprob: np.ndarray = field(init=False, repr=False, compare=False)
    log_transmat: np.ndarray = field(init=False, repr=False, compare=False)
    log_emissionprob: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pi = _as_prob_array("startprob", self.startprob, 1)
        a = _as_prob_array("transmat", self.transmat, 2)
        b = _as_prob_array("emissionprob", self.emissionprob, 2)
        n = pi.shape[0]
        if a.shape != (n, n):
            raise ValueError(
                f"transmat must have shape ({n}, {n}) to match startprob, got {a.shape}"
            )
        if b.shape[0] != n:
            raise ValueError(
                f"emissionprob must have {n} rows (one per state), got {b.shape[0]}"
            )
        with np.errstate(divide="ignore"):
            for name, array in (
                ("startprob", pi),
                ("transmat", a),
                ("emissionprob", b),
            ):
                array.setflags(write=False)
                object.__setattr__(self, name, array)
                log = np.log(array)
                log.setflags(write=False)
                object.__setattr__(self, "log_" + name, log)

    @property
    def n_states(self) -> int:
        return self.startprob.shape[0]

    @property
    def n_symbols(self) -> int:
        return self.emissionprob.shape[1]

    @classmethod
    def random(
        cls,
        n_states: int,
        n_symbols: int,
        rng: np.random.Generator | int | None = None,
        concentration: float = 1.0,
    ) -> HMM:
        """A random HMM whose distributions are drawn from a symmetric
        Dirichlet(``concentration``).
        """
        for name, value in (("n_states", n_states), ("n_symbols", n_symbols)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if not concentration > 0:
            raise ValueError(f"concentration must be > 0, got {concentration}")
        rng = np.random.default_rng(rng)
        return cls(
            rng.dirichlet(np.full(n_states, concentration)),
            rng.dirichlet(np.full(n_states, concentration), size=n_states),
            rng.dirichlet(np.full(n_symbols, concentration), size=n_states),
        )

    def sample(
        self, length: int, rng: np.random.Generator | int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``(states, symbols)``, two int arrays of shape ``(length,)``."""
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)):
            raise TypeError(f"length must be an int, got {type(length).__name__}")
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        rng = np.random.default_rng(rng)
        trans_cdf, emit_cdf = (
            np.cumsum(self.transmat, axis=1),
            np.cumsum(self.emissionprob, axis=1),
        )
        u_state, u_symbol = rng.random(length), rng.random(length)
        states = np.empty(length, dtype=np.int64)
        state = min(
            int(np.searchsorted(np.cumsum(self.startprob), u_state[0], side="right")),
            self.n_states - 1,
        )
        for t in range(length):
            if t:
                state = min(
                    int(np.searchsorted(trans_cdf[state], u_state[t], side="right")),
                    self.n_states - 1,
                )
            states[t] = state
        symbols = (u_symbol[:, None] >= emit_cdf[states]).sum(axis=1)
        return states, np.minimum(symbols, self.n_symbols - 1)

    def emission_scores(self, obs) -> np.ndarray:
        """Log emission matrix ``(T, S)`` of the symbol ids ``obs``: ``log B[:,
        obs].T``.
        """
        return self.log_emissionprob[:, _check_obs(obs, self.n_symbols)].T


def _check_obs(obs, n_symbols: int) -> np.ndarray:
    if isinstance(obs, (str, bytes)):
        raise TypeError("obs must be a sequence of integer symbol ids, not a string")
    array = np.asarray(obs)
    if array.ndim != 1:
        raise ValueError(
            f"obs must be a 1-D sequence of symbol ids, got shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError(
            "obs must not be empty: an HMM scores sequences of length >= 1"
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"obs must hold integer symbol ids, got dtype {array.dtype}")
    bad = array[(array < 0) | (array >= n_symbols)]
    if bad.size:
        raise ValueError(
            f"obs holds symbol id {int(bad[0])}, outside 0..{n_symbols - 1}"
        )
    return array.astype(np.int64)


def _check_hmm(hmm, name: str = "hmm") -> HMM:
    if not isinstance(hmm, HMM):
        raise TypeError(f"{name} must be an HMM, got {type(hmm).__name__}")
    return hmm


def _check_log_emit(log_emit, n_states: int) -> np.ndarray:
    try:
        emit = np.asarray(log_emit, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError("log_emit must be an array of real numbers") from error
    if emit.ndim != 2 or emit.shape[0] == 0 or emit.shape[1] != n_states:
        raise ValueError(
            f"log_emit must have shape (T >= 1, {n_states}), got {emit.shape}"
        )
    if np.isnan(emit).any() or (emit == np.inf).any():
        raise ValueError("log_emit must hold log probabilities (no NaN or +inf)")
    return emit


def _check_log_inputs(
    log_start, log_trans, log_emit
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arrays = []
    for name, value, ndim in (
        ("log_start", log_start, 1),
        ("log_trans", log_trans, 2),
        ("log_emit", log_emit, 2),
    ):
        array = _as_real_array(name, value, ndim)
        if np.any(np.isnan(array)) or np.any(array == np.inf):
            raise ValueError(f"{name} must hold log probabilities (no NaN or +inf)")
        arrays.append(array)
    start, trans, emit = arrays
    n = start.shape[0]
    if n == 0:
        raise ValueError("log_start must not be empty")
    if trans.shape != (n, n):
        raise ValueError(f"log_trans must have shape ({n}, {n}), got {trans.shape}")
    if emit.shape[0] == 0:
        raise ValueError(
            "log_emit must have at least one row: sequences must not be empty"
        )
    if emit.shape[1] != n:
        raise ValueError(
            f"log_emit must have {n} columns (one per state), got {emit.shape[1]}"
        )
    return start, trans, emit


# ----------------------------------------------------------------- log-space algorithms
def forward_log(log_start, log_trans, log_emit) -> tuple[np.ndarray, float]:
    """Forward algorithm in log space: ``log_alpha`` ``(T, S)`` and the log-likelihood
    ``log P(x_1..x_T)``.

    ``log_alpha[t, j] = log P(x_1..x_t, z_t = j)``, computed as
    ``log_alpha[t] = logsumexp_i(log_alpha[t-1, i] + log_trans[i, :]) + log_emit[t]``.
    """
    log_start, log_trans, log_emit = _check_log_inputs(log_start, log_trans, log_emit)
    n_steps = log_emit.shape[0]
    trans = np.exp(log_trans)
    log_alpha = np.empty_like(log_emit)
    log_alpha[0] = log_start + log_emit[0]
    with np.errstate(divide="ignore"):
        for t in range(1, n_steps):
            log_alpha[t] = _log_matvec(log_alpha[t - 1], trans) + log_emit[t]
    return log_alpha, float(logsumexp(log_alpha[-1]))


def _log_matvec(log_v: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``log(exp(log_v) @ matrix)`` without underflow: shift by the maximum first (the
    log-sum-exp trick).

    Equal to ``logsumexp(log_v[:, None] + log(matrix), axis=0)`` but one matrix-vector
    product fast."""
    shift = log_v.max()
    if shift == -np.inf:  # every path has probability 0
        return np.full(matrix.shape[1], -np.inf)
    return np.log(np.exp(log_v - shift) @ matrix) + shift


def backward_log(log_start, log_trans, log_emit) -> np.ndarray:
    """Backward algorithm in log space: ``log_beta`` ``(T, S)`` with ``log_beta[t, i] =
    log P(x_{t+1}..x_T | z_t = i)``.
    """
    log_start, log_trans, log_emit = _check_log_inputs(log_start, log_trans, log_emit)
    n_steps = log_emit.shape[0]
    trans_t = np.exp(log_trans).T
    log_beta = np.zeros_like(log_emit)
    with np.errstate(divide="ignore"):
        for t in range(n_steps - 2, -1, -1):
            log_beta[t] = _log_matvec(log_emit[t + 1] + log_beta[t + 1], trans_t)
    return log_beta


def viterbi_trellis(log_start, log_trans, log_emit) -> tuple[np.ndarray, np.ndarray]:
    """The Viterbi trellis: ``delta`` ``(T, S)`` (log probability of the best path
    ending in each state) and ``backpointers`` ``(T, S)`` (its previous state; ``-1`` at
    ``t = 0``)."""
    log_start, log_trans, log_emit = _check_log_inputs(log_start, log_trans, log_emit)
    n_steps, n_states = log_emit.shape
    delta = np.empty_like(log_emit)
    backpointers = np.full((n_steps, n_states), -1, dtype=np.int64)
    delta[0] = log_start + log_emit[0]
    rows = np.arange(n_states)
    log_trans_t = np.ascontiguousarray(
        log_trans.T
    )  # row j holds the log probabilities of arriving in j
    for t in range(1, n_steps):
        scores = log_trans_t + delta[t - 1]  # scores[j, i]: best path to i, then i -> j
        best = scores.argmax(axis=1)
        backpointers[t] = best
        delta[t] = scores[rows, best] + log_emit[t]
    return delta, backpointers


def backtrace(delta, backpointers) -> np.ndarray:
    """Follow the backpointers from the best final state of a (possibly partial)
    trellis: the best path ``(T,)``.
    """
    delta, backpointers = np.asarray(delta), np.asarray(backpointers)
    if delta.ndim != 2 or delta.shape != backpointers.shape or delta.shape[0] == 0:
        raise ValueError(
            f"delta and backpointers must have the same non-empty (T, S) shape, "
            f"got {delta.shape} and {backpointers.shape}"
        )
    n_steps = delta.shape[0]
    path = np.empty(n_steps, dtype=np.int64)
    path[-1] = int(np.argmax(delta[-1]))
    for t in range(n_steps - 1, 0, -1):
        path[t - 1] = backpointers[t, path[t]]
    return path


def viterbi_log(log_start, log_trans, log_emit) -> tuple[np.ndarray, float]:
    """Most probable state sequence ``(T,)`` and its joint log probability ``log P(x,
    z*)``.
    """
    delta, backpointers = viterbi_trellis(log_start, log_trans, log_emit)
    path = backtrace(delta, backpointers)
    return path, float(delta[-1, path[-1]])


def viterbi_batch(
    log_start, log_trans, log_emits, batch_size: int = 64
) -> list[tuple[np.ndarray, float]]:
    """:func:`viterbi_log` for many sequences at once: ``log_emits`` is a list of
    ``(T_n, S)`` score matrices.

    The sequences are sorted by length and decoded together, vectorised over sequences
    *and* states, so the Python loop runs once per time step of the longest sequence in
    each batch of ``batch_size``; the paths (ties included) equal those of
    :func:`viterbi_log`. Returns ``(path, log_prob)`` per sequence, in order.
    """
    if isinstance(log_emits, np.ndarray) or not isinstance(log_emits, Sequence):
        raise TypeError("log_emits must be a list of (T, S) emission score matrices")
    if not log_emits:
        raise ValueError("log_emits must hold at least one sequence")
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    log_start, log_trans, first = _check_log_inputs(log_start, log_trans, log_emits[0])
    n_states = log_start.shape[0]
    emits = [first] + [_check_log_emit(e, n_states) for e in log_emits[1:]]
    lengths = np.array([e.shape[0] for e in emits])
    order = np.argsort(
        -lengths, kind="stable"
    )  # longest first: the active sequences are always a prefix
    log_trans_t = np.ascontiguousarray(log_trans.T)
    results: list[tuple[np.ndarray, float] | None] = [None] * len(emits)
    for first in range(0, len(order), batch_size):
        chosen = order[first : first + batch_size]
        n_steps = int(lengths[chosen[0]])
        padded = np.zeros((len(chosen), n_steps, n_states))
        for row, k in enumerate(chosen):
            padded[row, : lengths[k]] = emits[k]
        active = [int(np.sum(lengths[chosen] > t)) for t in range(n_steps)]
        delta = np.empty_like(padded)
        backpointers = np.full(padded.shape, -1, dtype=np.int64)
        delta[:, 0] = log_start + padded[:, 0]
        for t in range(1, n_steps):
            n = active[t]
            scores = (
                log_trans_t[None, :, :] + delta[:n, t - 1, None, :]
            )  # scores[b, j, i]: i -> j
            best = scores.argmax(axis=2)
            backpointers[:n, t] = best
            delta[:n, t] = (
                np.take_along_axis(scores, best[:, :, None], axis=2)[:, :, 0]
                + padded[:n, t]
            )
        # Backtrace all sequences together: a sequence joins when t reaches its last
        # step.
        rows = np.arange(len(chosen))
        ends = lengths[chosen] - 1
        paths = np.zeros((len(chosen), n_steps), dtype=np.int64)
        for t in range(n_steps - 1, -1, -1):
            n = active[t]
            starting = rows[:n][ends[:n] == t]
            paths[starting, t] = delta[starting, t].argmax(axis=1)
            if t:
                paths[:n, t - 1] = backpointers[rows[:n], t, paths[:n, t]]
        for row, k in enumerate(chosen):
            path = paths[row, : lengths[k]].copy()
            results[k] = (path, float(delta[row, ends[row], path[-1]]))
    return results  # type: ignore[return-value]


# ------------------------------------------------------------------------- HMM wrappers
def forward(hmm: HMM, obs) -> tuple[np.ndarray, float]:
    """``(log_alpha, log_likelihood)`` of the symbol ids ``obs`` (see
    :func:`forward_log`).
    """
    hmm = _check_hmm(hmm)
    return forward_log(hmm.log_startprob, hmm.log_transmat, hmm.emission_scores(obs))


def backward(hmm: HMM, obs) -> np.ndarray:
    """``log_beta`` ``(T, S)`` of the symbol ids ``obs`` (see :func:`backward_log`)."""
    hmm = _check_hmm(hmm)
    return backward_log(hmm.log_startprob, hmm.log_transmat, hmm.emission_scores(obs))


def log_likelihood(hmm: HMM, obs) -> float:
    """``log P(obs)`` by the forward algorithm (natural log)."""
    return forward(hmm, obs)[1]


def viterbi(hmm: HMM, obs) -> tuple[np.ndarray, float]:
    """``(path, log_prob)``: the most probable state sequence for ``obs`` and ``log
    P(obs, path)``.
    """
    hmm = _check_hmm(hmm)
    return viterbi_log(hmm.log_startprob, hmm.log_transmat, hmm.emission_scores(obs))


def forward_backward(hmm: HMM, obs) -> tuple[np.ndarray, np.ndarray, float]:
    """State posteriors by forward-backward: ``gamma`` ``(T, S)`` with ``gamma[t, i] =
    P(z_t = i | x)``,
    ``xi`` ``(T-1, S, S)`` with ``xi[t, i, j] = P(z_t = i, z_{t+1} = j | x)``, and the
    log-likelihood.
    """
    hmm = _check_hmm(hmm)
    log_emit = hmm.emission_scores(obs)
    log_alpha, loglik = forward_log(hmm.log_startprob, hmm.log_transmat, log_emit)
    log_beta = backward_log(hmm.log_startprob, hmm.log_transmat, log_emit)
    gamma = np.exp(log_alpha + log_beta - loglik)
    log_xi = (
        log_alpha[:-1, :, None]
        + hmm.log_transmat[None, :, :]
        + (log_emit[1:] + log_beta[1:])[:, None, :]
        - loglik
    )
    return gamma, np.exp(log_xi), loglik


# --------------------------------------------------------------------------- Baum-Welch
@dataclass(frozen=True)
class BaumWelchResult:
    """The fitted ``hmm`` and the total log-likelihood of the data *before* each update
    and after the last.
    """

    hmm: HMM
    log_likelihoods: list[float]

    @property
    def n_iter(self) -> int:
        return len(self.log_likelihoods) - 1


def _check_sequences(sequences, n_symbols: int) -> list[np.ndarray]:
    if isinstance(sequences, np.ndarray) and sequences.ndim == 1:
        sequences = [sequences]
    if isinstance(sequences, (str, bytes)) or not isinstance(sequences, Iterable):
        raise TypeError("sequences must be a list of symbol-id sequences")
    checked = [_check_obs(seq, n_symbols) for seq in sequences]
    if not checked:
        raise ValueError("sequences must hold at least one sequence")
    return checked


def baum_welch(
    sequences, init: HMM, *, n_iter: int = 100, tol: float = 1e-6
) -> BaumWelchResult:
    """Fit an HMM to unlabelled symbol-id ``sequences`` by expectation-maximisation,
    starting from ``init``.

    Each iteration runs forward-backward on every sequence (E-step) and sets the
    parameters to the normalised expected counts (M-step), which never lowers the
    likelihood (Baum et al., 1970). Stops after ``n_iter`` updates or when the
    log-likelihood rises by less than ``tol``. A state that receives no expected count
    keeps its previous distribution.
    """
    init = _check_hmm(init, "init")
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)):
        raise TypeError(f"n_iter must be an int, got {type(n_iter).__name__}")
    if n_iter < 0:
        raise ValueError(f"n_iter must be >= 0, got {n_iter}")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    seqs = _check_sequences(sequences, init.n_symbols)
    hmm = init
    history: list[float] = []
    for iteration in range(n_iter + 1):
        start = np.zeros(hmm.n_states)
        trans = np.zeros((hmm.n_states, hmm.n_states))
        emit = np.zeros((hmm.n_states, hmm.n_symbols))
        total = 0.0
        for seq in seqs:
            gamma, xi, loglik = forward_backward(hmm, seq)
            total += loglik
            start += gamma[0]
            trans += xi.sum(axis=0)
            np.add.at(
                emit.T, seq, gamma
            )  # emit[:, k] += sum of gamma[t] over t with x_t = k
        history.append(total)
        if iteration == n_iter or (iteration and history[-1] - history[-2] < tol):
            break
        hmm = HMM(
            start / start.sum(),
            _normalise_rows(trans, hmm.transmat),
            _normalise_rows(emit, hmm.emissionprob),
        )
    return BaumWelchResult(hmm, history)


def _normalise_rows(counts: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    sums = counts.sum(axis=1, keepdims=True)
    return np.where(sums > 0, counts / np.where(sums > 0, sums, 1.0), fallback)


# --------------------------------------------------------------- brute force (teaching)
def _paths(
    hmm: HMM, obs, max_paths: int
) -> tuple[np.ndarray, Iterable[tuple[int, ...]]]:
    obs = _check_obs(obs, hmm.n_symbols)
    if hmm.n_states ** len(obs) > max_paths:
        raise ValueError(
            f"{hmm.n_states}**{len(obs)} state sequences exceed max_paths={max_paths}"
        )
    return obs, itertools.product(range(hmm.n_states), repeat=len(obs))


def _path_log_prob(hmm: HMM, obs: np.ndarray, path: Sequence[int]) -> float:
    score = hmm.log_startprob[path[0]] + hmm.log_emissionprob[path[0], obs[0]]
    for t in range(1, len(obs)):
        score += (
            hmm.log_transmat[path[t - 1], path[t]]
            + hmm.log_emissionprob[path[t], obs[t]]
        )
    return float(score)


def brute_force_log_likelihood(hmm: HMM, obs, max_paths: int = 2_000_000) -> float:
    """``log P(obs)`` by summing over all ``S**T`` state sequences (exponential time;
    for teaching and tests).
    """
    hmm = _check_hmm(hmm)
    obs, paths = _paths(hmm, obs, max_paths)
    return float(logsumexp([_path_log_prob(hmm, obs, path) for path in paths]))


def exhaustive_viterbi(
    hmm: HMM, obs, max_paths: int = 2_000_000
) -> tuple[np.ndarray, float]:
    """The best state sequence by trying all ``S**T`` of them (exponential time; for
    teaching and tests).
    """
    hmm = _check_hmm(hmm)
    obs, paths = _paths(hmm, obs, max_paths)
    best_path, best = None, -np.inf
    for path in paths:
        score = _path_log_prob(hmm, obs, path)
        if best_path is None or score > best:
            best_path, best = path, score
    return np.array(best_path, dtype=np.int64), best


# --------------------------------------------------------------- part-of-speech tagging
def word_shape(word: str) -> str:
    """Coarse shape class of a word for the unknown-word model: ``digit``, ``hyphen``,
    ``cap`` or ``lower``.
    """
    if not isinstance(word, str):
        raise TypeError(f"word must be a string, got {type(word).__name__}")
    if not word:
        raise ValueError("word must not be empty")
    if any(ch.isdigit() for ch in word):
        return "digit"
    if "-" in word:
        return "hyphen"
    if word[0].isupper():
        return "cap"
    return "lower"


def _check_tagged(
    tagged_sents, name: str = "tagged_sents"
) -> list[list[tuple[str, str]]]:
    if isinstance(tagged_sents, (str, bytes)) or not isinstance(tagged_sents, Iterable):
        raise TypeError(f"{name} must be a list of sentences of (word, tag) pairs")
    sents = [list(s) for s in tagged_sents]
    if not sents:
        raise ValueError(f"{name} must hold at least one sentence")
    for sent in sents:
        if not sent:
            raise ValueError(f"{name} holds an empty sentence")
        for pair in sent:
            if (
                not isinstance(pair, tuple)
                or len(pair) != 2
                or not isinstance(pair[0], str)
                or not isinstance(pair[1], str)
                or not pair[0]
            ):
                raise TypeError(
                    f"{name} must hold (word, tag) pairs of non-empty strings, got "
                    f"{pair!r}"
                )
    return sents


def _check_words(words) -> list[str]:
    if isinstance(words, (str, bytes)) or not isinstance(words, Iterable):
        raise TypeError("words must be a list of word strings")
    words = list(words)
    if not words:
        raise ValueError("words must not be empty")
    for word in words:
        if not isinstance(word, str) or not word:
            raise TypeError(f"words must hold non-empty strings, got {word!r}")
    return words


class HMMTagger:
    """A first-order HMM part-of-speech tagger in the spirit of TnT (Brants, 2000).

    * Transitions: ``P(t_i | t_{i-1})`` linearly interpolated with ``P(t_i)``; the
      weights come from deleted interpolation on the training data. The first tag uses
      an add-``alpha`` start distribution.
    * Known words: ``P(w | t) = c(w, t) / c(t)`` (maximum likelihood).
    * Unknown words: ``P(t | suffix)`` by successive abstraction over suffixes of up to
      ``max_suffix`` characters, estimated from rare training words (count <=
      ``rare_max``), separately for each :func:`word_shape` class, each longer suffix's
      estimate smoothed towards the shorter one's with weight ``theta`` (default: TnT's
      choice, the standard deviation of the tag probabilities). The emission score is
      ``P(t | suffix, shape) / P(t)``: Bayes' rule without the factor ``P(w)``, which is
      the same for every tag and so cannot change the best path.
    """

    def __init__(
        self,
        *,
        max_suffix: int = 10,
        rare_max: int = 10,
        theta: float | None = None,
        alpha: float = 0.5,
    ) -> None:
        if (
            isinstance(max_suffix, bool)
            or not isinstance(max_suffix, int)
            or max_suffix < 0
        ):
            raise ValueError(f"max_suffix must be an int >= 0, got {max_suffix!r}")
        if isinstance(rare_max, bool) or not isinstance(rare_max, int) or rare_max < 1:
            raise ValueError(f"rare_max must be an int >= 1, got {rare_max!r}")
        if theta is not None and (
            isinstance(theta, bool)
            or not isinstance(theta, (int, float))
            or not theta > 0
        ):
            raise ValueError(f"theta must be a number > 0 or None, got {theta!r}")
        if (
            isinstance(alpha, bool)
            or not isinstance(alpha, (int, float))
            or not alpha > 0
        ):
            raise ValueError(f"alpha must be a number > 0, got {alpha!r}")
        self.max_suffix, self.rare_max, self.theta_arg, self.alpha = (
            max_suffix,
            rare_max,
            theta,
            alpha,
        )
        self.tags: list[str] = []

    # ------------------------------------------------------------------------- training
    def fit(self, tagged_sents) -> HMMTagger:
        """Estimate every probability from gold sentences of ``(word, tag)`` pairs;
        returns ``self``.
        """
        sents = _check_tagged(tagged_sents)
        tag_counts = Counter(tag for sent in sents for _, tag in sent)
        self.tags = sorted(tag_counts)
        self.tag_index = {tag: i for i, tag in enumerate(self.tags)}
        n_tags = len(self.tags)
        ids = [np.array([self.tag_index[tag] for _, tag in sent]) for sent in sents]

        unigram = np.array([tag_counts[tag] for tag in self.tags], dtype=np.float64)
        bigram = np.zeros((n_tags, n_tags))
        first = np.zeros(n_tags)
        for seq in ids:
            first[seq[0]] += 1
            np.add.at(bigram, (seq[:-1], seq[1:]), 1)
        self.lambdas = self._deleted_interpolation(unigram, bigram)
        self.tag_prior = unigram / unigram.sum()
        rows = bigram.sum(axis=1, keepdims=True)
        p_bigram = np.divide(bigram, rows, out=np.zeros_like(bigram), where=rows > 0)
        transmat = (
            self.lambdas[0] * self.tag_prior[None, :] + self.lambdas[1] * p_bigram
        )
        startprob = (first + self.alpha) / (first.sum() + self.alpha * n_tags)
        self.startprob, self.transmat = (
            startprob,
            transmat / transmat.sum(axis=1, keepdims=True),
        )
        with np.errstate(divide="ignore"):
            self.log_startprob, self.log_transmat = (
                np.log(self.startprob),
                np.log(self.transmat),
            )

        word_tag: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n_tags))
        for sent in sents:
            for word, tag in sent:
                word_tag[word][self.tag_index[tag]] += 1
        self.word_tag_counts = dict(word_tag)
        with np.errstate(divide="ignore"):
            self.known_log_emission = {
                w: np.log(c / unigram) for w, c in self.word_tag_counts.items()
            }
        self._fit_suffixes()
        self._unknown_cache: dict[
            str, np.ndarray
        ] = {}  # emission rows of unknown words already scored
        return self

    def _deleted_interpolation(
        self, unigram: np.ndarray, bigram: np.ndarray
    ) -> np.ndarray:
        """Weights ``(lambda_unigram, lambda_bigram)`` by deleted interpolation (Brants,
        2000, Fig. 1).
        """
        votes = np.zeros(2)
        n = unigram.sum()
        rows = bigram.sum(axis=1)
        for prev, nxt in zip(*np.nonzero(bigram)):
            count = bigram[prev, nxt]
            uni = (unigram[nxt] - 1) / (n - 1) if n > 1 else 0.0
            bi = (count - 1) / (rows[prev] - 1) if rows[prev] > 1 else 0.0
            votes[int(bi > uni)] += count
        return votes / votes.sum()

    def _fit_suffixes(self) -> None:
        n_tags = len(self.tags)
        self.suffix_counts: dict[str, dict[str, np.ndarray]] = {}
        self.shape_prior: dict[str, np.ndarray] = {}
        if (
            self.theta_arg is None
        ):  # Brants (2000): theta = standard deviation of the ML tag probabilities
            self.theta = float(
                np.sqrt(np.sum((self.tag_prior - 1 / n_tags) ** 2) / max(n_tags - 1, 1))
            )
        else:
            self.theta = float(self.theta_arg)
        overall = np.zeros(n_tags)
        for _word, counts in self.word_tag_counts.items():
            if counts.sum() <= self.rare_max:
                overall += counts
        for shape in ("digit", "hyphen", "cap", "lower"):
            table: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n_tags))
            prior = np.zeros(n_tags)
            for word, counts in self.word_tag_counts.items():
                if counts.sum() > self.rare_max or word_shape(word) != shape:
                    continue
                prior += counts
                for length in range(1, min(self.max_suffix, len(word)) + 1):
                    table[word[-length:]] += counts
            # A shape class never seen among rare words falls back to all rare words.
            prior = prior if prior.sum() > 0 else overall
            p = prior / prior.sum()
            self.shape_prior[shape] = p
            self.suffix_counts[shape] = dict(table)

    def unknown_tag_probs(self, word: str) -> np.ndarray:
        """``P(t | suffix, shape)`` ``(n_tags,)`` for a word, by successive abstraction
        over its suffixes.
        """
        shape = word_shape(word)
        p = self.shape_prior[shape].copy()
        theta = self.theta or 1e-3  # a single-tag corpus has theta 0
        table = self.suffix_counts[shape]
        for length in range(1, min(self.max_suffix, len(word)) + 1):
            counts = table.get(word[-length:])
            if counts is None:
                break
            p = (counts / counts.sum() + theta * p) / (1 + theta)
        return p

    # ------------------------------------------------------------------------- decoding
    def _check_fitted(self) -> None:
        if not self.tags:
            raise RuntimeError(
                "the tagger is not fitted yet: call fit(tagged_sents) first"
            )

    def is_known(self, word: str) -> bool:
        """Whether ``word`` occurred in the training data."""
        self._check_fitted()
        return word in self.known_log_emission

    def emission_scores(self, words) -> np.ndarray:
        """Log emission scores ``(T, n_tags)`` of a sentence (known words: ``log
        P(w|t)``; unknown: see class).
        """
        self._check_fitted()
        words = _check_words(words)
        scores = np.empty((len(words), len(self.tags)))
        for t, word in enumerate(words):
            row = self.known_log_emission.get(word)
            if row is None:
                row = self._unknown_cache.get(word)
            if row is None:
                with np.errstate(divide="ignore"):
                    row = self._unknown_cache[word] = np.log(
                        self.unknown_tag_probs(word) / self.tag_prior
                    )
            scores[t] = row
        return scores

    def tag(self, words) -> list[str]:
        """The Viterbi tag sequence of a sentence (a list of word strings)."""
        scores = self.emission_scores(words)
        path, _ = viterbi_log(self.log_startprob, self.log_transmat, scores)
        return [self.tags[i] for i in path]

    def tag_sents(self, sentences) -> list[list[str]]:
        """Tag many sentences (each a list of words), decoded together by
        :func:`viterbi_batch`.
        """
        if isinstance(sentences, (str, bytes)) or not isinstance(sentences, Iterable):
            raise TypeError(
                "sentences must be a list of sentences, each a list of words"
            )
        scores = [self.emission_scores(words) for words in sentences]
        if not scores:
            return []
        decoded = viterbi_batch(self.log_startprob, self.log_transmat, scores)
        return [[self.tags[i] for i in path] for path, _ in decoded]


class MostFrequentTagger:
    """Baseline: each known word gets its most frequent training tag; unknown words get
    the most frequent tag
    among words of their :func:`word_shape` seen once in training (ties broken
    alphabetically).
    """

    def fit(self, tagged_sents) -> MostFrequentTagger:
        sents = _check_tagged(tagged_sents)
        counts: dict[str, Counter] = defaultdict(Counter)
        for sent in sents:
            for word, tag in sent:
                counts[word][tag] += 1
        self.best = {
            w: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            for w, c in counts.items()
        }
        by_shape: dict[str, Counter] = defaultdict(Counter)
        for word, c in counts.items():
            if sum(c.values()) == 1:
                by_shape[word_shape(word)].update(c)
        everything = Counter(tag for sent in sents for _, tag in sent)
        self.shape_default = {
            s: min((by_shape[s] or everything).items(), key=lambda kv: (-kv[1], kv[0]))[
                0
            ]
            for s in ("digit", "hyphen", "cap", "lower")
        }
        return self

    def tag(self, words) -> list[str]:
        if not hasattr(self, "best"):
            raise RuntimeError(
                "the tagger is not fitted yet: call fit(tagged_sents) first"
            )
        return [
            self.best.get(w) or self.shape_default[word_shape(w)]
            for w in _check_words(words)
        ]

    def tag_sents(self, sentences) -> list[list[str]]:
        return [self.tag(words) for words in sentences]


def tagging_accuracy(
    tagger, tagged_sents, known_words: set[str] | None = None
) -> dict[str, float]:
    """Token accuracy of ``tagger`` (anything with ``tag(words)``) on gold
    ``tagged_sents``: ``overall``,
    ``known`` and ``unknown`` (words in / not in ``known_words``), with token counts
    ``n_known``/``n_unknown``.
    """
    if not callable(getattr(tagger, "tag", None)):
        raise TypeError("tagger must have a tag(words) method")
    sents = _check_tagged(tagged_sents)
    if known_words is not None and not isinstance(known_words, (set, frozenset, dict)):
        raise TypeError("known_words must be a set of words or None")
    hits = Counter()
    totals = Counter()
    for sent in sents:
        words = [w for w, _ in sent]
        predicted = tagger.tag(words)
        for (word, gold), guess in zip(sent, predicted):
            kind = "known" if known_words is None or word in known_words else "unknown"
            totals[kind] += 1
            hits[kind] += guess == gold
    n = totals["known"] + totals["unknown"]
    result = {"overall": (hits["known"] + hits["unknown"]) / n}
    for kind in ("known", "unknown"):
        result[kind] = hits[kind] / totals[kind] if totals[kind] else math.nan
        result[f"n_{kind}"] = totals[kind]
    return result
