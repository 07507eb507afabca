/*
 * The Wine lane's fake agent and fake pre/post command: a small Windows program (built with
 * mingw-w64 by .ci/wine/lane.sh) that records how it was started and then does what its
 * behaviour file says. Tests copy it into a tree's Bin\ under any name (x.exe, or behind a
 * .cmd/.bat that calls it).
 *
 * Record: one JSON file per start in %FAKE_RECORD_DIR% (else %CNCOP_HOME%\calls), named
 * <program>-<pid>-<tick>.json: {"program", "commandLine", "argv": [...], "cwd",
 * "env": {every CNCOP_* and FAKE_VIA}}. Strings are written as JSON with \uXXXX escapes.
 *
 * Behaviour: the file <this exe's full path>.fake (e.g. Bin\tool.exe.fake), lines key=value:
 *   wait=<file>   wait until that file exists (polls every 20 ms, at most 120 s)
 *   out=<text>    write text and CRLF to stdout      err=<text>  the same to stderr
 *   sleep=<ms>    sleep                              exit=<n>    exit status (default 0)
 *   first=<n>     exit status when CNCOP_ATTEMPT is 1 (a RE-RUN on the first attempt)
 * Lines run in order; without the file it records and exits 0.
 */
#include <windows.h>
#include <shellapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

static void put_json_string(FILE *f, const wchar_t *s) {
  fputc('"', f);
  for (; *s; s++) {
    wchar_t c = *s;
    if (c == L'"' || c == L'\\') fprintf(f, "\\%c", (char)c);
    else if (c >= 0x20 && c < 0x7f) fputc((char)c, f);
    else fprintf(f, "\\u%04x", (unsigned)c);
  }
  fputc('"', f);
}

static void record(int argc, wchar_t **argv) {
  wchar_t dir[4096], path[4200], tmp[4210], exe[4096], cwd[4096];
  DWORD n = GetEnvironmentVariableW(L"FAKE_RECORD_DIR", dir, 4096);
  if (n == 0 || n >= 4096) {
    n = GetEnvironmentVariableW(L"CNCOP_HOME", dir, 4000);
    if (n == 0 || n >= 4000) return;
    wcscat(dir, L"\\calls");
  }
  CreateDirectoryW(dir, NULL);
  GetModuleFileNameW(NULL, exe, 4096);
  const wchar_t *base = wcsrchr(exe, L'\\');
  base = base ? base + 1 : exe;
  swprintf(path, 4200, L"%ls\\%ls-%lu-%lu.json", dir, base, (unsigned long)GetCurrentProcessId(), (unsigned long)GetTickCount());
  /* Written under a temporary name, then renamed: a reader never sees half a record. */
  swprintf(tmp, 4210, L"%ls.tmp", path);
  FILE *f = _wfopen(tmp, L"wb");
  if (!f) return;
  fputs("{\"program\":", f);
  put_json_string(f, exe);
  fputs(",\"commandLine\":", f);
  put_json_string(f, GetCommandLineW());
  GetCurrentDirectoryW(4096, cwd);
  fputs(",\"cwd\":", f);
  put_json_string(f, cwd);
  fputs(",\"argv\":[", f);
  for (int i = 1; i < argc; i++) {
    if (i > 1) fputc(',', f);
    put_json_string(f, argv[i]);
  }
  fputs("],\"env\":{", f);
  wchar_t *env = GetEnvironmentStringsW();
  int first = 1;
  for (wchar_t *e = env; *e; e += wcslen(e) + 1) {
    if (_wcsnicmp(e, L"CNCOP_", 6) != 0 && _wcsnicmp(e, L"FAKE_VIA=", 9) != 0) continue;
    wchar_t *eq = wcschr(e + 1, L'=');
    if (!eq) continue;
    if (!first) fputc(',', f);
    first = 0;
    *eq = 0;
    put_json_string(f, e);
    fputc(':', f);
    put_json_string(f, eq + 1);
    *eq = L'=';
  }
  FreeEnvironmentStringsW(env);
  fputs("}}", f);
  fclose(f);
  MoveFileExW(tmp, path, MOVEFILE_REPLACE_EXISTING);
}

int wmain(void) {
  int argc = 0;
  wchar_t **argv = CommandLineToArgvW(GetCommandLineW(), &argc);
  record(argc, argv);
  wchar_t exe[4096], conf[4200];
  GetModuleFileNameW(NULL, exe, 4096);
  swprintf(conf, 4200, L"%ls.fake", exe);
  FILE *f = _wfopen(conf, L"rb");
  int status = 0;
  if (!f) return 0;
  char line[8192];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = 0;
    const char *v = eq + 1;
    if (!strcmp(line, "exit")) status = atoi(v);
    else if (!strcmp(line, "first")) {
      char attempt[16] = "";
      GetEnvironmentVariableA("CNCOP_ATTEMPT", attempt, sizeof attempt);
      if (!strcmp(attempt, "1")) status = atoi(v);
    }
    else if (!strcmp(line, "sleep")) Sleep((DWORD)atoi(v));
    else if (!strcmp(line, "out")) { printf("%s\r\n", v); fflush(stdout); }
    else if (!strcmp(line, "err")) { fprintf(stderr, "%s\r\n", v); fflush(stderr); }
    else if (!strcmp(line, "wait")) {
      for (int i = 0; i < 6000 && GetFileAttributesA(v) == INVALID_FILE_ATTRIBUTES; i++) Sleep(20);
    }
  }
  fclose(f);
  return status;
}
