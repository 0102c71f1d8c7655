"""Reading back a spreadsheet uptake handed out (the call list's .xlsx), as the rows of a CSV.

A social worker fills in the workbook uptake wrote and gives it back as it is: asking them to save it
as CSV first loses dates to the spreadsheet's locale and amounts to its decimal separator. Each cell
becomes the text the CSV import reads: a date as JJ/MM/AAAA, a number without a thousands separator.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

# The member every .xlsx holds (an .ods, also a zip, holds `content.xml` instead).
_XLSX_MEMBER = "xl/workbook.xml"


def is_xlsx(data: bytes) -> bool:
    """Whether `data` is an Excel workbook (.xlsx) rather than another zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _XLSX_MEMBER in archive.namelist()
    except zipfile.BadZipFile:
        return False


def workbook_records(data: bytes) -> list[tuple[int, list[str]]]:
    """The first sheet's rows of the workbook `data` (`is_xlsx`) as (row number, cells as text),
    trailing empty cells dropped.

    Formulas give their last computed value, never their text: a cell typed `=A1` is what it showed.
    """
    # Imported here: openpyxl takes a quarter of a second to import, for spreadsheets only. With
    # defusedxml installed (a dependency), openpyxl parses the sheet's XML without expanding entities.
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        records: list[tuple[int, list[str]]] = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_text(value) for value in row]
            while cells and not cells[-1]:
                cells.pop()
            records.append((number, cells))
        return records
    finally:
        workbook.close()


def _text(value: object) -> str:
    """A cell's value as the CSV import reads it."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: a bool is an int
        return "oui" if value else "non"
    if isinstance(value, dt.datetime):
        return f"{value:%d/%m/%Y}" if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, float):
        # 120.0 typed as 120: written without a decimal part; never in exponent form.
        return str(int(value)) if value.is_integer() else format(value, ".10f").rstrip("0")
    return str(value).strip()
