# Sourced by the browser checks: starts `conductor demo` and waits until it is ready.
#
# start_demo ARGS... runs "$conductor" demo ARGS in the background ($demo is its pid, its log $work/demo.log) and
# waits until the caller's ready_probe function succeeds (up to 30 s). A demo that exits before it is ready
# (a crash) is reported with its whole log and started once more on the same data directory, so a rare crash at
# start-up shows in the output (and in $work/demo-exit-N.log) without hiding a demo that never starts.
start_demo() {
    local attempt status
    for attempt in 1 2; do
        "$conductor" demo "$@" >"$work/demo.log" 2>&1 &
        demo=$!
        for _ in $(seq 150); do
            ready_probe && return 0
            kill -0 "$demo" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$demo" 2>/dev/null && return 1  # running but never ready: no second chance
        wait "$demo"
        status=$?
        demo=
        cp "$work/demo.log" "$work/demo-exit-$attempt.log"
        echo "WARNING: conductor demo exited with status $status before it was ready (start $attempt of 2); its log:"
        sed 's/^/    /' "$work/demo-exit-$attempt.log"
    done
    return 1
}
