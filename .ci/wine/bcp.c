/* Stand-in bcryptprimitives.dll for Wine 8, which lacks ProcessPrng (Bun's windows-x64 build
   needs it at start-up). Built and installed by .ci/wine/lane.sh into the lane's own prefix. */
#include <windows.h>
#include <ntsecapi.h>
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE p, SIZE_T n) {
  while (n) { ULONG c = n > 0x40000000 ? 0x40000000 : (ULONG)n;
    if (!RtlGenRandom(p, c)) return FALSE; p += c; n -= c; }
  return TRUE; }
