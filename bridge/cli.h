/* cli.h - the offline subcommands of ferry (dlq, journal, decode); each takes argc/argv
 * starting at its own name and returns the process exit code. */
#ifndef FY_CLI_H
#define FY_CLI_H

int fy_cli_dlq(int argc, char **argv);
int fy_cli_journal(int argc, char **argv);
int fy_cli_decode(int argc, char **argv);

#endif
