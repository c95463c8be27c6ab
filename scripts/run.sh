#!/bin/sh
# run.sh - the main job on its embedded default: install what is missing,
# build, index the bundled sample documents and answer a question with
# citations.   scripts/run.sh ["QUESTION"]
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target docrag >/dev/null
db=${DOCRAG_DB:-build/samples.db}
./build/docrag index --db "$db" data/samples
./build/docrag ask --db "$db" "${1:-What are the four core instruction formats of the RISC-V base ISA?}"
