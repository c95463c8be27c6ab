#!/bin/sh
# assemble.sh - make the Hugging Face Space repository for docrag.
#
#   deploy/hf-space/assemble.sh OUT [REF | --worktree]
#
# OUT gets (REF defaults to HEAD: what is committed; --worktree takes the
# files git tracks as they are in the work tree, for tests):
#   README.md, Dockerfile   from deploy/hf-space/ (the Space's front matter and image)
#   .gitattributes          every binary file through Git LFS (the Hub refuses
#                           binary files pushed as plain git objects)
#   docrag/                 the repository at REF less the `exclude` paths of
#                           files.txt: the Dockerfile's build stage builds it
# OUT may be a clone of the Space: everything in it but .git is replaced.
# docs/deploy.md shows how to push it.
set -eu
case $# in
    1 | 2) ;;
    *) echo "usage: $0 OUT [REF | --worktree]" >&2; exit 2 ;;
esac
out=$1
ref=${2:-HEAD}
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$ref" = --worktree ]; then
    list_cmd() { cat "$root/deploy/hf-space/files.txt"; }
else
    git -C "$root" rev-parse --verify -q "$ref^{commit}" >/dev/null ||
        { echo "assemble.sh: $ref is not a commit of $root" >&2; exit 1; }
    if [ "$ref" = HEAD ] && [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
        echo "assemble.sh: note: uncommitted changes in $root are not included (HEAD is)" >&2
    fi
    list_cmd() { git -C "$root" show "$ref:deploy/hf-space/files.txt"; }
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
find "$out" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +

set -- # pathspecs: everything but the excluded folders
for p in $(list_cmd | sed 's/#.*//' | awk '$1 == "exclude" { print $2 }'); do
    set -- "$@" ":(exclude)$p"
done
mkdir "$out/docrag"
if [ "$ref" = --worktree ]; then
    (cd "$root" && git ls-files -z -- . "$@" | tar --null -T - -cf -) | tar -x -C "$out/docrag"
else
    git -C "$root" archive --format=tar --prefix=docrag/ "$ref" -- . "$@" | tar -x -C "$out"
fi

cp "$out/docrag/deploy/hf-space/README.md" "$out/README.md"
cp "$out/docrag/deploy/hf-space/Dockerfile" "$out/Dockerfile"
{
    echo "# Binary files go through Git LFS (made by docrag's deploy/hf-space/assemble.sh)."
    (cd "$out" && find docrag -type f -size +0 -exec grep -IL . {} + | LC_ALL=C sort) |
        while read -r f; do
            case $f in *[[:space:]]*) echo "assemble.sh: cannot track a path with spaces: $f" >&2; exit 1 ;; esac
            echo "/$f filter=lfs diff=lfs merge=lfs -text"
        done
} >"$out/.gitattributes"

n_files=$(find "$out" -type f ! -path "$out/.git/*" | wc -l)
n_lfs=$(grep -c 'filter=lfs' "$out/.gitattributes" || true)
size=$(du -sh --exclude=.git "$out" | cut -f1)
from=$(git -C "$root" rev-parse --short HEAD)
[ "$ref" = --worktree ] && from="the work tree at $from" || from=$(git -C "$root" rev-parse --short "$ref")
echo "assemble.sh: $out: $n_files files ($size, $n_lfs binary through LFS) from $from"
