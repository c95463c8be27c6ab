#!/bin/sh
# stage-app.sh - lay out the Space image's app directory from files.txt.
#
#   stage-app.sh SRC APP    SRC: the repository (or its copy in the build stage);
#                           APP: the app directory to fill (created; must be empty)
#
# The Dockerfile runs it in the build stage and copies APP to /home/user/app;
# tests/integration/deploy_hf_space.sh runs it to get the same directory.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 SRC APP" >&2; exit 2; }
src=$1
app=$2
list=$src/deploy/hf-space/files.txt
[ -f "$list" ] || { echo "stage-app.sh: $list: no such file" >&2; exit 1; }
mkdir -p "$app"
if [ -n "$(ls -A "$app")" ]; then
    echo "stage-app.sh: $app is not empty" >&2
    exit 1
fi
sed 's/#.*//' "$list" | while read -r kind from to rest; do
    [ "$kind" = app ] || continue
    if [ -z "$to" ] || [ -n "$rest" ]; then
        echo "stage-app.sh: $list: expected 'app SRC DEST', got 'app $from $to $rest'" >&2
        exit 1
    fi
    case $to in
        /* | *..*) echo "stage-app.sh: $list: DEST must be relative: $to" >&2; exit 1 ;;
    esac
    if [ ! -e "$src/$from" ]; then
        echo "stage-app.sh: $list: $from: no such file in $src" >&2
        exit 1
    fi
    mkdir -p "$(dirname "$app/$to")"
    if [ -d "$src/$from" ]; then
        mkdir -p "$app/$to"
        cp -R "$src/$from/." "$app/$to/"
    else
        cp "$src/$from" "$app/$to"
    fi
done
chmod 755 "$app/entrypoint.sh"
echo "stage-app.sh: $app: $(find "$app" -type f | wc -l) files"
