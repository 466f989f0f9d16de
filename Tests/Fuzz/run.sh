#!/usr/bin/env bash
# Fuzzes ComfyWire with libFuzzer: the JSON parser and serializer (round trip) and PromptValidator.
# Not run by CI. From the repo root:
#
#   Tests/Fuzz/run.sh                     # build, then fuzz for FUZZ_SECONDS (default 1800)
#   FUZZ_SECONDS=60 Tests/Fuzz/run.sh     # a short run
#   Tests/Fuzz/run.sh CRASH-FILE...       # build, then run only the given inputs (reproduce a crash)
#
# Everything goes to .build-fuzz/ (gitignored): the binary, the corpus (kept between runs) in
# .build-fuzz/corpus, crash/timeout inputs in .build-fuzz/artifacts, the log in .build-fuzz/fuzz.log.
# Environment: SWIFTC (default: swiftc on PATH, else /opt/swift/usr/bin/swiftc), FUZZ_SECONDS,
# FUZZ_MAX_LEN (default 4096 bytes), FUZZ_OPT (default -O; -Onone if -O misbehaves).
set -euo pipefail
cd "$(dirname "$0")/../.."

out=.build-fuzz
swiftc=${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}
mkdir -p "$out/corpus" "$out/artifacts"

# One module named ComfyWire: its sources plus the entry file, so the entry file needs no import.
sources=()
while IFS= read -r file; do sources+=("$file"); done < <(find Sources/ComfyWire -name '*.swift' | LC_ALL=C sort)
echo "Building $out/fuzz-comfywire from ${#sources[@]} ComfyWire sources" >&2
"$swiftc" -sanitize=fuzzer,address -parse-as-library "${FUZZ_OPT:--O}" -g -use-ld=lld \
    -swift-version 6 -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility \
    -module-name ComfyWire "${sources[@]}" Tests/Fuzz/FuzzComfyWire.swift -lm \
    -o "$out/fuzz-comfywire"

export FUZZ_OBJECT_INFO="$PWD/Tests/Fuzz/object_info.json"
# LeakSanitizer reports false leaks for Swift: multi-payload enums (JSONValue) keep their case in a
# pointer's spare bits, so LSan does not see those pointers. ComfyWire is all value types anyway.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
# Swift's own crash backtracer fights ASan's and libFuzzer's handlers (and can hang): leave crashes to them.
export SWIFT_BACKTRACE=enable=no
symbolizer=$(dirname "$swiftc")/llvm-symbolizer
[[ -x $symbolizer ]] && export ASAN_SYMBOLIZER_PATH="$symbolizer"

if [[ $# -gt 0 ]]; then
    exec "$out/fuzz-comfywire" "$@"
fi

# Seeds: recorded POST /prompt bodies and edge cases (Tests/Fuzz/seeds), the example workflow(s),
# and the recorded HTTP exchanges (any JSON); existing corpus files are kept.
max_len=${FUZZ_MAX_LEN:-4096}
for seed in Tests/Fuzz/seeds/*.json Examples/*.json Tests/SimulatedNodeTests/Recordings/http/*.json; do
    [[ -f $seed && $(wc -c < "$seed") -le $max_len ]] || continue
    dest="$out/corpus/seed-$(basename "$seed")"
    [[ -e $dest ]] || cp "$seed" "$dest"
done

"$out/fuzz-comfywire" \
    -max_total_time="${FUZZ_SECONDS:-1800}" -max_len="$max_len" -timeout=10 -detect_leaks=0 -print_final_stats=1 \
    -dict=Tests/Fuzz/json.dict -artifact_prefix="$out/artifacts/" \
    "$out/corpus" 2>&1 | tee "$out/fuzz.log"
exit "${PIPESTATUS[0]}"
