/* sink.c - sink instances: options applied from config, callbacks dispatched, completions routed. */
#include "sinks/sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fy_sink {
    const struct fy_sink_plugin *plugin;
    struct fy_plugin_inst base; /* name, tag, ctx with its options */            /* plugin context, ctx_size bytes, options filled in */
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

    if (plugin == NULL) {
        fy_err_set(err, FY_EINVAL, "sink '%s': no plugin", name ? name : "?");
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
    if (fy_plugin_inst_init(&snk->base, FY_PLUGIN_SINK, plugin->abi, plugin->name, plugin->opts,
                            plugin->ctx_size, name, conf, skip, err) != FY_OK) {
        free(snk);
        return NULL;
    }
    if (check_only) {
        if (plugin->check != NULL && plugin->check(snk->base.ctx, err) != FY_OK) {
            fy_err_prefix(err, "sink '%s': ", name);
            goto fail;
        }
        return snk;
    }
    if (plugin->init != NULL && plugin->init(snk, snk->base.ctx, err) != FY_OK) {
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
        snk->plugin->exit(snk->base.ctx);
    }
    fy_plugin_inst_free(&snk->base);
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
    return snk->plugin->submit(snk->base.ctx, rec, dest != NULL ? dest : "", ticket);
}

void fy_sink_poll(struct fy_sink *snk, int timeout_ms)
{
    if (snk->plugin->poll != NULL) {
        snk->plugin->poll(snk->base.ctx, timeout_ms);
    }
}

int fy_sink_drain(struct fy_sink *snk, int timeout_ms)
{
    if (snk->plugin->drain != NULL) {
        return snk->plugin->drain(snk->base.ctx, timeout_ms);
    }
    return FY_OK;
}

const char *fy_sink_name(const struct fy_sink *snk)
{
    return snk->base.name;
}

const char *fy_sink_tag(const struct fy_sink *snk)
{
    return snk->base.tag;
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
    return snk->base.ctx;
}
