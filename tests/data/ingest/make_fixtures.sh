#!/bin/sh
# make_fixtures.sh - regenerate the small PDF fixtures of tests/data/ingest
# with MuPDF's and qpdf's command-line tools (Debian: mupdf-tools, qpdf).
#   tiny.pdf       two pages of text with a running footer, made by mutool create
#   encrypted.pdf  tiny.pdf encrypted with AES-256, user password "user"
#   outline.pdf    two pages with an outline and an /Info title (make_outline_pdf.py)
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
page() {
    cat <<PAGE
%%MediaBox 0 0 612 792
%%Font F1 Helvetica
BT /F1 18 Tf 72 700 Td ($1) Tj ET
BT /F1 11 Tf 72 660 Td ($2) Tj ET
BT /F1 11 Tf 72 645 Td ($3) Tj ET
BT /F1 9 Tf 280 40 Td (Tiny Fixture Page $4) Tj ET
PAGE
}
page "Introduction" "The first page holds a short paragraph about fixtures." \
     "Its second line mentions the word pineapple." 1 > "$tmp/p1.txt"
page "Results" "The second page talks about results and a hyphen-" \
     "ated word across lines." 2 > "$tmp/p2.txt"
mutool create -o tiny.pdf "$tmp/p1.txt" "$tmp/p2.txt"
qpdf --encrypt user owner 256 -- tiny.pdf encrypted.pdf
python3 make_outline_pdf.py outline.pdf
echo "made tiny.pdf encrypted.pdf outline.pdf"
