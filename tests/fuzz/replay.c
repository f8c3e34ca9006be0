/* The regression side of the fuzz targets: a main that feeds every file of a corpus directory
 * to the target's LLVMFuzzerTestOneInput once, built with gcc and the project's sanitizers
 * (no clang needed). A crash, a sanitizer report or a failed invariant (abort) ends the
 * program non-zero, which tests/run-tests.sh counts as a failure; otherwise it prints the
 * cmocka-style "[  PASSED  ] 1" line that run-tests.sh reads.
 *
 * Usage: fuzz_<target> [DIR|FILE ...]; with no argument, tests/fuzz/corpus/<target> relative to
 * the current directory (make test runs from the top of the repository) or $PARLAY_FUZZ_CORPUS. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the target"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    /* An exact-size copy, so that ASan sees a read past the input's end. */
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

/* Runs every regular file of @dir in name order; the count, or -1. */
static long run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "cannot open corpus directory %s\n", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    long count = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(path) != 0)
                return -1;
            count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    const char *def = getenv("PARLAY_FUZZ_CORPUS");
    char defdir[512];
    snprintf(defdir, sizeof defdir, "%s", def && *def ? def : "tests/fuzz/corpus/" FUZZ_NAME);
    char *one[] = {defdir};
    char **dirs = argc > 1 ? argv + 1 : one;
    int ndirs = argc > 1 ? argc - 1 : 1;
    long total = 0;
    printf("[==========] fuzz_%s: replaying the corpus\n", FUZZ_NAME);
    for (int i = 0; i < ndirs; i++) {
        struct stat st;
        long c;
        if (stat(dirs[i], &st) == 0 && S_ISREG(st.st_mode))
            c = run_file(dirs[i]) == 0 ? 1 : -1;
        else
            c = run_dir(dirs[i]);
        if (c < 0) {
            printf("[  FAILED  ] 1 test(s): %s could not be read\n", dirs[i]);
            return 1;
        }
        total += c;
    }
    if (total == 0) {
        printf("[  FAILED  ] 1 test(s): the corpus is empty\n");
        return 1;
    }
    printf("[       OK ] fuzz_%s: %ld inputs, no crash, no sanitizer report, every invariant held\n",
           FUZZ_NAME, total);
    printf("[  PASSED  ] 1 test(s).\n");
    return 0;
}
