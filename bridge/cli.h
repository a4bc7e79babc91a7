/* cli.h - the subcommands of ferry besides run and check (dlq, journal, decode, status); each takes argc/argv
 * starting at its own name and returns the process exit code. */
#ifndef FY_CLI_H
#define FY_CLI_H

int fy_cli_dlq(int argc, char **argv);
int fy_cli_journal(int argc, char **argv);
int fy_cli_decode(int argc, char **argv);
/* Queries a running daemon through its admin endpoint (libcurl). */
int fy_cli_status(int argc, char **argv);
/* `ferry plugins [--json]`: what this build has compiled in. */
int fy_cli_plugins(int argc, char **argv);
/* `ferry help KIND NAME [--markdown|--json]`: one plugin's option table. */
int fy_cli_help(int argc, char **argv);

#endif
