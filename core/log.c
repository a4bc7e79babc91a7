/* log.c - the process-wide log sink: one formatted write per line. */
#include "core/log.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* C9 (b): configured once before threads start, read-only afterwards. */
static enum fy_log_level log_level = FY_LOG_INFO;
static FILE *log_out;

static const char *const level_words[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

void fy_log_setup(enum fy_log_level level, FILE *out)
{
    log_level = level;
    log_out = out;
}

enum fy_log_level fy_log_level_get(void)
{
    return log_level;
}

int fy_log_level_parse(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (s != NULL && strcasecmp(s, names[i]) == 0) {
            return (int)i;
        }
    }
    return -1;
}

void fy_log(enum fy_log_level level, const char *tag, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    size_t n;
    int w;
    va_list ap;

    if (level > log_level) {
        return;
    }
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    w = snprintf(line + n, sizeof(line) - n, ".%03dZ %-5s ", (int)(tv.tv_usec / 1000),
                 level_words[level]);
    n += (size_t)w;
    if (tag != NULL) {
        w = snprintf(line + n, sizeof(line) - n, "[%s] ", tag);
        n = (size_t)w < sizeof(line) - n ? n + (size_t)w : sizeof(line) - 1;
    }
    va_start(ap, fmt);
    w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    n = (w >= 0 && (size_t)w < sizeof(line) - n) ? n + (size_t)w : sizeof(line) - 2;
    line[n++] = '\n';
    /* One write() per line so lines from several threads never interleave. */
    if (write(fileno(log_out != NULL ? log_out : stderr), line, n) < 0) {
        /* nothing sensible to do when the log itself fails */
    }
}
