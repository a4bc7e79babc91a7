/* log.h - leveled, instance-tagged log lines a person can read. */
#ifndef FY_LOG_H
#define FY_LOG_H

#include <stdio.h>

enum fy_log_level { FY_LOG_ERROR = 0, FY_LOG_WARN, FY_LOG_INFO, FY_LOG_DEBUG, FY_LOG_TRACE };

/* Configure the process-wide log sink (C9 b): call once before threads start.
 * out NULL means stderr. */
void fy_log_setup(enum fy_log_level level, FILE *out);

/* Current threshold. */
enum fy_log_level fy_log_level_get(void);

/* Parse "error|warn|info|debug|trace"; returns -1 if unknown. */
int fy_log_level_parse(const char *s);

/* Write one line: "2026-08-24T10:00:01.123Z WARN [tag] message\n". tag may be NULL.
 * Thread-safe (one write per line). */
void fy_log(enum fy_log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define fy_log_error(tag, ...) fy_log(FY_LOG_ERROR, tag, __VA_ARGS__)
#define fy_log_warn(tag, ...) fy_log(FY_LOG_WARN, tag, __VA_ARGS__)
#define fy_log_info(tag, ...) fy_log(FY_LOG_INFO, tag, __VA_ARGS__)
#define fy_log_debug(tag, ...)                                                                  \
    do {                                                                                        \
        if (fy_log_level_get() >= FY_LOG_DEBUG)                                                 \
            fy_log(FY_LOG_DEBUG, tag, __VA_ARGS__);                                             \
    } while (0)

#endif
