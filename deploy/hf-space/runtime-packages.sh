#!/bin/sh
# runtime-packages.sh - the Debian packages a docrag binary needs at run time.
#
#   runtime-packages.sh BINARY...                    print them, one a line
#   runtime-packages.sh --check LIST BINARY...       compare with LIST (exit 1 if they differ)
#
# "Needs" = the packages that own every library `ldd` resolves for the
# binaries (the whole closure, not only the direct NEEDED entries), found
# with `dpkg -S`; so it runs where the binaries were built (the Dockerfile's
# build stage, or this machine). LIST is runtime-packages.txt: one package a
# line, `#` comments; lines marked `# extra` are packages that are not
# libraries (TLS roots, curl for the HEALTHCHECK) and are not compared.
set -eu

owner() { # the package owning a library file; usrmerge: try both spellings
    real=$(realpath "$1")
    for p in "$real" "${real#/usr}" "/usr$real" "$1"; do
        if out=$(dpkg -S "$p" 2>/dev/null); then
            echo "${out%%:*}" | sed 's/,.*//'
            return 0
        fi
    done
    echo "runtime-packages.sh: no package owns $1 ($real)" >&2
    return 1
}

needed() {
    for bin in "$@"; do
        [ -e "$bin" ] || { echo "runtime-packages.sh: $bin: no such file" >&2; return 1; }
        if ldd "$bin" | grep -q 'not found'; then
            echo "runtime-packages.sh: $bin: ldd reports missing libraries:" >&2
            ldd "$bin" | grep 'not found' >&2
            return 1
        fi
    done
    # "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)"; the vdso has no file
    for bin in "$@"; do
        ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'
    done | sort -u | while read -r lib; do owner "$lib" || echo "?unowned:$lib"; done | sort -u
}

if [ "${1:-}" = --check ]; then
    list=$2
    shift 2
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    needed "$@" >"$tmp/needed" || exit 1
    if grep -q '^?unowned:' "$tmp/needed"; then
        exit 1
    fi
    grep -v '#[[:space:]]*extra' "$list" | sed 's/#.*//; s/[[:space:]]//g; /^$/d' | sort -u >"$tmp/listed"
    if ! cmp -s "$tmp/needed" "$tmp/listed"; then
        echo "runtime-packages.sh: $list is out of step with ldd of $*:" >&2
        comm -23 "$tmp/needed" "$tmp/listed" | sed 's/^/  missing from the list: /' >&2
        comm -13 "$tmp/needed" "$tmp/listed" | sed 's/^/  listed but not needed: /' >&2
        echo "  regenerate: $0 $*" >&2
        exit 1
    fi
    echo "runtime-packages.sh: $list matches ldd of $* ($(wc -l <"$tmp/needed") packages)"
    exit 0
fi
[ $# -gt 0 ] || { echo "usage: $0 [--check LIST] BINARY..." >&2; exit 2; }
out=$(needed "$@") || exit 1
echo "$out"
case $out in *'?unowned:'*) exit 1 ;; esac
