/* fault_io.c - an LD_PRELOAD shim for fault tests (battery row J6): fdatasync() and fsync()
 * fail once with EIO when the file named by FERRY_FAULT_FSYNC_ONCE exists. The shim removes
 * that file as it fails, so exactly one call fails however many threads race; every other
 * call goes to the C library. The bytes written before stay on disk (only the answer is
 * wrong), which is what a real disk reporting a failed flush may or may not do: the test
 * checks that Ferry never counts on them. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int fdatasync(int fd);
int fsync(int fd);

static int trip(void)
{
    const char *path = getenv("FERRY_FAULT_FSYNC_ONCE");
    int saved = errno;
    int won = path != NULL && unlink(path) == 0; /* unlink succeeds for one caller only */

    errno = saved;
    return won;
}

int fdatasync(int fd)
{
    static int (*real)(int);

    if (trip()) {
        errno = EIO;
        return -1;
    }
    if (real == NULL) {
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    }
    return real(fd);
}

int fsync(int fd)
{
    static int (*real)(int);

    if (trip()) {
        errno = EIO;
        return -1;
    }
    if (real == NULL) {
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    }
    return real(fd);
}
