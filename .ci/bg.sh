# Sourced by .ci/run and .ci/web-tests.sh: waiting for an item of CI's background queue
# (.ci/background.sh). Outside CI (ASSAY_CI_BG unset) nothing waits and every script installs
# and builds what it needs itself, as before.

# bg_wait ITEM: blocks until the queue has finished ITEM (or ended without it); says how long
# it waited and how the item went. Returns 0 when the item is done, 1 otherwise (the caller
# then does the work itself).
bg_wait() {
    local item=$1 dir=${ASSAY_CI_BG:-} t=$SECONDS
    [ -n "$dir" ] || return 1
    # (ASSAY_CI_BG_PID: the queue's process; a queue killed without its EXIT trap has ended too)
    while [ ! -e "$dir/$item.done" ] && [ ! -e "$dir/$item.failed" ] && [ ! -e "$dir/queue.ended" ]; do
        if [ -n "${ASSAY_CI_BG_PID:-}" ] && ! kill -0 "$ASSAY_CI_BG_PID" 2>/dev/null; then break; fi
        sleep 1
    done
    if [ -e "$dir/$item.done" ]; then
        echo "background: $item done in $(cat "$dir/$item.done") s (waited $((SECONDS - t)) s for it)"
        return 0
    fi
    if [ -e "$dir/$item.failed" ]; then
        echo "background: $item failed after $(cat "$dir/$item.failed") s; done here instead. Its log ends:"
        tail -15 "$dir/$item.log" 2>/dev/null || true
    else
        echo "background: the queue ended without $item; done here instead"
    fi
    return 1
}
