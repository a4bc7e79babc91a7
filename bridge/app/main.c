/* main.c - the ferry command line: run, check, decode, dlq, journal, version. */
#include "bridge/bridge.h"
#include "bridge/cli.h"
#include "bridge/config.h"
#include "core/log.h"
#include "codecs/codec.h"

#include <getopt.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* C9 (a): set by the signal handler, read by fy_bridge_run. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: ferry <command> [options]\n"
            "\n"
            "Ferry subscribes to LoRaWAN network servers and IoT platforms over MQTT, routes each\n"
            "message by its routing table, decodes it, wraps it in an envelope and delivers it to\n"
            "sinks (Kafka, ...) through a durable journal.\n"
            "\n"
            "Commands:\n"
            "  run -c FILE            run the bridge until SIGTERM/SIGINT\n"
            "  check -c FILE          validate a configuration file without connecting\n"
            "  decode ...             run a format and codec on one payload (see decode --help)\n"
            "  dlq list|show|replay   inspect and replay dead letters (see dlq --help)\n"
            "  journal stat -c FILE   journal segments, bytes, per-sink lag, dead letters\n"
            "  status -c FILE         a running Ferry's sinks (health, lag), journal, counters\n"
            "  plugins [--json]       the sources, formats, codecs and sinks in this build\n"
            "  help KIND NAME         every option of one plugin (ferry help sink webhook)\n"
            "  version                print the version\n"
            "  help                   this text\n"
            "\n"
            "Run 'ferry <command> --help' for the options of a command.\n"
            "Documentation: docs/config.md (every option), docs/delivery.md (guarantees).\n");
}

static void run_usage(FILE *out)
{
    fprintf(out,
            "Usage: ferry run -c FILE [--log-level LEVEL]\n"
            "\n"
            "Run the bridge with the configuration FILE (YAML, see docs/config.md).\n"
            "SIGTERM or SIGINT stops sources first, lets sinks deliver what is in flight\n"
            "(up to 10 s), records each sink's journal position and exits 0. Anything not yet\n"
            "delivered stays in the journal and is delivered after the next start.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE      configuration file (required)\n"
            "  -l, --log-level LEVEL  error|warn|info|debug|trace (overrides log_level)\n"
            "  -h, --help             this text\n"
            "\n"
            "Exit codes: 0 stopped cleanly, 1 runtime failure (e.g. journal write failed),\n"
            "            2 invalid configuration, 3 could not start.\n");
}

static void check_usage(FILE *out)
{
    fprintf(out,
            "Usage: ferry check -c FILE\n"
            "\n"
            "Validate FILE without connecting to anything: YAML syntax, unknown keys, types,\n"
            "required fields, topic filters, formats, codecs, sink names and templates.\n"
            "Errors are printed as FILE:LINE:COL: what is wrong (what was expected).\n"
            "\n"
            "Exit codes: 0 valid, 2 invalid.\n");
}

/* Parse -c/--config and -l/--log-level; returns 0, or the exit code to use. */
static int parse_common(int argc, char **argv, void (*help)(FILE *), const char **config,
                        int *level)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:l:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config = optarg;
            break;
        case 'l':
            *level = fy_log_level_parse(optarg);
            if (*level < 0) {
                fprintf(stderr, "ferry: unknown log level '%s' (expected error, warn, info, "
                                "debug or trace)\n", optarg);
                return 2;
            }
            break;
        case 'h':
            help(stdout);
            return -1;
        default:
            help(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ferry: unexpected argument '%s'\n", argv[optind]);
        help(stderr);
        return 2;
    }
    if (*config == NULL) {
        fprintf(stderr, "ferry: missing -c FILE\n");
        help(stderr);
        return 2;
    }
    return 0;
}

/* Build and free every route's format and codec context, as the pipeline will: a JavaScript
 * codec is compiled (syntax errors with their line) and codec_options/format_options are
 * checked. fy_config_load cannot, because the JS engine needs fy_codec_shutdown() after. */
static int check_codecs(const struct fy_config *cfg, struct fy_errlist *all)
{
    int failed = 0;
    size_t i;

    for (i = 0; i < cfg->n_routes; i++) {
        const struct fy_route_conf *r = &cfg->routes[i];
        const struct fy_format_plugin *f = fy_codec_format_find(r->format);
        const struct fy_payload_plugin *c = r->codec ? fy_codec_payload_find(r->codec) : NULL;
        struct fy_err err = {0};
        int rc = FY_OK;
        void *ctx;

        if (f != NULL && f->create != NULL) {
            if ((ctx = f->create(r->format_opts, &err)) == NULL) {
                rc = FY_ECONFIG;
            } else if (f->destroy != NULL) {
                f->destroy(ctx);
            }
        }
        if (rc == FY_OK && c != NULL && c->create != NULL) {
            if ((ctx = c->create(r->codec_opts, &err)) == NULL) {
                rc = FY_ECONFIG;
            } else if (c->destroy != NULL) {
                c->destroy(ctx);
            }
        }
        if (rc != FY_OK) {
            const struct fy_node *n = r->codec_opts != NULL ? r->codec_opts : r->node;
            if (f != NULL && f->create != NULL && r->format_opts != NULL && c == NULL) {
                n = r->format_opts;
            }
            fy_err_prefix(&err, "%s:%d:%d: route '%s': ", cfg->path, n->line, n->col, r->name);
            fy_errlist_add(all, &err);
            failed = 1;
        }
    }
    fy_codec_shutdown();
    return failed ? FY_ECONFIG : FY_OK;
}

/* Every mistake of the file, in file order, so that a user fixes it in one round. */
static void print_errors(const struct fy_errlist *all)
{
    size_t i;

    for (i = 0; i < all->n; i++) {
        fprintf(stderr, "%s\n", all->items[i].msg);
    }
    if (all->dropped > 0) {
        fprintf(stderr, "... and %zu more error(s)\n", all->dropped);
    }
    if (all->n > 1) {
        fprintf(stderr, "%zu errors\n", all->n + all->dropped);
    }
}

static int cmd_check(int argc, char **argv)
{
    const char *path = NULL;
    int level = -1;
    struct fy_err err = {0};
    struct fy_errlist all = {0};
    struct fy_config *cfg;
    int rc = parse_common(argc, argv, check_usage, &path, &level);

    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    cfg = fy_config_load_all(path, &all, &err);
    if (cfg == NULL) {
        if (all.n == 0) {
            fy_errlist_add(&all, &err); /* not a per-item mistake: unreadable file, YAML syntax */
        }
        print_errors(&all);
        return FY_EXIT_CONFIG;
    }
    if (check_codecs(cfg, &all) != FY_OK) {
        fy_errlist_sort(&all);
        print_errors(&all);
        fy_config_free(cfg);
        return FY_EXIT_CONFIG;
    }
    printf("%s: OK (%zu source(s), %zu sink(s), %zu route(s))\n", path, cfg->n_sources,
           cfg->n_sinks, cfg->n_routes);
    fy_config_free(cfg);
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    const char *path = NULL;
    int level = -1;
    struct fy_err err = {0};
    struct fy_config *cfg;
    struct fy_bridge *b;
    struct sigaction sa;
    int rc = parse_common(argc, argv, run_usage, &path, &level);

    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    cfg = fy_config_load(path, &err);
    if (cfg == NULL) {
        fprintf(stderr, "ferry: %s\n", err.msg);
        return FY_EXIT_CONFIG;
    }
    fy_log_setup(level >= 0 ? (enum fy_log_level)level : (enum fy_log_level)cfg->log_level, NULL);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    fy_log_info("ferry", "starting ferry %s, instance '%s', config %s", FERRY_VERSION,
                cfg->instance, path);
    b = fy_bridge_create(cfg, &err); /* takes cfg */
    if (b == NULL) {
        fy_log_error("ferry", "cannot start: %s", err.msg);
        return err.code == FY_ECONFIG ? FY_EXIT_CONFIG : FY_EXIT_STARTUP;
    }
    if (fy_bridge_start(b, &err) != FY_OK) {
        fy_log_error("ferry", "cannot start: %s", err.msg);
        stop_requested = 1;
        fy_bridge_run(b, &stop_requested);
        fy_bridge_destroy(b);
        return FY_EXIT_STARTUP;
    }
    rc = fy_bridge_run(b, &stop_requested);
    fy_bridge_destroy(b);
    fy_codec_shutdown();
    fy_log_info("ferry", "exit %d", rc);
    return rc;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    /* once per process, before any thread: every HTTP plugin (core/http) relies on it */
    curl_global_init(CURL_GLOBAL_DEFAULT);

    if (cmd != NULL && strcmp(cmd, "help") == 0 && argc > 2) {
        return fy_cli_help(argc - 1, argv + 1);
    }
    if (cmd != NULL && strcmp(cmd, "plugins") == 0) {
        return fy_cli_plugins(argc - 1, argv + 1);
    }
    if (cmd == NULL || strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        usage(cmd == NULL ? stderr : stdout);
        return cmd == NULL ? 2 : 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("ferry %s\n", FERRY_VERSION);
        return 0;
    }
    if (strcmp(cmd, "run") == 0) {
        return cmd_run(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "check") == 0) {
        return cmd_check(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "dlq") == 0) {
        return fy_cli_dlq(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "journal") == 0) {
        return fy_cli_journal(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "decode") == 0) {
        return fy_cli_decode(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "status") == 0) {
        return fy_cli_status(argc - 1, argv + 1);
    }
    fprintf(stderr, "ferry: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
