"""lmbook.labs.check_own_code and forbid_calls: the hidden-test helpers that refuse
borrowed answers (imported solutions, calls of what a lab forbids, directly, by alias or
via a helper)."""

import pytest
import torch
import torch.nn.functional as F
from torch.nn.functional import scaled_dot_product_attention as sdpa

from lmbook.hmm import forward_log
from lmbook.labs import BorrowedAnswer, check_own_code, forbid_calls

BAD = ["torch.nn.functional.scaled_dot_product_attention", "lmbook"]
HOME = (__name__,)


def own(q, k, v):
    w = torch.softmax(q @ k.transpose(-2, -1), -1)
    return w @ v


def by_module_alias(q, k, v):
    return F.scaled_dot_product_attention(q, k, v)


def by_function_alias(q, k, v):
    return sdpa(q, k, v)


def _helper(q, k, v):
    return torch.nn.functional.scaled_dot_product_attention(q, k, v)


def through_a_helper(q, k, v):
    return _helper(q, k, v)


def test_own_code_passes():
    check_own_code(own, "own", forbidden=BAD, home=HOME)


@pytest.mark.parametrize(
    "fn, reason",
    [
        (by_module_alias, "F.scaled_dot_product_attention"),
        (by_function_alias, "sdpa in"),
        (forward_log, "imported from 'lmbook.hmm'"),
        (3, "should be a function"),
    ],
)
def test_borrowed_answers_are_refused_with_a_reason(fn, reason):
    with pytest.raises(BorrowedAnswer, match=reason):
        check_own_code(fn, "q1", forbidden=BAD, home=HOME)


def test_forbid_calls_catches_a_call_behind_a_helper_and_restores():
    x = torch.randn(1, 2, 3)
    with pytest.raises(BorrowedAnswer, match="q1 uses torch.nn.functional.scaled_dot"):
        check_own_code(
            through_a_helper, "q1", forbidden=BAD, home=HOME
        )  # follows _helper
    with (
        forbid_calls(BAD[0], what="q1"),
        pytest.raises(BorrowedAnswer, match="q1 calls"),
    ):
        through_a_helper(x, x, x)
    assert F.scaled_dot_product_attention(x, x, x).shape == (1, 2, 3)  # restored


def _helper_holding_an_import(*args):
    return forward_log(*args)  # the book's function, imported at the notebook's top


def through_a_notebook_helper(*args):
    return _helper_holding_an_import(*args)


def test_static_check_follows_the_notebooks_own_helpers():
    """A call hidden in a helper of the notebook is found even where forbid_calls cannot
    patch it (the helper holds its own reference to the imported function)."""
    with pytest.raises(BorrowedAnswer, match="q1 uses lmbook"):
        check_own_code(through_a_notebook_helper, "q1", forbidden=BAD, home=HOME)
