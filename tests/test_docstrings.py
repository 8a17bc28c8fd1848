"""Every public parameter is documented: each argument of every public class's ``__init__``
and of every public function appears, numpydoc-style (``name : type``), in its docstring."""

import importlib
import inspect
import re

import pytest

import crash_core as cc

MODULES = [
    "crash_core.network",
    "crash_core.models.perceptron",
    "crash_core.models.logistic",
    "crash_core.models.mlp",
    "crash_core.callbacks",
    "crash_core.optimizers",
    "crash_core.schedules",
    "crash_core.preprocessing",
    "crash_core.tables",
    "crash_core.datasets",
    "crash_core.functional",
    "crash_core.training",
    "crash_core.io",
]


def public_objects():
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if getattr(obj, "__module__", None) != module_name:
                continue  # documented where it is defined
            if inspect.isclass(obj) or inspect.isfunction(obj):
                yield f"{module_name}.{name}", obj


def documented(doc, name):
    """``name`` opens a numpydoc parameter line: ``name : type`` (or ``a, name : type``)."""
    return re.search(rf"^\s*(?:\w+, )*{re.escape(name)}(?:, \w+)* :", doc, re.M) is not None


def parameters(obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    if target is object.__init__:
        return []
    return [
        p.name
        for p in inspect.signature(target).parameters.values()
        if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


CASES = sorted(public_objects())


def test_the_public_api_is_covered():
    names = {name for name, _ in CASES}
    for expected in ("MLPClassifier", "LogisticRegression", "Perceptron", "Network",
                     "EarlyStopping", "TabularPreprocessor", "read_table"):
        assert any(n.endswith("." + expected) for n in names), expected
    # MLPRegressor shares MLPClassifier's parameters: both are checked
    assert cc.MLPRegressor.__init__ is cc.MLPClassifier.__init__


@pytest.mark.parametrize("name, obj", CASES, ids=[n for n, _ in CASES])
def test_every_parameter_is_in_the_docstring(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{name} has no docstring"
    missing = [p for p in parameters(obj) if not documented(doc, p)]
    assert not missing, f"{name}'s docstring does not document {missing}"


@pytest.mark.parametrize("cls", [cc.MLPClassifier, cc.MLPRegressor])
def test_mlp_documents_all_its_parameters_with_defaults(cls):
    doc = inspect.getdoc(cls)
    signature = inspect.signature(cls.__init__).parameters
    assert len(parameters(cls)) >= 24
    for name in signature:
        if name == "self":
            continue
        line = re.search(rf"^{name} : (.*)$", doc, re.M)
        assert line and "default=" in line.group(1), name
