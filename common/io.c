#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io.h"

int io_mkdir_p(const char *dir) {
    char buf[1024];
    if (strlen(dir) >= sizeof buf) {
        fprintf(stderr, "error: directory name too long: %s\n", dir);
        return 1;
    }
    strcpy(buf, dir);
    for (char *p = buf + 1; ; p++) {     /* make each prefix that ends at a '/' */
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                fprintf(stderr, "error: cannot create directory %s: %s\n", buf, strerror(errno));
                return 1;
            }
            *p = c;
            if (c == '\0') break;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK) != 0) {
        fprintf(stderr, "error: %s is not a writable directory; hint: choose another with --out DIR\n", dir);
        return 1;
    }
    return 0;
}

FILE *io_atomic_open(const char *path, char *tmp_out, size_t cap) {
    if ((size_t)snprintf(tmp_out, cap, "%s.tmp.%ld", path, (long)getpid()) >= cap) {
        fprintf(stderr, "error: path too long: %s\n", path);
        return NULL;
    }
    FILE *f = fopen(tmp_out, "wb");
    if (!f) fprintf(stderr, "error: cannot write %s: %s; hint: is the directory writable?\n", tmp_out, strerror(errno));
    return f;
}

int io_atomic_commit(FILE *f, const char *tmp, const char *path) {
    int bad = ferror(f);
    if (fflush(f) != 0) bad = 1;
    if (fclose(f) != 0) bad = 1;
    if (bad) {
        fprintf(stderr, "error: writing %s failed: %s; the old %s is untouched\n", tmp, strerror(errno), path);
        unlink(tmp);
        return 1;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "error: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
        unlink(tmp);
        return 1;
    }
    return 0;
}

void io_atomic_abort(FILE *f, const char *tmp) {
    fclose(f);
    unlink(tmp);
}

int io_write_atomic(const char *path, const void *data, size_t n) {
    char tmp[1100];
    FILE *f = io_atomic_open(path, tmp, sizeof tmp);
    if (!f) return 1;
    if (fwrite(data, 1, n, f) != n) {
        fprintf(stderr, "error: short write to %s\n", tmp);
        io_atomic_abort(f, tmp);
        return 1;
    }
    return io_atomic_commit(f, tmp, path);
}
