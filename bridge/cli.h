/* cli.h - the subcommands of ferry besides run and check (dlq, journal, decode, status); each takes argc/argv
 * starting at its own name and returns the process exit code. */
#ifndef FY_CLI_H
#define FY_CLI_H

int fy_cli_dlq(int argc, char **argv);
int fy_cli_journal(int argc, char **argv);
int fy_cli_decode(int argc, char **argv);
/* Queries a running daemon through its admin endpoint (libcurl). */
int fy_cli_status(int argc, char **argv);

#endif
