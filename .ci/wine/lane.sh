#!/usr/bin/env bash
# The Wine lane: the Windows end-to-end suite (test/wine/*.test.ts) run by bun on Linux
# against dist/windows-x64 under Wine. Everything comes from the repo's own files:
#   1. the stand-in bcryptprimitives.dll (.ci/wine/bcp.c: Wine 8 lacks ProcessPrng, which
#      Bun's windows-x64 build needs) and the fake agent (.ci/wine/fakeagent.c), with mingw-w64;
#   2. a Wine prefix of its own (wineboot -i, ~12 s), the DLL put in its system32; or, when
#      CNCOP_WINEPREFIX names a prefix that already holds the DLL, that one (local runs,
#      e.g. CNCOP_WINEPREFIX=/work/wine/prefix): it is used as it is and never stopped;
#   3. dist/windows-x64 (bun scripts/build.ts --target=windows-x64);
#   4. bun test test/wine, then one line "wine lane: N passed, N failed".
# Arguments (e.g. one file) replace `test/wine` for `bun test`. Exit status: bun test's.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
export PATH="$repo/node_modules/.bin:$PATH"
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" DISPLAY=
started=$(date +%s)

fail() { echo "wine lane: $*"; echo "wine lane: 0 passed, 1 failed"; exit 1; }
for tool in wine wineboot wineserver winepath x86_64-w64-mingw32-gcc; do
  command -v "$tool" >/dev/null || fail "$tool is missing (Debian packages: .ci/packages/wine.txt)"
done

tools="$repo/dist/wine-tools"
mkdir -p "$tools"
x86_64-w64-mingw32-gcc -O2 -shared -s -o "$tools/bcryptprimitives.dll" .ci/wine/bcp.c .ci/wine/bcp.def -ladvapi32 \
  || fail "building the stand-in bcryptprimitives.dll failed"
x86_64-w64-mingw32-gcc -O2 -municode -s -o "$tools/fakeagent.exe" .ci/wine/fakeagent.c -lshell32 \
  || fail "building the fake agent failed"

own=""
cleanup() { # this lane's own prefix only: a prefix given by CNCOP_WINEPREFIX is never stopped
  if [ -n "$own" ]; then
    WINEPREFIX="$own/prefix" wineserver -k 2>/dev/null
    rm -rf "$own"
  fi
}
trap cleanup EXIT
if [ -n "${CNCOP_WINEPREFIX:-}" ]; then
  [ -f "$CNCOP_WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" ] \
    || fail "CNCOP_WINEPREFIX=$CNCOP_WINEPREFIX holds no system32/bcryptprimitives.dll"
  export WINEPREFIX="$CNCOP_WINEPREFIX"
  echo "wine lane: using the prefix $WINEPREFIX"
else
  own=$(mktemp -d /tmp/cncop-wineprefix-XXXXXX)
  export WINEPREFIX="$own/prefix"
  echo "wine lane: making a Wine prefix in $WINEPREFIX"
  wineboot -i >"$own/wineboot.log" 2>&1 || { tail -20 "$own/wineboot.log"; fail "wineboot -i failed"; }
  wineserver -w
  cp "$tools/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/" || fail "cannot install the stand-in DLL"
  # One wineserver for the whole lane: no start-up per program (stopped by cleanup: this prefix only).
  wineserver -p
  # Wine's services (services.exe, winedevice.exe, ...) start with the first program of the
  # prefix and inherit its output pipes: start them now, with output to /dev/null.
  wine cmd.exe /c exit 0 </dev/null >/dev/null 2>&1
fi
export CNCOP_WINEPREFIX="$WINEPREFIX"

bun scripts/build.ts --target=windows-x64 >/dev/null || fail "building dist/windows-x64 failed"

out=$(mktemp)
if [ "$#" -eq 0 ]; then set -- test/wine; fi
bun test --timeout 180000 "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
pass=$(grep -Eo '^ *[0-9]+ pass$' "$out" | tail -1 | grep -Eo '[0-9]+')
fail=$(grep -Eo '^ *[0-9]+ fail$' "$out" | tail -1 | grep -Eo '[0-9]+')
rm -f "$out"
pass=${pass:-0}
fail=${fail:-0}
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo "wine lane: $((pass)) passed, $((fail)) failed in $(( $(date +%s) - started )) s"
exit "$status"
