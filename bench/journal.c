/* journal.c - journal benchmark: append rate (records/s, MB/s) of 300-byte records for each
 * fsync policy (always with 1 and 4 appending threads, to show group commit), and the open
 * (recovery) time of a journal holding 1,000,000 records. Bounded: each case runs for
 * --seconds (default 2) or --max records. Usage: bench_journal [--dir D] [--seconds S]. */
#include "core/log.h"
#include "bridge/journal/journal.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static double now_s(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

struct job {
    struct fy_journal *j;
    double until;
    long max;
    atomic_long *count;
};

static void *appender(void *arg)
{
    struct job *jb = arg;
    char rec[300];

    memset(rec, 'r', sizeof(rec));
    while (now_s() < jb->until && atomic_load(jb->count) < jb->max) {
        if (fy_journal_append(jb->j, rec, sizeof(rec), NULL) != FY_OK) {
            break;
        }
        atomic_fetch_add(jb->count, 1);
    }
    return NULL;
}

static void run_case(const char *dir, const char *name, enum fy_fsync fs, int threads,
                     double seconds)
{
    struct fy_journal_opts o = {dir, 64u << 20, fs, 100, 0};
    struct fy_err err = {0};
    struct fy_journal *j;
    pthread_t th[8];
    struct job jb;
    atomic_long count = 0;
    double t0, t1;
    char cmd[600];
    int i;

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        return;
    }
    j = fy_journal_open(&o, &err);
    if (j == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    jb.j = j;
    jb.max = 2000000;
    jb.count = &count;
    t0 = now_s();
    jb.until = t0 + seconds;
    for (i = 0; i < threads; i++) {
        pthread_create(&th[i], NULL, appender, &jb);
    }
    for (i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
    }
    t1 = now_s();
    fy_journal_close(j);
    printf("| %-22s | %7d | %12.0f | %8.1f |\n", name, threads, (double)count / (t1 - t0),
           (double)count * 300 / (t1 - t0) / 1e6);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"seconds", required_argument, NULL, 's'},
                                             {"recovery", required_argument, NULL, 'r'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = "/tmp/ferry-bench-journal";
    double seconds = 2;
    long recovery = 1000000;
    int c;

    while ((c = getopt_long(argc, argv, "d:s:r:", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 's': seconds = strtod(optarg, NULL); break;
        case 'r': recovery = strtol(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: bench_journal [--dir D] [--seconds S] [--recovery N]\n");
            return 2;
        }
    }
    fy_log_setup(FY_LOG_WARN, NULL);
    printf("| fsync (300-byte records) | threads | records/s | MB/s |\n|---|---|---|---|\n");
    run_case(dir, "never", FY_FSYNC_NEVER, 1, seconds);
    run_case(dir, "interval (100 ms)", FY_FSYNC_INTERVAL, 1, seconds);
    run_case(dir, "always", FY_FSYNC_ALWAYS, 1, seconds);
    run_case(dir, "always (group commit)", FY_FSYNC_ALWAYS, 4, seconds);
    {
        struct fy_journal_opts o = {dir, 64u << 20, FY_FSYNC_NEVER, 100, 0};
        struct fy_err err = {0};
        struct fy_journal *j;
        struct fy_journal_stat st;
        char rec[300], cmd[600];
        double t0;
        long i;

        memset(rec, 'r', sizeof(rec));
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0) {
            return 1;
        }
        j = fy_journal_open(&o, &err);
        for (i = 0; j != NULL && i < recovery; i++) {
            fy_journal_append(j, rec, sizeof(rec), NULL);
        }
        fy_journal_close(j);
        t0 = now_s();
        j = fy_journal_open(&o, &err);
        if (j == NULL) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        fy_journal_stat(j, &st);
        printf("\nrecovery: opened a journal of %llu records (%.0f MB, %zu segments) in %.3f s\n",
               (unsigned long long)(st.next_seq - 1), (double)st.bytes / 1e6, st.segments,
               now_s() - t0);
        fy_journal_close(j);
        if (system(cmd) != 0) {
            return 1;
        }
    }
    return 0;
}
