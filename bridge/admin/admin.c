/* admin.c - the admin HTTP endpoint (see admin.h). */
#include "bridge/admin/admin.h"

#include "core/hostport.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct fy_admin {
    struct MHD_Daemon *mhd;
    fy_admin_render_fn render;
    void *arg;
    int port;
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    struct fy_admin *a = cls;
    struct MHD_Response *resp;
    struct fy_buf out;
    const char *ctype = "text/plain; charset=utf-8";
    enum MHD_Result rc;
    int status;

    (void)version;
    (void)upload;
    if (*state == NULL) { /* first call for this request: headers only */
        *state = a;
        return MHD_YES;
    }
    if (*upload_size != 0) { /* no body is read: drop it */
        *upload_size = 0;
        return MHD_YES;
    }
    fy_buf_init(&out, 16u << 20);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = 405;
        fy_buf_addstr(&out, "only GET\n");
    } else {
        status = a->render(a->arg, url, &out, &ctype);
    }
    resp = MHD_create_response_from_buffer(out.len, out.data != NULL ? out.data : (char *)"",
                                           MHD_RESPMEM_MUST_COPY);
    fy_buf_free(&out);
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (status == 405) {
        MHD_add_response_header(resp, "Allow", "GET, HEAD");
    }
    rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Idle connections (a scraper gone quiet, or someone holding sockets open) must never starve
 * probes and scrapes: the limit is far above what the pages need (and well inside the default
 * 1024 open files), idle ones are closed after IDLE_TIMEOUT_S, and epoll (MHD_USE_AUTO) serves
 * them all from one thread. */
#define CONNECTION_LIMIT 512u
#define IDLE_TIMEOUT_S 5u

struct fy_admin *fy_admin_start(const char *listen, fy_admin_render_fn render, void *arg,
                                struct fy_err *err)
{
    struct sockaddr_storage ss;
    struct fy_admin *a;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;

    if (fy_hostport_listen(listen, &ss, NULL) != 0) {
        fy_err_set(err, FY_ECONFIG, "admin.listen '%s': expected a numeric host:port "
                   "(127.0.0.1:8081, [::1]:8081)", listen);
        return NULL;
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    a->render = render;
    a->arg = arg;
    if (ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    a->mhd = MHD_start_daemon(flags, 0, NULL, NULL, answer, a, MHD_OPTION_SOCK_ADDR,
                              (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
                              CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S,
                              MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (a->mhd == NULL) {
        fy_err_set(err, FY_EIO, "admin.listen %s: cannot listen (address in use or not "
                   "local?)", listen);
        free(a);
        return NULL;
    }
    info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_BIND_PORT);
    a->port = info != NULL ? info->port : 0;
    return a;
}

int fy_admin_port(const struct fy_admin *a)
{
    return a->port;
}

void fy_admin_stop(struct fy_admin *a)
{
    if (a == NULL) {
        return;
    }
    MHD_stop_daemon(a->mhd);
    free(a);
}
