#!/bin/bash
# install_pkgconfig: `cmake --install` of this build into a fresh prefix puts
# libdocrag.so (soname libdocrag.so.0, only docrag_* exported), docrag.h,
# docrag.pc and the docrag CLI there, and a program built with
# `pkg-config --cflags --libs docrag` alone runs against the installed copy.
. "$(dirname "$0")/lib.bash"
export LC_ALL=C
not_grep() { ! grep -q "$@"; }

# The build tree: the CLI sits at its top (CMAKE_RUNTIME_OUTPUT_DIRECTORY is
# unset), but walk up to the CMakeCache.txt in case that changes.
build=$(cd "$(dirname "$DOCRAG_BIN")" && pwd)
while [ ! -f "$build/CMakeCache.txt" ] && [ "$build" != / ]; do
    build=$(dirname "$build")
done
[ -f "$build/CMakeCache.txt" ] || { echo "no CMakeCache.txt above $DOCRAG_BIN" >&2; exit 1; }
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
cmake_cmd=$(cache CMAKE_COMMAND)
cc=$(cache CMAKE_C_COMPILER)
# A sanitized libdocrag.so needs the sanitizer runtimes in the program that
# loads it (ASan must come first in the initial library list): build the
# consumer the way the library was built (DOCRAG_FUZZ builds are ASan+UBSan
# too, with clang, and the sanitizer runtime also serves the .so's coverage
# hooks).
san=""
if [ "$(cache DOCRAG_SANITIZE)" = ON ] || [ "$(cache DOCRAG_FUZZ)" = ON ]; then
    san="-fsanitize=address,undefined -fno-sanitize-recover=all"
fi

prefix=$T/prefix
if "$cmake_cmd" --install "$build" --prefix "$prefix" >"$T/install.log" 2>&1; then
    pass "cmake --install $build --prefix \$T/prefix"
else
    fail "cmake --install $build --prefix \$T/prefix"
    cat "$T/install.log"
fi
pc=$(find "$prefix" -name docrag.pc -path '*/pkgconfig/*' | head -1)
check "docrag.pc is installed under a pkgconfig folder" test -n "$pc"
pcdir=$(dirname "${pc:-$prefix/lib/pkgconfig/docrag.pc}")
libdir=$(dirname "$pcdir")
so=$(find "$libdir" -maxdepth 1 -name 'libdocrag.so.*.*.*' | head -1)
check "libdocrag.so.X.Y.Z is installed next to pkgconfig/" test -n "$so"
so=${so:-$libdir/libdocrag.so.0.0.0}
version=${so##*/libdocrag.so.}
check "libdocrag.so.0 links to libdocrag.so.$version" \
    test "$(readlink "$libdir/libdocrag.so.0")" = "libdocrag.so.$version"
check "libdocrag.so (the link-time name) links to libdocrag.so.0" \
    test "$(readlink "$libdir/libdocrag.so")" = libdocrag.so.0
check "docrag.h is installed" test -f "$prefix/include/docrag.h"
check "the docrag CLI is installed" test -x "$prefix/bin/docrag"
check "no internal header is installed" \
    test "$(find "$prefix" -name '*.h' | wc -l)" -eq 1
check "no static library is installed" test -z "$(find "$prefix" -name '*.a')"

# Only the new prefix's .pc files; words rejoined (pkgconf ends with a space).
pkgc() {
    local out
    out=$(PKG_CONFIG_PATH=$pcdir PKG_CONFIG_LIBDIR=$pcdir pkg-config "$@") || return
    # shellcheck disable=SC2086
    echo $out
}
check "pkg-config --modversion docrag is the library's version ($version)" \
    test "$(pkgc --modversion docrag)" = "$version"
check "pkg-config --cflags docrag names the install prefix" \
    test "$(pkgc --cflags docrag)" = "-I$prefix/include"
check "pkg-config --libs docrag is -L<libdir> -ldocrag" \
    test "$(pkgc --libs docrag)" = "-L$libdir -ldocrag"

# The ABI: soname, exports, position-independent code.
readelf -d "$so" >"$T/dynamic"
check "SONAME is libdocrag.so.0" grep -q 'Library soname: \[libdocrag.so.0\]' "$T/dynamic"
check "no text relocations (all code linked in is PIC)" not_grep TEXTREL "$T/dynamic"
nm -D --defined-only "$so" >"$T/exports"
# Each line is "ADDR TYPE NAME@@DOCRAG_0"; the version node itself is listed
# as an absolute symbol named DOCRAG_0.
awk '{ sub(/@.*/, "", $3) } $3 != "DOCRAG_0" || $2 != "A" { print $3 }' "$T/exports" |
    sort >"$T/names"
check "libdocrag.so exports symbols" test -s "$T/names"
check "every exported symbol starts with docrag_" not_grep -v '^docrag_' "$T/names"
grep -v '^docrag_' "$T/names" | head -20 || true
check "every exported symbol has version DOCRAG_0" \
    not_grep -v -e '@@DOCRAG_0$' -e ' A DOCRAG_0$' "$T/exports"
# Each function docrag.h declares is exported (a definition compiled with
# hidden visibility would not be).
grep -oE '\bdocrag_[a-z0-9_]+[[:space:]]*\(' "$prefix/include/docrag.h" |
    sed 's/[[:space:](]//g' | sort -u >"$T/declared"
check "docrag.h declares functions" test -s "$T/declared"
missing=$(comm -23 "$T/declared" "$T/names" | tr '\n' ' ')
check "every function docrag.h declares is exported${missing:+ (missing: $missing)}" \
    test -z "$missing"

# A program that knows only the installed prefix.
work=$T/work
mkdir -p "$work"
# shellcheck disable=SC2046,SC2086
check "consumer.c compiles (-std=c11 -pedantic -Werror) with pkg-config --cflags --libs docrag" \
    "$cc" -std=c11 -pedantic -Wall -Wextra -Werror $san -o "$work/consumer" \
    "$DOCRAG_SRC/tests/install/consumer.c" $(pkgc --cflags --libs docrag)
check "the consumer needs libdocrag.so.0" \
    grep -q 'Shared library: \[libdocrag.so.0\]' <(readelf -d "$work/consumer" 2>&1)
check "the consumer loads the installed libdocrag.so.0" \
    grep -q "libdocrag.so.0 => $libdir/libdocrag.so.0 " <(LD_LIBRARY_PATH=$libdir ldd "$work/consumer" 2>&1)
# Defaults only: no configuration file or database from the environment.
if (cd "$work" && env -u DOCRAG_CONFIG -u DOCRAG_DB -u DOCRAG_PROFILE LD_LIBRARY_PATH="$libdir" \
        ./consumer "$work" "$version" >"$T/consumer.out" 2>&1); then
    pass "consumer runs against the installed library: $(tail -1 "$T/consumer.out")"
else
    fail "consumer runs against the installed library"
fi
cat "$T/consumer.out"

# The installed CLI reads what the library wrote.
"$prefix/bin/docrag" search --db "$work/consumer.db" --json wombat >"$T/cli.json" 2>"$T/cli.err" || cat "$T/cli.err"
check "the installed CLI finds the consumer's document" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["results"] and o["results"][0]["doc"].endswith("wombat.txt"), o' "$T/cli.json"
finish
