// LD_PRELOAD library for tests/python/test_kill_points.py: journals every change a program makes
// to one file, so that the test can rebuild the file as a SIGKILL would have left it at each of
// these changes (a kill can only fall between two system calls, or inside a write at a page
// boundary of the file), instead of killing at random moments and hoping to hit the rare ones.
//
//   NMSIM_JOURNAL=<path>         where the journal goes (nothing is journaled without it)
//   NMSIM_JOURNAL_MATCH=<text>   the file: any descriptor whose path contains <text>
//   NMSIM_JOURNAL_KILL_AFTER=<n> SIGKILL the program right after the n-th journaled change
//
// Records: kind (1 byte), a, b (little-endian int64), then b bytes of data for 'W':
//   'W' offset, length, data   pwrite/write     'F' offset, length   posix_fallocate/fallocate
//   'T' length, 0              ftruncate        'R' 0, 0             renamed to a matching name
// Other ways of writing (mmap, pwritev) are not journaled: the test checks that replaying the
// journal gives the file byte for byte.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int journal_fd = -2;  // -2: not opened yet, -1: off
static long changes = 0;

static void* real(const char* name) { return dlsym(RTLD_NEXT, name); }

static int matches_path(const char* path) {
  const char* m = getenv("NMSIM_JOURNAL_MATCH");
  return m && *m && path && strstr(path, m) != NULL;
}

static int matches_fd(int fd) {
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = 0;
  return matches_path(path);
}

static void put(const void* p, size_t n) {
  // The raw system call: the journal's own writes must not come back through write() below.
  const char* c = p;
  while (n > 0) {
    const long w = syscall(SYS_write, journal_fd, c, n);
    if (w <= 0) abort();
    c += w;
    n -= (size_t)w;
  }
}

// Called after a change succeeded (`len` bytes for 'W').
static void record(char kind, int64_t a, int64_t b, const void* data) {
  pthread_mutex_lock(&mu);
  if (journal_fd == -2) {
    const char* j = getenv("NMSIM_JOURNAL");
    journal_fd = j ? open(j, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
  }
  if (journal_fd >= 0) {
    char head[17];
    head[0] = kind;
    memcpy(head + 1, &a, 8);
    memcpy(head + 9, &b, 8);
    put(head, sizeof head);
    if (kind == 'W' && b > 0) put(data, (size_t)b);
    const char* k = getenv("NMSIM_JOURNAL_KILL_AFTER");
    if (k && ++changes == atol(k)) {
      // Like the kill test's SIGKILL: no destructor, no flush, no atexit.
      kill(getpid(), SIGKILL);
      for (;;) pause();
    }
  }
  pthread_mutex_unlock(&mu);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  ssize_t (*f)(int, const void*, size_t, off_t) = (ssize_t(*)(int, const void*, size_t, off_t))real("pwrite");
  const ssize_t r = f(fd, buf, n, off);
  if (r > 0 && matches_fd(fd)) record('W', off, r, buf);
  return r;
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off_t off) { return pwrite(fd, buf, n, off); }

ssize_t write(int fd, const void* buf, size_t n) {
  ssize_t (*f)(int, const void*, size_t) = (ssize_t(*)(int, const void*, size_t))real("write");
  const int journaled = matches_fd(fd);
  const off_t off = journaled ? lseek(fd, 0, SEEK_CUR) : 0;
  const ssize_t r = f(fd, buf, n);
  if (r > 0 && journaled) record('W', off, r, buf);
  return r;
}

int ftruncate(int fd, off_t len) {
  int (*f)(int, off_t) = (int (*)(int, off_t))real("ftruncate");
  const int r = f(fd, len);
  if (r == 0 && matches_fd(fd)) record('T', len, 0, NULL);
  return r;
}

int ftruncate64(int fd, off_t len) { return ftruncate(fd, len); }

int posix_fallocate(int fd, off_t off, off_t len) {
  int (*f)(int, off_t, off_t) = (int (*)(int, off_t, off_t))real("posix_fallocate");
  const int r = f(fd, off, len);
  if (r == 0 && matches_fd(fd)) record('F', off, len, NULL);
  return r;
}

int posix_fallocate64(int fd, off_t off, off_t len) { return posix_fallocate(fd, off, len); }

int fallocate(int fd, int mode, off_t off, off_t len) {
  int (*f)(int, int, off_t, off_t) = (int (*)(int, int, off_t, off_t))real("fallocate");
  const int r = f(fd, mode, off, len);
  // Only plain allocation (mode 0) is replayed as such; anything else would make the replayed
  // file differ, which the test reports.
  if (r == 0 && mode == 0 && matches_fd(fd)) record('F', off, len, NULL);
  return r;
}

int fallocate64(int fd, int mode, off_t off, off_t len) { return fallocate(fd, mode, off, len); }

int rename(const char* from, const char* to) {
  int (*f)(const char*, const char*) = (int (*)(const char*, const char*))real("rename");
  const int r = f(from, to);
  if (r == 0 && matches_path(to)) record('R', 0, 0, NULL);
  return r;
}
