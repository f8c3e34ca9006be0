/* Reading a whole file into memory (see file.h). */
#include "common/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int file_read(const char *path, size_t max, char **buf, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    int err = b ? 0 : ENOMEM;
    while (!err) {
        if (n == cap) {
            char *nb = realloc(b, (cap *= 2) + 1);
            if (!nb) {
                err = ENOMEM;
                break;
            }
            b = nb;
        }
        size_t got = fread(b + n, 1, cap - n, fp);
        n += got;
        if (n > max)
            err = EFBIG;
        else if (got == 0) {
            err = ferror(fp) ? EIO : 0;
            break;
        }
    }
    fclose(fp);
    if (err) {
        free(b);
        errno = err;
        return -1;
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return 0;
}
