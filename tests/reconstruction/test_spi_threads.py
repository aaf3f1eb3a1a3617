"""The transforms and solvers run with one BLAS thread (reconstruction/threads.py) and put
the caller's setting back afterwards."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from reconstruction import threads
from reconstruction.spi import HadamardBasis, reconstruct
from reconstruction.spi import transforms as transforms_module
from reconstruction.spi.transforms import fwht


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


@pytest.fixture
def two_blas_threads():
    """BLAS set to 2 threads around the test (what numpy uses by default on 2 cores)."""
    with threadpool_limits(limits=2, user_api="blas"):
        if not _blas_threads() or max(_blas_threads()) < 2:
            pytest.skip("no BLAS library that takes 2 threads")
        yield


def _problem(n=32):
    basis = HadamardBasis(size=n, ordering="zigzag", ratio=0.25)
    image = np.zeros((n, n))
    image[8:24, 8:24] = 1.0
    return basis, basis.forward(image)


@pytest.mark.parametrize("method", ["pinv", "tikhonov", "tv", "wavelet"])
def test_reconstruct_runs_its_operator_on_one_blas_thread(two_blas_threads, method):
    basis, y = _problem()
    op = basis.operator
    seen = []
    forward, adjoint = op.forward, op.adjoint

    def record(func):
        def inner(v):
            seen.append(max(_blas_threads()))
            return func(v)
        return inner

    op.forward, op.adjoint = record(forward), record(adjoint)  # instance attributes
    x = reconstruct(y, basis, method=method, noise_sigma=1e-3)
    assert x.shape == (32, 32) and seen
    assert set(seen) == {1}
    assert max(_blas_threads()) == 2  # the caller's setting is back


def test_fwht_alone_runs_on_one_thread_and_restores(two_blas_threads, monkeypatch):
    seen = []
    sylvester = transforms_module.sylvester

    def record(f, dtype="float64"):
        seen.append(max(_blas_threads()))
        return sylvester(f, dtype)

    monkeypatch.setattr(transforms_module, "sylvester", record)
    x = np.arange(256.0)
    np.testing.assert_allclose(fwht(fwht(x)), x, atol=1e-9)
    assert seen and set(seen) == {1}
    assert max(_blas_threads()) == 2


def test_limit_is_restored_after_an_error_and_can_be_turned_off(two_blas_threads):
    basis, y = _problem()
    with pytest.raises(ValueError):
        reconstruct(y[:-1], basis, method="tv")
    assert max(_blas_threads()) == 2
    seen = []

    @threads.one_blas_thread
    def inner():
        seen.append(max(_blas_threads()))

    try:
        threads.set_blas_limit(None)
        inner()
    finally:
        threads.set_blas_limit(1)
    inner()
    with threads.one_blas_thread():  # nested: still one thread, restored only at the end
        inner()
        assert max(_blas_threads()) == 1
    assert seen == [2, 1, 1]
    assert max(_blas_threads()) == 2
    with pytest.raises(ValueError, match="threads"):
        threads.set_blas_limit(0)
