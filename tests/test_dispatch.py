"""The choice of ISA level for the compiled kernels (``crash_core._kernels``)."""

import pytest

import crash_core as cc
import crash_core._kernels as kernels

pytestmark = pytest.mark.kernels


@pytest.fixture
def fresh_choice(monkeypatch):
    """Forget the cached choice before and after, so each test sees its own environment."""
    kernels._choose.cache_clear()
    yield monkeypatch
    kernels._choose.cache_clear()


def test_portable_is_always_built_and_run():
    assert "portable" in kernels.built_levels("network_kernels")
    assert kernels.cpu_levels()[-1] == "portable"
    assert "portable" in kernels.built_levels("linear")


def test_auto_picks_the_best_level_both_built_and_run(fresh_choice):
    fresh_choice.delenv(kernels.ENV, raising=False)
    runnable = [lv for lv in kernels.cpu_levels() if lv in kernels.built_levels("network_kernels")]
    assert cc.kernel_level() == runnable[0]
    assert kernels.LEVEL == runnable[0]
    suffix = "" if runnable[0] == "portable" else f"_{runnable[0]}"
    chosen = kernels.select("network_kernels")
    assert chosen.__name__ == f"crash_core._kernels.network_kernels{suffix}"


@pytest.mark.parametrize("value", ["portable", " Portable ", "auto", ""])
def test_the_environment_variable_forces_a_level(fresh_choice, value):
    fresh_choice.setenv(kernels.ENV, value)
    if value.strip().lower() == "portable":
        assert kernels.kernel_level() == "portable"
        chosen = kernels.select("network_kernels")
        assert chosen.__name__ == "crash_core._kernels.network_kernels"
    else:
        runnable = [
            lv for lv in kernels.cpu_levels() if lv in kernels.built_levels("network_kernels")
        ]
        assert kernels.kernel_level() == runnable[0]


def test_an_unknown_level_is_a_clear_error(fresh_choice):
    fresh_choice.setenv(kernels.ENV, "sse9")
    with pytest.raises(ValueError, match="not a kernel level.*auto, avx512, avx2, portable"):
        kernels.select("network_kernels")


def test_a_level_the_cpu_lacks_is_a_clear_error(fresh_choice):
    fresh_choice.setattr(kernels, "_cpu_features", lambda: {"AVX2": True})
    fresh_choice.setenv(kernels.ENV, "avx2")
    with pytest.raises(ValueError, match="this CPU cannot run .*lacks FMA3"):
        kernels.kernel_level()
    fresh_choice.setenv(kernels.ENV, "auto")
    assert kernels.kernel_level() == "portable"


def test_a_level_the_build_lacks_is_a_clear_error(fresh_choice):
    everything = {f: True for level in kernels.LEVELS for f in kernels.REQUIRES[level]}
    fresh_choice.setattr(kernels, "_cpu_features", lambda: everything)
    fresh_choice.setattr(kernels, "built_levels", lambda name="network_kernels": ("portable",))
    fresh_choice.setenv(kernels.ENV, "avx512")
    with pytest.raises(ValueError, match="this build of crash_core lacks"):
        kernels.kernel_level()
    fresh_choice.setenv(kernels.ENV, "auto")
    assert kernels.kernel_level() == "portable"


def test_cpu_levels_follow_the_features(monkeypatch):
    avx512 = dict.fromkeys(kernels.REQUIRES["avx512"], True)
    monkeypatch.setattr(kernels, "_cpu_features", lambda: avx512)
    assert kernels.cpu_levels() == ("avx512", "avx2", "portable")
    monkeypatch.setattr(kernels, "_cpu_features", lambda: {**avx512, "AVX512BW": False})
    assert kernels.cpu_levels() == ("avx2", "portable")
    monkeypatch.setattr(kernels, "_cpu_features", dict)
    assert kernels.cpu_levels() == ("portable",)
    assert not kernels.cpu_has_avx2_fma()


def test_network_uses_the_selected_build():
    from crash_core import network
    from crash_core._kernels import network as knetwork

    level = kernels.kernel_level()
    assert network.kernels is knetwork
    assert knetwork.LEVEL == level
    assert knetwork.at_level(level).module is kernels.select("network_kernels")
    for name in ("forward_", "evaluate_", "loss_and_grad_", "train_epoch_", "gemm_rm"):
        assert getattr(knetwork, name).__self__ is knetwork.at_level(level)
    assert knetwork.VECTOR_BYTES == knetwork.at_level(level).VECTOR_BYTES


def test_every_level_the_cpu_runs_has_its_own_kernels():
    """The checks are compiled once; each level's kernels sit behind them, in their own
    module compiled with that level's flags."""
    from crash_core._kernels import network as knetwork

    widths = {"avx512": 64, "avx2": 32, "portable": 16}
    for level in kernels.cpu_levels():
        if level in kernels.built_levels("network_kernels"):
            build = knetwork.at_level(level)
            assert build.level == level and build is knetwork.at_level(level)
            suffix = "" if level == "portable" else f"_{level}"
            assert build.module.__name__ == f"crash_core._kernels.network_kernels{suffix}"
            assert build.VECTOR_BYTES in (widths[level], 0)
    modules = [knetwork.at_level(lv).module for lv in kernels.cpu_levels()]
    assert len({id(m) for m in modules}) == len(modules)  # each level its own module
