/* Reading a whole file into memory: what the ratings history, the oracle's contract artefacts and
 * the model tool's CSV inputs need. */
#ifndef PARLAY_FILE_H
#define PARLAY_FILE_H

#include <stddef.h>

/* The whole of @path in a malloc'd buffer with a NUL after the last byte (*@len excludes it).
 * -1 with errno set when the file cannot be opened or read, or is larger than @max bytes (EFBIG);
 * ENOMEM when memory runs out. */
int file_read(const char *path, size_t max, char **buf, size_t *len);

#endif
