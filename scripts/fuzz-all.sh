#!/usr/bin/env bash
# fuzz-all.sh SECONDS - build the libFuzzer targets with clang (ASan+UBSan) and run each for
# SECONDS (default 600), two at a time, from copies of tests/fuzz/corpus/<target>. Prints one
# line per target; exits non-zero if any target found a crash, leak, timeout or OOM.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-600}
build=${FERRY_FUZZ_BUILD:-$top/build-fuzz}
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DFERRY_FUZZ=ON -DFERRY_SANITIZE=address,undefined -DFERRY_BENCH=OFF >/dev/null
targets=$(cd "$top/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
ninja -C "$build" $targets >/dev/null
work=$(mktemp -d /tmp/ferry-fuzz.XXXXXX)
run() {
    local t=$1 name=${1#fuzz_} extra=""
    # SpiderMonkey allocates lazily across calls (caches that live as long as the engine), which
    # libFuzzer's per-input leak check reports; leaks are still checked at exit by the ASan
    # corpus replay (ctest fuzz-smoke.js), where the engine is shut down.
    [ "$name" = js ] && extra=-detect_leaks=0
    mkdir -p "$work/$name"
    cp "$top/tests/fuzz/corpus/$name"/* "$work/$name/"
    (cd "$work" && "$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=1 -rss_limit_mb=512 \
        -print_final_stats=1 $extra "$work/$name" > "$work/$name.log" 2>&1) && rc=0 || rc=$?
    echo "$name: exit $rc, $(grep -E 'stat::number_of_executed_units' "$work/$name.log" | awk '{print $2}') runs, corpus $(ls "$work/$name" | wc -l)"
}
fail=0
set -- $targets
while [ $# -gt 0 ]; do
    run "$1" > "$work/r1" & p1=$!
    if [ $# -gt 1 ]; then run "$2" > "$work/r2" & p2=$!; else p2=; fi
    wait $p1; cat "$work/r1"
    if [ -n "$p2" ]; then wait $p2; cat "$work/r2"; shift; fi
    shift
done | tee "$work/summary"
grep -q 'exit [^0]' "$work/summary" && fail=1
echo "logs and grown corpora: $work"
exit $fail
