"""Reading tabular files (CSV, Parquet) into a pandas DataFrame, for the command line.

pandas is the reader: its C parser is fast (about 10x a pure-Python loop on large files) and
handles quoting, embedded newlines, CRLF line ends and NA tokens the way spreadsheet users
expect. It is an optional dependency (the ``data`` extra, ``pip install "crash-core[data]"``):
the library itself runs on NumPy arrays and never needs it, so only reading files asks for it,
with a message naming the install command when it is missing.

What ``read_table`` adds on top of pandas:

- the delimiter is sniffed from the start of the file among ``,`` ``;`` tab and ``|`` unless
  ``sep`` is given (spreadsheets in many locales write ``;``);
- a UTF-8 byte-order mark is removed, never left in the first column's name;
- with ``header=False`` the columns are named ``"0"``, ``"1"``, ...; with ``header=True`` a
  first row made only of numbers is refused (it is almost surely data, and reading it as names
  would silently lose a row);
- the usual NA tokens (empty field, ``NA``, ``NaN``, ``null``, ``?`` ...) are missing values,
  plus any given in ``na_values``;
- every problem is a ``ValueError`` (or ``FileNotFoundError`` / ``IsADirectoryError`` /
  ``PermissionError`` for the path) naming the file and the fix.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Sequence
from typing import Any

__all__ = ["read_table", "require_pandas", "NA_VALUES", "SNIFFED_DELIMITERS"]

# added to pandas' own NA tokens (which include "", "NA", "N/A", "NaN", "null", "None")
NA_VALUES = ("?", "na", "nan", "none", "missing")
SNIFFED_DELIMITERS = ",;\t|"
_SNIFF_BYTES = 64 * 1024
_PARQUET = (".parquet", ".pq")


def require_pandas() -> Any:
    """The pandas module, or an ImportError that says how to install it."""
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "Reading CSV and Parquet files needs pandas, which is not installed; install it "
            'with: pip install "crash-core[data]"  (or pip install pandas).'
        ) from None
    return pandas


def sniff_delimiter(path: str | os.PathLike, encoding: str = "utf-8-sig") -> str:
    """The most likely delimiter of a text table among ``, ; tab |`` (``,`` if unclear)."""
    with open(path, encoding=encoding, newline="") as f:
        sample = f.read(_SNIFF_BYTES)
    if not sample.strip():
        raise ValueError(f"{os.fspath(path)} is empty; it needs a header row and data rows.")
    lines = sample.splitlines()
    if len(sample) == _SNIFF_BYTES and len(lines) > 1:
        sample = "\n".join(lines[:-1])  # the last line may be cut in the middle
    try:
        return csv.Sniffer().sniff(sample, delimiters=SNIFFED_DELIMITERS).delimiter
    except csv.Error:
        # one column, or too irregular to tell: fall back to the first delimiter that appears
        first = lines[0] if lines else ""
        return next((d for d in SNIFFED_DELIMITERS if d in first), ",")


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_table(
    path: str | os.PathLike,
    *,
    sep: str | None = None,
    header: bool = True,
    na_values: Sequence[str] = (),
    decimal: str = ".",
    encoding: str = "utf-8",
) -> Any:
    """Read a CSV (any delimiter) or Parquet file into a DataFrame with string column names.

    Parameters
    ----------
    path : str or path-like
        The file; ``.parquet`` / ``.pq`` files are read as Parquet (needs pyarrow).
    sep : str or None, default=None
        The delimiter; ``None`` sniffs it among ``,`` ``;`` tab ``|``. ``"\\t"`` is
        understood as a tab.
    header : bool, default=True
        Whether the first row holds the column names; without one, columns are named
        ``"0"``, ``"1"``, ...
    na_values : sequence of str, default=()
        Extra tokens meaning "missing", added to pandas' defaults and ``NA_VALUES``.
    decimal : str, default="."
        The decimal mark of numbers (``","`` in many European spreadsheet exports).
    encoding : str, default="utf-8"
        Text encoding; a UTF-8 byte-order mark is always removed.

    Returns
    -------
    pandas.DataFrame
    """
    pd = require_pandas()
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a directory, not a data file.")
    if path.lower().endswith(_PARQUET):
        try:
            frame = pd.read_parquet(path)
        except ImportError as exc:
            raise ImportError(
                f"Reading {path} needs a Parquet engine: pip install pyarrow ({exc})."
            ) from None
        except (OSError, ValueError) as exc:
            if isinstance(exc, (FileNotFoundError, PermissionError)):
                raise
            raise ValueError(f"cannot read {path} as Parquet: {exc}") from None
        frame.columns = [str(c) for c in frame.columns]
        return frame
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    if sep is not None:
        sep = "\t" if sep in ("\\t", "tab", "TAB") else sep
        if len(sep) != 1:
            raise ValueError(f"--sep must be one character (or \\t for a tab), got {sep!r}.")
    try:
        delimiter = sep if sep is not None else sniff_delimiter(path, encoding)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # index_col=False: rows longer than the header are reported below, never
            # silently turned into an index that shifts every value
            frame = pd.read_csv(
                path,
                sep=delimiter,
                header=0 if header else None,
                index_col=False,
                encoding=encoding,
                na_values=[*NA_VALUES, *na_values],
                decimal=decimal,
                skipinitialspace=True,
                skip_blank_lines=True,
            )
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path} is not {encoding.removesuffix('-sig')} text ({exc.reason} at byte "
            f"{exc.start}); pass its encoding, e.g. --encoding latin-1."
        ) from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty; it needs a header row and data rows.") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise ValueError(
            f"{path}: {detail} (delimiter {delimiter!r}); check the delimiter (--sep) and "
            "the quoting of that line."
        ) from None
    if any("does not match length" in str(w.message) for w in caught):
        raise ValueError(
            f"{path}: data rows have more fields than the header row ({frame.shape[1]} "
            "names); name every column, or check the delimiter (--sep)."
        )
    if header:
        names = [str(c).strip() for c in frame.columns]
        if all(_looks_numeric(n) for n in names):
            raise ValueError(
                f"The first row of {path} is all numbers ({', '.join(names[:5])}), so it is "
                "data, not column names; pass --no-header (header=False) for a file without "
                "a header row."
            )
        unnamed = [i for i, c in enumerate(frame.columns) if str(c).startswith("Unnamed: ")]
        if unnamed:
            raise ValueError(
                f"{path}: the header row has no name for column(s) {[i + 1 for i in unnamed]} "
                "(count from 1); name every column."
            )
        frame.columns = names
    else:
        frame.columns = [str(j) for j in range(frame.shape[1])]
    if frame.shape[0] == 0:
        raise ValueError(f"{path} has a header but no data rows.")
    return frame
