/* multi.c - the curl multi driver (see multi.h). */
#include "core/http/multi.h"

#include <stdlib.h>

struct slot {
    CURL *e; /* NULL = free */
    void *user;
};

struct fy_http_multi {
    CURLM *multi;
    size_t parallel, running;
    struct slot *slots;
};

struct fy_http_multi *fy_http_multi_create(size_t parallel, struct fy_err *err)
{
    struct fy_http_multi *m;

    if (parallel < 1 || parallel > 1024) {
        fy_err_set(err, FY_EINVAL, "parallel %zu: expected 1 to 1024 requests", parallel);
        return NULL;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL || (m->slots = calloc(parallel, sizeof(*m->slots))) == NULL ||
        (m->multi = curl_multi_init()) == NULL) {
        fy_err_set(err, FY_ENOMEM, "cannot create a curl multi handle");
        goto fail;
    }
    m->parallel = parallel;
    curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)parallel);
    return m;
fail:
    fy_http_multi_destroy(m, NULL, NULL);
    return NULL;
}

void fy_http_multi_destroy(struct fy_http_multi *m, fy_http_multi_cancel_fn cancel, void *arg)
{
    size_t i;
    int left;

    if (m == NULL) {
        return;
    }
    for (i = 0; m->slots != NULL && i < m->parallel; i++) {
        if (m->slots[i].e != NULL) {
            curl_multi_remove_handle(m->multi, m->slots[i].e);
            curl_easy_cleanup(m->slots[i].e);
            if (cancel != NULL) {
                cancel(arg, m->slots[i].user);
            }
        }
    }
    if (m->multi != NULL) {
        while (curl_multi_info_read(m->multi, &left) != NULL) {
        }
        curl_multi_cleanup(m->multi);
    }
    free(m->slots);
    free(m);
}

int fy_http_multi_add(struct fy_http_multi *m, CURL *e, void *user)
{
    size_t i;

    for (i = 0; i < m->parallel && m->slots[i].e != NULL; i++) {
    }
    if (i == m->parallel) {
        return FY_EAGAIN;
    }
    if (curl_multi_add_handle(m->multi, e) != CURLM_OK) {
        return FY_ENOMEM;
    }
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)&m->slots[i]);
    m->slots[i].e = e;
    m->slots[i].user = user;
    m->running++;
    return FY_OK;
}

size_t fy_http_multi_running(const struct fy_http_multi *m)
{
    return m->running;
}

int fy_http_multi_full(const struct fy_http_multi *m)
{
    return m->running >= m->parallel;
}

void fy_http_multi_perform(struct fy_http_multi *m, fy_http_multi_done_fn done, void *arg)
{
    CURLMsg *msg;
    int still = 0, left = 0;

    curl_multi_perform(m->multi, &still);
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        struct slot *s = NULL;
        CURL *e = msg->easy_handle;
        CURLcode result = msg->data.result; /* msg is freed by curl_multi_remove_handle */
        long status = 0;
        void *user;

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&s);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(m->multi, e);
        user = s->user;
        s->e = NULL;
        s->user = NULL;
        m->running--;
        done(arg, user, e, result, status);
        curl_easy_cleanup(e);
    }
}

void fy_http_multi_wait(struct fy_http_multi *m, int timeout_ms)
{
    if (m->running > 0) {
        curl_multi_poll(m->multi, NULL, 0, timeout_ms > 0 ? timeout_ms : 1, NULL);
    }
}
