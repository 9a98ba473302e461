#!/usr/bin/env bash
# Smoke test of the BUILT bundle, headless and without network:
#   packaging/smoke_test.sh [BUNDLE_DIR]        (default dist/ecgviewer)
#
# Runs `BUNDLE_DIR/ecgviewer --smoke-test OUT.png` (ecgviewer/smoke.py: open the bundled demo
# ECG, score it with the bundled weights, export the report PNG, check the result) with
#   - QT_QPA_PLATFORM=offscreen: no display needed;
#   - a fresh empty data directory and working directory outside the source tree;
#   - `unshare -n`: a new network namespace whose only interface is a loopback that is down,
#     so any network access would fail (needs root, or unprivileged user namespaces: it then
#     tries `unshare -r -n`); the interfaces seen inside are printed;
#   - strace, when installed: every socket() and connect() of the process tree is logged and
#     the test fails if any IPv4/IPv6 socket is opened at all (Unix sockets are allowed).
# Prints the smoke test's JSON line; exit status 0 when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=$(cd "${1:-dist/ecgviewer}" && pwd)
exe="$bundle/ecgviewer"
[ -x "$exe" ] || { echo "smoke_test.sh: no executable at $exe (run packaging/build.sh)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if unshare -n true 2>/dev/null; then
  net=(unshare -n)
elif unshare -r -n true 2>/dev/null; then
  net=(unshare -r -n)
else
  echo "smoke_test.sh: cannot create a network namespace (not root, no user namespaces)" >&2
  exit 1
fi
echo "network namespace: ${net[*]}; interfaces inside:"
"${net[@]}" sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1; ip -o link 2>/dev/null || true' \
  | sed 's/^/  /'

trace=()
if command -v strace >/dev/null; then
  trace=(strace -f -qq -e trace=socket,connect -o "$work/net.trace")
fi
cd "$work"
start=$(date +%s%N)
set +e
"${net[@]}" env -u PYTHONPATH -u PYTHONHOME QT_QPA_PLATFORM=offscreen \
  ECGVIEWER_DATA_DIR="$work/userdata" "${trace[@]}" "$exe" --smoke-test "$work/report.png" \
  > "$work/out.json" 2> "$work/err.log"
rc=$?
set -e
ms=$(( ($(date +%s%N) - start) / 1000000 ))
cat "$work/out.json"
echo "exit status $rc, $ms ms wall (including start-up)"
fail=0
if [ "$rc" != 0 ]; then
  echo "--- stderr ---"; tail -n 30 "$work/err.log"; fail=1
fi
grep -q '"ok": true' "$work/out.json" || { echo "FAIL: smoke test did not report ok"; fail=1; }
grep -q '"frozen": true' "$work/out.json" || { echo "FAIL: not run from the frozen bundle"; fail=1; }
if [ ${#trace[@]} -gt 0 ]; then
  inet=$(grep -cE 'AF_INET6?[,)]|sa_family=AF_INET' "$work/net.trace" || true)
  total=$(grep -cE '(socket|connect)\(' "$work/net.trace" || true)
  echo "strace: $total socket()/connect() calls, $inet of them IPv4/IPv6"
  if [ "$inet" != 0 ]; then
    grep -E 'AF_INET6?[,)]|sa_family=AF_INET' "$work/net.trace" | head; fail=1
  fi
else
  echo "strace: not installed; network namespace only"
fi
[ "$fail" = 0 ] && echo "SMOKE TEST PASSED" || echo "SMOKE TEST FAILED"
exit "$fail"
