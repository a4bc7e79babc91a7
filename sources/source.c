/* source.c - source instances: options applied from config, lifecycle, emit into the pipeline. */
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fy_source {
    const struct fy_source_plugin *plugin;
    struct fy_plugin_inst base; /* name, tag, ctx with its options */
    int inited;
    int started;
    fy_source_emit_fn emit;
    void *emit_arg;
};

struct fy_source *fy_source_create(const struct fy_source_plugin *plugin, const char *name,
                                   const struct fy_node *conf, const char *const *skip,
                                   int check_only, fy_source_emit_fn emit, void *arg,
                                   struct fy_err *err)
{
    struct fy_source *src;

    if (plugin == NULL) {
        fy_err_set(err, FY_EINVAL, "source '%s': no plugin", name ? name : "?");
        return NULL;
    }
    src = calloc(1, sizeof(*src));
    if (src == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    src->plugin = plugin;
    src->emit = emit;
    src->emit_arg = arg;
    if (fy_plugin_inst_init(&src->base, FY_PLUGIN_SOURCE, plugin->abi, plugin->name, plugin->opts,
                            plugin->ctx_size, name, conf, skip, err) != FY_OK) {
        free(src);
        return NULL;
    }
    if (check_only) {
        int rc = plugin->check != NULL ? plugin->check(src->base.ctx, err) : FY_OK;
        if (plugin->check_free != NULL) {
            plugin->check_free(src->base.ctx);
        }
        if (rc != FY_OK) {
            fy_err_prefix(err, "source '%s': ", name);
            goto fail;
        }
        return src;
    }
    if (plugin->init != NULL && plugin->init(src, src->base.ctx, err) != FY_OK) {
        fy_err_prefix(err, "source '%s': ", name);
        goto fail;
    }
    src->inited = 1;
    return src;
fail:
    fy_source_destroy(src);
    return NULL;
}

void fy_source_destroy(struct fy_source *src)
{
    if (src == NULL) {
        return;
    }
    fy_source_stop(src);
    if (src->inited && src->plugin->exit != NULL) {
        src->plugin->exit(src->base.ctx);
    }
    fy_plugin_inst_free(&src->base);
    free(src);
}

int fy_source_start(struct fy_source *src, struct fy_err *err)
{
    int rc = FY_OK;

    if (!src->started && src->plugin->start != NULL) {
        rc = src->plugin->start(src->base.ctx, err);
    }
    if (rc == FY_OK) {
        src->started = 1;
    }
    return rc;
}

void fy_source_stop(struct fy_source *src)
{
    if (src->started && src->plugin->stop != NULL) {
        src->plugin->stop(src->base.ctx);
    }
    src->started = 0;
}

void fy_source_pause(struct fy_source *src)
{
    if (src->plugin->pause != NULL) {
        src->plugin->pause(src->base.ctx);
    }
}

void fy_source_resume(struct fy_source *src)
{
    if (src->plugin->resume != NULL) {
        src->plugin->resume(src->base.ctx);
    }
}

int fy_source_connected(struct fy_source *src)
{
    return src->plugin->connected != NULL ? src->plugin->connected(src->base.ctx) : 1;
}

int fy_source_emit(struct fy_source *src, const struct fy_msg *msg)
{
    return src->emit(src->emit_arg, src, msg);
}

const char *fy_source_name(const struct fy_source *src)
{
    return src->base.name;
}

const char *fy_source_tag(const struct fy_source *src)
{
    return src->base.tag;
}
