/* sink.c - sink instances: options applied from config, callbacks dispatched, completions routed. */
#include "sinks/sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fy_sink {
    const struct fy_sink_plugin *plugin;
    char *name;
    char tag[160];
    void *ctx;            /* plugin context, ctx_size bytes, options filled in */
    int inited;           /* init succeeded: exit must run */
    fy_sink_complete_fn cb;
    void *cb_arg;
};

struct fy_sink *fy_sink_create(const struct fy_sink_plugin *plugin, const char *name,
                               const struct fy_node *conf, const char *const *skip,
                               int check_only, fy_sink_complete_fn cb, void *arg,
                               struct fy_err *err)
{
    struct fy_sink *snk;

    if (plugin == NULL || name == NULL ||
        fy_plugin_check(FY_PLUGIN_SINK, plugin->abi, plugin->name, err) != FY_OK) {
        if (plugin == NULL || name == NULL) {
            fy_err_set(err, FY_EINVAL, "sink '%s': no plugin", name ? name : "?");
        }
        return NULL;
    }
    snk = calloc(1, sizeof(*snk));
    if (snk == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    snk->plugin = plugin;
    snk->cb = cb;
    snk->cb_arg = arg;
    snk->name = strdup(name);
    snk->ctx = calloc(1, plugin->ctx_size ? plugin->ctx_size : 1);
    if (snk->name == NULL || snk->ctx == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        goto fail;
    }
    snprintf(snk->tag, sizeof(snk->tag), "sink:%s:%s", plugin->name, name);
    if (plugin->opts != NULL && fy_opts_apply(plugin->opts, conf, skip, snk->ctx, err) != FY_OK) {
        goto fail;
    }
    if (check_only) {
        if (plugin->check != NULL && plugin->check(snk->ctx, err) != FY_OK) {
            fy_err_prefix(err, "sink '%s': ", name);
            goto fail;
        }
        return snk;
    }
    if (plugin->init != NULL && plugin->init(snk, snk->ctx, err) != FY_OK) {
        fy_err_prefix(err, "sink '%s': ", name);
        goto fail;
    }
    snk->inited = 1;
    return snk;
fail:
    fy_sink_destroy(snk);
    return NULL;
}

void fy_sink_destroy(struct fy_sink *snk)
{
    if (snk == NULL) {
        return;
    }
    if (snk->inited && snk->plugin->exit != NULL) {
        snk->plugin->exit(snk->ctx);
    }
    if (snk->ctx != NULL && snk->plugin->opts != NULL) {
        fy_opts_free(snk->plugin->opts, snk->ctx);
    }
    free(snk->ctx);
    free(snk->name);
    free(snk);
}

void fy_sink_complete(struct fy_sink *snk, uint64_t ticket, enum fy_sink_result res,
                      const char *reason)
{
    if (snk->cb != NULL) {
        snk->cb(snk->cb_arg, ticket, res, reason);
    }
}

int fy_sink_submit(struct fy_sink *snk, const struct fy_record *rec, const char *dest,
                   uint64_t ticket)
{
    return snk->plugin->submit(snk->ctx, rec, dest != NULL ? dest : "", ticket);
}

void fy_sink_poll(struct fy_sink *snk, int timeout_ms)
{
    if (snk->plugin->poll != NULL) {
        snk->plugin->poll(snk->ctx, timeout_ms);
    }
}

int fy_sink_drain(struct fy_sink *snk, int timeout_ms)
{
    if (snk->plugin->drain != NULL) {
        return snk->plugin->drain(snk->ctx, timeout_ms);
    }
    return FY_OK;
}

const char *fy_sink_name(const struct fy_sink *snk)
{
    return snk->name;
}

const char *fy_sink_tag(const struct fy_sink *snk)
{
    return snk->tag;
}

const struct fy_sink_plugin *fy_sink_plugin_of(const struct fy_sink *snk)
{
    return snk->plugin;
}

size_t fy_sink_max_inflight(const struct fy_sink *snk)
{
    return snk->plugin->max_inflight ? snk->plugin->max_inflight : 10000;
}

void *fy_sink_ctx(struct fy_sink *snk)
{
    return snk->ctx;
}
