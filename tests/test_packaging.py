"""The wheel plan: cibuildwheel's settings, the wheels workflow, and the build's portability."""

import importlib.util
import os
import re

import pytest

RUNNERS = {"ubuntu-latest", "ubuntu-24.04-arm", "macos-13", "macos-14", "windows-latest"}


def read(source_tree, relative):
    path = source_tree / relative
    if not path.is_file():
        pytest.skip(f"{relative} is not in {source_tree} (tests copied without the checkout)")
    return path.read_text()


@pytest.fixture
def workflow(source_tree):
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(read(source_tree, ".github/workflows/wheels.yml"))


@pytest.fixture
def cibuildwheel(source_tree):
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads(read(source_tree, "pyproject.toml"))["tool"]["cibuildwheel"]


def steps_using(job, action):
    return [step for step in job["steps"] if step.get("uses", "").startswith(action)]


def test_wheels_are_built_on_every_runner_with_cibuildwheel_3(workflow):
    job = workflow["jobs"]["wheels"]
    assert {entry["os"] for entry in job["strategy"]["matrix"]["include"]} == RUNNERS
    assert job["runs-on"] == "${{ matrix.os }}"
    (build,) = steps_using(job, "pypa/cibuildwheel@")
    assert re.fullmatch(r"pypa/cibuildwheel@v3(\.\d+)*", build["uses"])
    assert build["env"]["CIBW_ARCHS"] == "${{ matrix.arch }}"
    (upload,) = steps_using(job, "actions/upload-artifact@")
    assert upload["with"]["path"].endswith("*.whl")


def test_an_sdist_is_built_and_kept(workflow):
    job = workflow["jobs"]["sdist"]
    assert any("build --sdist" in step.get("run", "") for step in job["steps"])
    (upload,) = steps_using(job, "actions/upload-artifact@")
    assert upload["with"]["path"].endswith(".tar.gz")


def test_tags_publish_by_trusted_publishing(workflow):
    # YAML 1.1 reads the bare key ``on`` as True
    triggers = workflow.get("on", workflow.get(True))
    assert "v*" in triggers["push"]["tags"]
    job = workflow["jobs"]["publish"]
    assert set(job["needs"]) == {"wheels", "sdist"}
    assert "refs/tags/" in job["if"]
    assert job["permissions"] == {"id-token": "write"}
    assert steps_using(job, "pypa/gh-action-pypi-publish@")
    assert "password" not in str(job)  # trusted publishing: no token in the workflow


def test_cibuildwheel_plans_cpython_310_and_newer_on_64_bit_platforms(cibuildwheel):
    assert cibuildwheel["build"].split()[0] == "cp310-*"
    skipped = cibuildwheel["skip"].split()
    assert {"pp*", "*-musllinux_*", "*-win32", "*_i686"} <= set(skipped)
    assert cibuildwheel["linux"]["archs"] == ["x86_64", "aarch64"]
    assert cibuildwheel["macos"]["archs"] == ["x86_64", "arm64"]
    assert cibuildwheel["windows"]["archs"] == ["AMD64"]


def test_cibuildwheel_tests_each_wheel_outside_the_source_tree(cibuildwheel):
    assert "tests" in cibuildwheel["test-sources"]
    assert "README.md" in cibuildwheel["test-sources"]
    assert cibuildwheel["test-extras"] == ["test"]
    assert "pytest" in cibuildwheel["test-command"]
    assert "{project}" not in cibuildwheel["test-command"]


def test_no_build_tunes_for_the_build_machine(source_tree):
    texts = [read(source_tree, "setup.py")]
    texts += [p.read_text() for p in (source_tree / "src").rglob("*") if p.is_file()]
    assert not any(re.search(r"[\"']-m(arch|tune)=native", text) for text in texts)


@pytest.fixture
def build_cache(source_tree):
    """``tools/build_cache.py`` of the checkout (setup.py's content-keyed module cache)."""
    path = source_tree / "tools" / "build_cache.py"
    if not path.is_file():
        pytest.skip("tools/build_cache.py is not in the checkout")
    spec = importlib.util.spec_from_file_location("build_cache", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def small_source_tree(root):
    """A module that reaches a .pxd, a .pxi, a header and, through it, a second header."""
    (root / "simd").mkdir(parents=True)
    (root / "kern.pyx").write_text(
        'from helpers cimport twice\ninclude "extra.pxi"\n'
        'cdef extern from "simd/outer.h":\n    int outer()\n'
    )
    (root / "helpers.pxd").write_text("cdef inline int twice(int x):\n    return 2 * x\n")
    (root / "extra.pxi").write_text("X = 1\n")
    (root / "simd" / "outer.h").write_text('#include "simd/inner.h"\nint outer(void);\n')
    (root / "simd" / "inner.h").write_text("#define INNER 1\n")
    (root / "unrelated.pxd").write_text("cdef int nothing\n")
    return root


def test_a_modules_cache_key_follows_its_sources_and_settings(build_cache, tmp_path):
    first = small_source_tree(tmp_path / "one" / "src")
    settings = {"flags": ["-O2"], "cython": "3.1.0"}
    key = build_cache.cache_key([first / "kern.pyx"], first, settings)
    assert build_cache.cache_key([first / "kern.pyx"], first, dict(settings)) == key
    reached = {
        p.relative_to(first).as_posix()
        for p in build_cache.source_closure([first / "kern.pyx"], first)
    }
    assert reached == {"kern.pyx", "helpers.pxd", "extra.pxi", "simd/outer.h", "simd/inner.h"}
    # another folder, other file times, an unrelated file edited: the same key
    second = small_source_tree(tmp_path / "elsewhere" / "two" / "src")
    os.utime(second / "helpers.pxd", (1, 1))
    (second / "unrelated.pxd").write_text("cdef int something_else\n")
    assert build_cache.cache_key([second / "kern.pyx"], second, settings) == key
    # a header reached through another header, or a setting: another key
    (second / "simd" / "inner.h").write_text("#define INNER 2\n")
    assert build_cache.cache_key([second / "kern.pyx"], second, settings) != key
    assert build_cache.cache_key([first / "kern.pyx"], first, {**settings, "flags": ["-O3"]}) != key


def test_the_network_kernels_key_covers_their_headers(build_cache, source_tree):
    src = source_tree / "src"
    reached = {
        p.relative_to(src).as_posix()
        for p in build_cache.source_closure([src / "network_kernels.pyx"], src)
    }
    assert {"layers.pxd", "blas.pxd", "losses.pxd", "simd/gemm.h", "simd/gemm_body.h"} <= reached
    assert {"simd/vmath.h", "network_table.pxd", "optimizers.pxd"} <= reached
