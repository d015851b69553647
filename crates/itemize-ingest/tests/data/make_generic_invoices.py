#!/usr/bin/env python3
"""Regenerates generic_invoices.xlsx, the XLSX fixture of itemize-ingest's generic reader.

Standard library only: an .xlsx is a zip of a few XML files, written here by hand. Run from anywhere:
    python3 crates/itemize-ingest/tests/data/make_generic_invoices.py

Sheets: "Summary" (first, not an invoice list) and "Invoices" (the data). Invoices holds a text date, real
Excel date cells (style numFmt 14), numeric amounts (1234.56, 0.3, -250), a formula cell whose cached value is
0.1+0.2's float noise, a value written with float noise by a non-Excel tool, a text amount "$1,234.56",
vendors that hit an alias, an empty tag cell and a trailing styled but empty row.
"""

import datetime
import os
import zipfile
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "generic_invoices.xlsx")


def serial(y, m, d):
    """Excel's 1900-system serial: days since 1899-12-30."""
    return (datetime.date(y, m, d) - datetime.date(1899, 12, 30)).days


HEADER = ["Invoice Date", "Supplier", "Amount", "Currency", "GL Account", "Cost Center", "Description",
          "Invoice No", "Project", "Type"]

# Cell kinds: ("s", text) shared string, ("n", "number text"), ("d", serial) date cell, ("f", formula, value),
# None empty.
ROWS = [
    [("s", "03/15/26"), ("s", "AMAZON WEB SERVICES EMEA SARL"), ("n", "1234.56"), ("s", "USD"), ("n", "6100"),
     ("s", "CC-100"), ("s", "Cloud support"), ("s", "INV-1001"), ("s", "Apollo"), None],
    [("d", serial(2026, 3, 31)), ("s", "Atlassian"), ("n", "0.3"), ("s", "EUR"), ("n", "6200"),
     ("s", "CC-200"), ("s", "Jira"), ("s", "INV-1002"), None, ("s", "Purchase")],
    [("s", "2026-04-01"), ("s", " msft*azure "), ("s", "$1,234.56"), ("s", "USD"), ("n", "6100"),
     ("s", "CC-100"), ("s", "Azure"), ("s", "INV-1003"), ("s", "Apollo"), None],
    [("d", serial(2026, 4, 15)), ("s", "Slack"), ("n", "-250"), ("s", "USD"), ("n", "6300"), ("s", "CC-300"),
     ("s", "Slack refund"), ("s", "INV-1004"), ("s", "Hermes"), ("s", "credit")],
    [("d", serial(2026, 4, 30)), ("s", "Zoom"), ("f", "0.1+0.2", "0.30000000000000004"), ("s", "EUR"),
     ("n", "6200"), ("s", "CC-200"), ("s", "Zoom"), ("s", "INV-1005"), ("s", "Hermes"), ("s", "Usage")],
    [("s", "4/20/26"), ("s", "Datadog"), ("n", "1234.5600000000002"), ("s", "USD"), ("n", "6100"),
     ("s", "CC-100"), ("s", "Monitoring"), ("s", "INV-1006"), ("s", "Apollo"), None],
]


def col(i):
    return chr(ord("A") + i)


def main():
    strings = []

    def sst(text):
        if text not in strings:
            strings.append(text)
        return strings.index(text)

    def cell(ref, kind):
        if kind is None:
            return ""
        if kind[0] == "s":
            return f'<c r="{ref}" t="s"><v>{sst(kind[1])}</v></c>'
        if kind[0] == "n":
            return f'<c r="{ref}"><v>{kind[1]}</v></c>'
        if kind[0] == "d":
            return f'<c r="{ref}" s="1"><v>{kind[1]}</v></c>'
        if kind[0] == "f":
            return f'<c r="{ref}"><f>{escape(kind[1])}</f><v>{kind[2]}</v></c>'
        raise ValueError(kind)

    def sheet(rows, trailing_empty_row=None):
        out = []
        for r, row in enumerate(rows, start=1):
            cells = "".join(cell(f"{col(i)}{r}", k) for i, k in enumerate(row))
            out.append(f'<row r="{r}">{cells}</row>')
        if trailing_empty_row:
            r = trailing_empty_row
            out.append(f'<row r="{r}"><c r="A{r}" s="1"/><c r="C{r}" s="1"/></row>')
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                f'<sheetData>{"".join(out)}</sheetData></worksheet>')

    summary = sheet([[("s", "Total"), ("n", "2469.12")]])
    invoices = sheet([[("s", h) for h in HEADER]] + ROWS, trailing_empty_row=len(ROWS) + 2)
    shared = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
              f'count="{len(strings)}" uniqueCount="{len(strings)}">'
              + "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings) + "</sst>")
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/worksheets/sheet2.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            '</Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Summary" sheetId="1" r:id="rId1"/>'
            '<sheet name="Invoices" sheetId="2" r:id="rId2"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet2.xml"/>'
            '<Relationship Id="rId3" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
            'Target="styles.xml"/>'
            '<Relationship Id="rId4" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
            'Target="sharedStrings.xml"/></Relationships>'),
        "xl/styles.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            '</styleSheet>'),
        "xl/worksheets/sheet1.xml": summary,
        "xl/worksheets/sheet2.xml": invoices,
        "xl/sharedStrings.xml": shared,
    }
    # Fixed timestamps so that regenerating gives the same bytes.
    with zipfile.ZipFile(OUT, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
