"""The error contract shared by every kernel: shoprec classes that are also builtins."""

import pytest

import shoprec
from shoprec import _core


def test_every_error_is_a_shoprec_error_and_a_builtin():
    assert issubclass(shoprec.InvalidArgumentError, ValueError)
    assert issubclass(shoprec.ShapeMismatchError, ValueError)
    assert issubclass(shoprec.DTypeError, TypeError)
    assert issubclass(shoprec.UnknownIdError, KeyError)
    assert issubclass(shoprec.ModelFileError, ValueError)
    assert issubclass(shoprec.InternalError, RuntimeError)
    for cls in (shoprec.InvalidArgumentError, shoprec.DTypeError, shoprec.UnknownIdError,
                shoprec.ModelVersionError, shoprec.InternalError, shoprec.NotFittedError):
        assert issubclass(cls, shoprec.ShoprecError)


def test_unknown_id_message_is_not_quoted():
    assert str(shoprec.UnknownIdError("user 'x' is unknown")) == "user 'x' is unknown"


@pytest.mark.parametrize("num_threads", [1, 2])
def test_a_rust_panic_becomes_internal_error_not_an_abort(num_threads):
    with pytest.raises(shoprec.InternalError, match="deliberate panic"):
        _core._panic_for_test(num_threads)
    # The pool survives the panic and keeps working.
    ids, _ = shoprec.kernels.top_k([1.0, 2.0], 1, num_threads=num_threads)
    assert ids.tolist() == [1]


def test_a_core_error_maps_to_the_documented_class():
    # Bypass the Python checks: the Rust side must refuse on its own, with the same class.
    import numpy as np

    with pytest.raises(shoprec.InvalidArgumentError, match="include"):
        _core.top_k(np.zeros((1, 3), np.float32), 1, np.array([5], np.int32))
    with pytest.raises(shoprec.InvalidArgumentError, match="indptr"):
        _core.top_k(np.zeros((2, 3), np.float32), 1, None,
                    (np.array([0, 2, 1], np.int64), np.array([0, 1], np.int32)))


def test_check_int_accepts_integers_only():
    import enum
    import sys

    import numpy as np

    from shoprec._validate import check_int, check_k

    class Size(enum.IntEnum):
        TEN = 10

    for value in (0, 7, np.int64(7), np.uint8(7), Size.TEN):
        got = check_int(value, "n", minimum=0)
        assert type(got) is int and got == int(value)
    for bad in (True, np.bool_(False), 7.0, "7", None):
        with pytest.raises(shoprec.DTypeError):
            check_int(bad, "n")
    with pytest.raises(shoprec.InvalidArgumentError):
        check_int(-1, "n", minimum=0)
    with pytest.raises(shoprec.InvalidArgumentError):
        check_int(11, "n", maximum=10)
    assert check_k(2**70) == sys.maxsize
