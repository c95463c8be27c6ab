#!/usr/bin/env python3
"""make_outline_pdf.py - write outline.pdf: two pages (the second rotated),
an /Info title and a two-entry outline whose second entry points at the
middle of page 2, below other text. Plain PDF syntax with a correct xref,
so no tool is needed. Usage: python3 make_outline_pdf.py [OUT]"""
import sys


def stream(data):
    return b"<</Length %d>>stream\n" % len(data) + data + b"\nendstream"


objs = [
    b"<</Type/Catalog/Pages 2 0 R/Outlines 6 0 R>>",
    b"<</Type/Pages/Count 2/Kids[3 0 R 9 0 R]>>",
    b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 400]"
    b"/Resources<</Font<</F1 4 0 R>>>>/Contents 5 0 R>>",
    b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica-Bold>>",
    stream(b"BT /F1 16 Tf 20 370 Td (Chapter One) Tj ET "
           b"BT /F1 9 Tf 20 340 Td (Body text of chapter one.) Tj ET"),
    b"<</Type/Outlines/First 7 0 R/Last 8 0 R/Count 2>>",
    b"<</Title(Chapter One)/Parent 6 0 R/Next 8 0 R/Dest[3 0 R/XYZ 0 380 0]>>",
    b"<</Title(Chapter Two \\(bis\\))/Parent 6 0 R/Prev 7 0 R"
    b"/Dest[9 0 R/XYZ 0 200 0]>>",
    b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 400]/Rotate 90"
    b"/Resources<</Font<</F1 4 0 R>>>>/Contents 10 0 R>>",
    stream(b"BT /F1 9 Tf 20 300 Td (Top of page two.) Tj ET "
           b"BT /F1 16 Tf 20 200 Td (Chapter Two \\(bis\\)) Tj ET "
           b"BT /F1 9 Tf 20 180 Td (More text.) Tj ET"),
    b"<</Title(Outline Test)>>",
]
out = b"%PDF-1.4\n"
offsets = []
for i, body in enumerate(objs):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % (i + 1) + body + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
for off in offsets:
    out += b"%010d 00000 n \n" % off
out += (b"trailer\n<</Size %d/Root 1 0 R/Info 11 0 R>>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objs) + 1, xref))
with open(sys.argv[1] if len(sys.argv) > 1 else "outline.pdf", "wb") as f:
    f.write(out)
