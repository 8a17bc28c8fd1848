"""The exceptions and warnings crash_core raises.

They mirror scikit-learn's names and bases so code written for scikit-learn catches them
(``except ValueError`` / ``except AttributeError`` both catch :class:`NotFittedError`),
without importing scikit-learn.
"""

from __future__ import annotations

import sys

__all__ = ["ConvergenceWarning", "DataConversionWarning", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """A model was used (``predict``, ``score``, ...) before ``fit`` was called.

    A subclass of both ``ValueError`` and ``AttributeError``, as in scikit-learn.
    """


class DataConversionWarning(UserWarning):
    """The input was converted to another shape or type to be usable (e.g. y raveled)."""


class ConvergenceWarning(UserWarning):
    """Training stopped before the optimisation converged (e.g. ``epochs`` ran out)."""


_sklearn_flavoured: type[NotFittedError] | None = None


def not_fitted_error(message: str) -> NotFittedError:
    """Build the :class:`NotFittedError` that ``_check_is_fitted`` raises.

    scikit-learn's tools (its estimator checks, meta-estimators) recognise an unfitted model
    by catching ``sklearn.exceptions.NotFittedError``. When scikit-learn is already imported
    by the caller, the returned error is therefore also an instance of that class; the import
    is never triggered from here, so crash_core keeps running without scikit-learn.
    """
    global _sklearn_flavoured
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    if sklearn_exceptions is None:
        return NotFittedError(message)
    if _sklearn_flavoured is None:

        class _SklearnNotFittedError(NotFittedError, sklearn_exceptions.NotFittedError):
            # Pickles as the plain crash_core class, so unpickling never needs scikit-learn.
            def __reduce__(self) -> tuple[type, tuple]:
                return NotFittedError, self.args

        _SklearnNotFittedError.__name__ = _SklearnNotFittedError.__qualname__ = "NotFittedError"
        _sklearn_flavoured = _SklearnNotFittedError
    return _sklearn_flavoured(message)
