/* assert.h - CUnit assertions that print both values with file:line (libuv task.h style). */
#ifndef FY_TEST_ASSERT_H
#define FY_TEST_ASSERT_H

#include "core/err.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#define FY_ASSERT_EQ(a, b)                                                                      \
    do {                                                                                        \
        long long fy_a_ = (long long)(a), fy_b_ = (long long)(b);                               \
        if (fy_a_ != fy_b_)                                                                     \
            fprintf(stderr, "\n%s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b,   \
                    fy_a_, fy_b_);                                                              \
        CU_ASSERT_EQUAL(fy_a_, fy_b_);                                                          \
    } while (0)

#define FY_ASSERT_STR(a, b)                                                                     \
    do {                                                                                        \
        const char *fy_a_ = (a), *fy_b_ = (b);                                                  \
        int fy_ok_ = fy_a_ != NULL && fy_b_ != NULL && strcmp(fy_a_, fy_b_) == 0;               \
        if (!fy_ok_)                                                                            \
            fprintf(stderr, "\n%s:%d: %s == %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a,   \
                    #b, fy_a_ ? fy_a_ : "(null)", fy_b_ ? fy_b_ : "(null)");                    \
        CU_ASSERT_TRUE(fy_ok_);                                                                 \
    } while (0)

/* cond holds, else print it (the test goes on). */
#define FY_ASSERT(cond)                                                                         \
    do {                                                                                        \
        int fy_c_ = (cond) ? 1 : 0;                                                             \
        if (!fy_c_)                                                                             \
            fprintf(stderr, "\n%s:%d: %s\n", __FILE__, __LINE__, #cond);                         \
        CU_ASSERT_TRUE(fy_c_);                                                                  \
    } while (0)

/* cond holds, else print it with msg and stop this test (for preconditions). */
#define FY_ASSERT_MSG(cond, msg)                                                                \
    do {                                                                                        \
        int fy_c_ = (cond) ? 1 : 0;                                                             \
        if (!fy_c_)                                                                             \
            fprintf(stderr, "\n%s:%d: %s: %s\n", __FILE__, __LINE__, #cond, (msg));            \
        CU_ASSERT_TRUE_FATAL(fy_c_);                                                            \
    } while (0)

/* rc is FY_OK, else print the error message. */
#define FY_ASSERT_OK(rc, errp)                                                                  \
    do {                                                                                        \
        int fy_rc_ = (rc);                                                                      \
        const struct fy_err *fy_e_ = (errp);                                                    \
        if (fy_rc_ != 0)                                                                        \
            fprintf(stderr, "\n%s:%d: %s failed: rc=%d %s\n", __FILE__, __LINE__, #rc, fy_rc_,  \
                    fy_e_ != NULL ? fy_e_->msg : "");                                           \
        CU_ASSERT_EQUAL(fy_rc_, 0);                                                             \
    } while (0)

#endif
