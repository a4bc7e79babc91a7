/* main.c - the ferry command line (placeholder until the daemon lands). */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "ferry: not built yet\n");
    return 1;
}
