#!/bin/bash
# `docrag docs` lists each document with the title and version it states;
# search and ask show them (text: "Title, version V (file)"; JSON: "title",
# "version"); rows an older extractor filled are re-read by the next
# `docrag index`, which gives unchanged files their titles.
. "$(dirname "$0")/lib.bash"
mkdir -p "$T/docs"
printf '# Quokka Field Guide\n\nVersion 1.2\n\nThe quokka is a small marsupial of Rottnest Island.\n' >"$T/docs/guide.md"
printf 'the mcause register holds the trap cause\n' >"$T/docs/plain.txt"
printf 'chains:\n  embed: [none]\n' >"$T/c.yaml"
C=(--config "$T/c.yaml" --db "$T/x.db")
"$DOCRAG_BIN" index "${C[@]}" "$T/docs" >/dev/null

"$DOCRAG_BIN" docs "${C[@]}" >"$T/docs.out"
check "docs: a header with the columns" \
    grep -qE '^ +id +title +version +kind +pages +chunks +file$' "$T/docs.out"
check "docs: the Markdown's title and version, kind, file" \
    grep -qE '^ +[0-9]+ +Quokka Field Guide +1\.2 +markdown +1 +[0-9]+ +guide\.md$' "$T/docs.out"
check "docs: a document that states nothing: its file name, version -" \
    grep -qE '^ +[0-9]+ +plain\.txt +- +text ' "$T/docs.out"
"$DOCRAG_BIN" docs "${C[@]}" --json >"$T/docs.json"
check "docs --json: title, version, date on each document" \
    py -c 'import json,sys; d={x["name"]:x for x in json.load(open(sys.argv[1]))["documents"]}; assert d["guide.md"]["title"]=="Quokka Field Guide" and d["guide.md"]["version"]=="1.2" and d["plain.txt"]["version"]=="" and "date" in d["plain.txt"], d' "$T/docs.json"
"$DOCRAG_BIN" search "${C[@]}" quokka marsupial >"$T/s.out"
check "search text: title, version and file name" \
    grep -q 'Quokka Field Guide, version 1.2 (guide.md)' "$T/s.out"
"$DOCRAG_BIN" search "${C[@]}" --json quokka marsupial >"$T/s.json"
check "search --json: title and version" \
    py -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; assert r["title"]=="Quokka Field Guide" and r["version"]=="1.2", r' "$T/s.json"
"$DOCRAG_BIN" ask "${C[@]}" --json "What is the quokka?" >"$T/a.json"
check "ask --json: citations carry title and version" \
    py -c 'import json,sys; c=json.load(open(sys.argv[1]))["citations"]; assert c and c[0]["title"]=="Quokka Field Guide" and c[0]["version"]=="1.2", c' "$T/a.json"
"$DOCRAG_BIN" docs --config "$T/c.yaml" --db "$T/none.db" >"$T/none.out" 2>"$T/none.err" && st=0 || st=$?
check "docs on a missing index fails naming it" test "$st" -ne 0
check "... naming the file" grep -q "none.db" "$T/none.err"

# rows an older extractor filled (meta_rev 0, as after the upgrade from
# schema 1, which test_index covers): the next index re-reads those files
py -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("update documents set version=\"\", meta_rev=0"); c.commit()' "$T/x.db"
"$DOCRAG_BIN" index "${C[@]}" --json "$T/docs" >"$T/up.json"
check "meta_rev 0: the next index re-reads its unchanged files" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["updated"]==2 and o["unchanged"]==0, o' "$T/up.json"
"$DOCRAG_BIN" docs "${C[@]}" --json >"$T/v2.json"
check "... and gives them their versions again" \
    py -c 'import json,sys; d={x["name"]:x for x in json.load(open(sys.argv[1]))["documents"]}; assert d["guide.md"]["title"]=="Quokka Field Guide" and d["guide.md"]["version"]=="1.2", d' "$T/v2.json"
check "... and the index is sound" "$DOCRAG_BIN" check "${C[@]}"
"$DOCRAG_BIN" index "${C[@]}" --json "$T/docs" >"$T/again.json"
check "then unchanged files are skipped again" \
    py -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["unchanged"]==2, o' "$T/again.json"

# --prefer-newest: the same passage in two versions of one guide -> the newest
mkdir -p "$T/v"
printf '# Wombat Field Guide\n\nVersion 1.2\n\nThe wombat digs burrows with its strong claws and rests by day.\n' >"$T/v/old.md"
printf '# Wombat Field Guide\n\nVersion 1.10\n\nThe wombat digs burrows with its strong claws and rests by day.\n' >"$T/v/new.md"
V=(--config "$T/c.yaml" --db "$T/v.db")
"$DOCRAG_BIN" index "${V[@]}" "$T/v" >/dev/null
"$DOCRAG_BIN" search "${V[@]}" --json wombat burrows claws >"$T/both.json"
check "without the option both versions match" \
    py -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; assert sorted(x["version"] for x in r)==["1.10","1.2"], r' "$T/both.json"
"$DOCRAG_BIN" search "${V[@]}" --prefer-newest --json wombat burrows claws >"$T/newest.json"
check "--prefer-newest keeps the newest version's passage only" \
    py -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; assert [x["version"] for x in r]==["1.10"], r' "$T/newest.json"
"$DOCRAG_BIN" ask "${V[@]}" --prefer-newest --json "How does the wombat dig burrows?" >"$T/newest.a.json"
check "ask --prefer-newest cites the newest version" \
    py -c 'import json,sys; c=json.load(open(sys.argv[1]))["citations"]; assert c and all(x["version"]=="1.10" for x in c), c' "$T/newest.a.json"
finish
