/* clock.h - the two clocks Ferry uses, and deadlines on the right one.
 *
 * Wall clock (CLOCK_REALTIME) only for times that leave the process: a record's recv_ms, a
 * dead letter's dead_at, a health state's "since" shown in /status. It jumps when NTP or a
 * person sets the time, so nothing ever waits on it.
 * Monotonic clock (CLOCK_MONOTONIC) for every interval, timeout, backoff and deadline: it
 * never jumps, so a clock step can neither fire a timeout early nor hang a wait. Condition
 * variables that wait with a deadline are created with fy_clock_cond_init() so that
 * pthread_cond_timedwait() counts on the same clock (docs/reliability.md, "Time"). */
#ifndef FY_CLOCK_H
#define FY_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Unix time in ms (wall clock): for timestamps only, never for deadlines. */
static inline int64_t fy_clock_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic ms since an arbitrary start: for intervals and deadlines. */
static inline int64_t fy_clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The monotonic deadline timeout_ms from now. */
static inline int64_t fy_clock_deadline(int64_t timeout_ms)
{
    return fy_clock_mono_ms() + timeout_ms;
}

/* Milliseconds left until deadline (0 when passed). */
static inline int64_t fy_clock_left_ms(int64_t deadline)
{
    int64_t left = deadline - fy_clock_mono_ms();

    return left > 0 ? left : 0;
}

/* The absolute CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait() on a condition
 * variable made with fy_clock_cond_init(). */
static inline struct timespec fy_clock_abstime(int64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

/* Initialise a condition variable whose timed waits count on the monotonic clock. */
static inline int fy_clock_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    int rc;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}

#endif
