/* replay.c - runs a libFuzzer target's LLVMFuzzerTestOneInput over every file of its corpus
 * directories (the `fuzz-smoke` ctest; works with gcc, no libFuzzer needed). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int i, files = 0;

    for (i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            char path[4096];
            FILE *f;
            long n;
            uint8_t *buf;
            if (de->d_name[0] == '.') {
                continue;
            }
            snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
            f = fopen(path, "rb");
            if (f == NULL) {
                continue;
            }
            fseek(f, 0, SEEK_END);
            n = ftell(f);
            fseek(f, 0, SEEK_SET);
            buf = malloc(n > 0 ? (size_t)n : 1);
            if (buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n) {
                LLVMFuzzerTestOneInput(buf, (size_t)n);
                files++;
            }
            free(buf);
            fclose(f);
        }
        if (d != NULL) {
            closedir(d);
        }
    }
    printf("replayed %d corpus file(s)\n", files);
    return files > 0 ? 0 : 1;
}
