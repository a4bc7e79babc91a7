/* fault_io.c - an LD_PRELOAD shim for fault tests.
 *
 * J6: fdatasync() and fsync() fail once with EIO when the file named by FERRY_FAULT_FSYNC_ONCE
 * exists (with FERRY_FAULT_IO_DIR set: only a sync of a segment in that journal). The shim removes that file as it fails, so exactly one call fails however many
 * threads race; every other call goes to the C library. The bytes written before stay on disk
 * (only the answer is wrong), which is what a real disk reporting a failed flush may or may
 * not do: the test checks that Ferry never counts on them.
 *
 * K3: with FERRY_FAULT_IO_LOG=<file> and FERRY_FAULT_IO_DIR=<journal dir>, every pwrite() to
 * a segment (<dir>/<name>.seg, not the dead-letter journal below it) and every fdatasync() /
 * fsync() of one is logged with CLOCK_REALTIME microseconds, the clock tcpdump stamps packets
 * with: "W <us> <fd> <offset> <bytes>" after the write returned, "S <start us> <end us> <fd>"
 * around the sync. Each time is taken inside the call that a later event causally waits for
 * (the journal's mutex or its sync wake-up), so the order of the log and a capture holds. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

int fdatasync(int fd);
int fsync(int fd);
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off);

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* 1 when fd is a segment file directly in FERRY_FAULT_IO_DIR. */
static int is_segment(int fd)
{
    const char *dir = getenv("FERRY_FAULT_IO_DIR");
    char link[64], path[4096];
    size_t dl;
    ssize_t n;

    if (dir == NULL) {
        return 0;
    }
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof(path) - 1);
    if (n <= 0) {
        return 0;
    }
    path[n] = '\0';
    dl = strlen(dir);
    return strncmp(path, dir, dl) == 0 && path[dl] == '/' && strchr(path + dl + 1, '/') == NULL &&
           n > 4 && strcmp(path + n - 4, ".seg") == 0;
}

static void log_line(const char *line)
{
    const char *path = getenv("FERRY_FAULT_IO_LOG");
    static int fd = -1;

    pthread_mutex_lock(&log_mu);
    if (fd < 0 && path != NULL) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }
    if (fd >= 0 && write(fd, line, strlen(line)) < 0) {
        /* a test tool: a lost line makes the check fail, it cannot hurt Ferry */
    }
    pthread_mutex_unlock(&log_mu);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    ssize_t rc;
    int saved;

    if (real == NULL) {
        real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
    }
    rc = real(fd, buf, n, off);
    saved = errno;
    if (rc > 0 && getenv("FERRY_FAULT_IO_LOG") != NULL && is_segment(fd)) {
        char line[128];
        snprintf(line, sizeof(line), "W %lld %d %lld %zd\n", now_us(), fd, (long long)off, rc);
        log_line(line);
    }
    errno = saved;
    return rc;
}

/* The J6 trigger: with FERRY_FAULT_IO_DIR set, only a segment's sync trips (a cursor's
 * failed fsync only means a replay from the older cursor slot: Ferry logs it and goes on). */
static int trip(int fd)
{
    const char *path = getenv("FERRY_FAULT_FSYNC_ONCE");
    int saved = errno, won;

    if (path == NULL || (getenv("FERRY_FAULT_IO_DIR") != NULL && !is_segment(fd))) {
        return 0;
    }
    won = unlink(path) == 0; /* unlink succeeds for one caller only */
    errno = saved;
    return won;
}

/* Run the real sync, logging it when fd is a segment. */
static int logged_sync(int (*real)(int), int fd)
{
    int seg = getenv("FERRY_FAULT_IO_LOG") != NULL && is_segment(fd), rc, saved;
    long long t0 = seg ? now_us() : 0;

    rc = real(fd);
    saved = errno;
    if (seg && rc == 0) {
        char line[128];
        snprintf(line, sizeof(line), "S %lld %lld %d\n", t0, now_us(), fd);
        log_line(line);
    }
    errno = saved;
    return rc;
}

int fdatasync(int fd)
{
    static int (*real)(int);

    if (trip(fd)) {
        errno = EIO;
        return -1;
    }
    if (real == NULL) {
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    }
    return logged_sync(real, fd);
}

int fsync(int fd)
{
    static int (*real)(int);

    if (trip(fd)) {
        errno = EIO;
        return -1;
    }
    if (real == NULL) {
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    }
    return logged_sync(real, fd);
}
