#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io.h"

int io_mkdir_p(const char *dir) {
    char buf[1024];
    if (dir[0] == '\0') {   /* "" names no directory (and the loop below starts at buf + 1) */
        fprintf(stderr, "error: empty directory name; hint: --out DIR names where figures go\n");
        return 1;
    }
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

/* ---- safetensors ------------------------------------------------------------ */

static size_t numel_of(const int *shape, int ndim) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    return n;
}

int io_safetensors_write(const char *path, const IoTensor *t, int n, const char *metadata_json) {
    const uint16_t probe = 1;
    CHECK(*(const unsigned char *)&probe == 1, "safetensors writer assumes a little-endian machine");
    char *hdr = NULL;
    size_t hlen = 0;
    FILE *h = open_memstream(&hdr, &hlen);
    CHECK(h != NULL, "open_memstream failed");
    fprintf(h, "{");
    if (metadata_json) fprintf(h, "\"__metadata__\":%s,", metadata_json);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t bytes = numel_of(t[i].shape, t[i].ndim) * sizeof(float);
        fprintf(h, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", i ? "," : "", t[i].name);
        for (int d = 0; d < t[i].ndim; d++) fprintf(h, "%s%d", d ? "," : "", t[i].shape[d]);
        fprintf(h, "],\"data_offsets\":[%zu,%zu]}", off, off + bytes);
        off += bytes;
    }
    fprintf(h, "}");
    while ((ftell(h) % 8) != 0) fputc(' ', h);   /* pad so the data starts 8-byte aligned */
    fclose(h);
    char tmp[1100];
    FILE *f = io_atomic_open(path, tmp, sizeof tmp);
    if (!f) { free(hdr); return 1; }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    fwrite(len8, 1, 8, f);
    fwrite(hdr, 1, hlen, f);
    free(hdr);
    for (int i = 0; i < n; i++) fwrite(t[i].data, sizeof(float), numel_of(t[i].shape, t[i].ndim), f);
    return io_atomic_commit(f, tmp, path);
}

/* A tiny strict JSON reader, enough for a safetensors header. */
static void skip_ws(char **p) { while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r') (*p)++; }
static int expect(char **p, char c) { skip_ws(p); if (**p != c) return 1; (*p)++; return 0; }

/* A string without escapes other than \" and \\ (names and metadata); cut in place, returns its start. */
static char *parse_string(char **p) {
    skip_ws(p);
    if (**p != '"') return NULL;
    char *start = ++(*p), *w = start;
    while (**p && **p != '"') {
        if (**p == '\\') { (*p)++; if (**p != '"' && **p != '\\') return NULL; }
        *w++ = *(*p)++;
    }
    if (**p != '"') return NULL;
    (*p)++;
    *w = '\0';
    return start;
}

static int parse_uint(char **p, size_t *v) {
    skip_ws(p);
    if (**p < '0' || **p > '9') return 1;
    size_t x = 0;
    while (**p >= '0' && **p <= '9') {
        if (x > ((size_t)1 << 50)) return 1;   /* no tensor is that large: reject before overflow */
        x = 10 * x + (size_t)(*(*p)++ - '0');
    }
    *v = x;
    return 0;
}

static int parse_uint_array(char **p, size_t *v, int max, int *count) {
    if (expect(p, '[')) return 1;
    *count = 0;
    skip_ws(p);
    if (**p == ']') { (*p)++; return 0; }
    for (;;) {
        if (*count >= max || parse_uint(p, &v[*count])) return 1;
        (*count)++;
        skip_ws(p);
        if (**p == ']') { (*p)++; return 0; }
        if (expect(p, ',')) return 1;
    }
}

static int parse_tensor(char **p, IoStEntry *e) {
    if (expect(p, '{')) return 1;
    int seen = 0;
    for (;;) {
        char *key = parse_string(p);
        if (!key || expect(p, ':')) return 1;
        size_t v[8];
        int cnt;
        if (!strcmp(key, "dtype")) { if (!(e->dtype = parse_string(p))) return 1; seen |= 1; }
        else if (!strcmp(key, "shape")) {
            if (parse_uint_array(p, v, 8, &cnt)) return 1;
            e->ndim = cnt;
            for (int i = 0; i < cnt; i++) { if (v[i] > 1u << 30) return 1; e->shape[i] = (int)v[i]; }
            seen |= 2;
        } else if (!strcmp(key, "data_offsets")) {
            if (parse_uint_array(p, v, 2, &cnt) || cnt != 2) return 1;
            e->begin = v[0];
            e->end = v[1];
            seen |= 4;
        } else return 1;
        skip_ws(p);
        if (**p == '}') { (*p)++; return seen == 7 ? 0 : 1; }
        if (expect(p, ',')) return 1;
    }
}

static int parse_metadata(char **p, IoSafetensors *f) {
    if (expect(p, '{')) return 1;
    skip_ws(p);
    if (**p == '}') { (*p)++; return 0; }
    for (;;) {
        char *k = parse_string(p), *v;
        if (!k || expect(p, ':') || !(v = parse_string(p))) return 1;
        if (f->n_meta < IO_ST_MAX_META) { f->meta_key[f->n_meta] = k; f->meta_val[f->n_meta++] = v; }
        skip_ws(p);
        if (**p == '}') { (*p)++; return 0; }
        if (expect(p, ',')) return 1;
    }
}

/* The header's JSON object: __metadata__ and one entry per tensor. NULL, or what is wrong. */
static const char *parse_header(IoSafetensors *f) {
    char *p = f->hdr;
    if (expect(&p, '{')) return "header is not a JSON object";
    for (int first = 1;; first = 0) {
        skip_ws(&p);
        if (*p == '}') { p++; break; }
        if (!first && expect(&p, ',')) return "JSON syntax error in the header";
        char *key = parse_string(&p);
        if (!key || expect(&p, ':')) return "JSON syntax error in the header";
        if (!strcmp(key, "__metadata__")) {
            if (parse_metadata(&p, f)) return "bad __metadata__ (expected an object of strings)";
            continue;
        }
        if (f->n >= IO_ST_MAX_ENTRIES) return "too many tensors";   /* (fewer than the '{' counted, which bound f->e) */
        f->e[f->n].name = key;
        if (parse_tensor(&p, &f->e[f->n])) return "bad tensor entry (expected dtype, shape, data_offsets)";
        f->n++;
    }
    skip_ws(&p);
    return *p != '\0' ? "text after the header's JSON object" : NULL;
}

static int cmp_begin(const void *a, const void *b) {
    const IoStEntry *x = *(const IoStEntry *const *)a, *y = *(const IoStEntry *const *)b;
    if (x->begin != y->begin) return (x->begin > y->begin) - (x->begin < y->begin);
    return (x->end > y->end) - (x->end < y->end);
}

/* s with control characters, quotes and backslashes escaped (\xNN), cut to fit: file text is printed safely. */
static const char *escaped(const char *s, char *buf, size_t cap) {
    size_t w = 0;
    for (; *s && w + 5 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'') w += (size_t)snprintf(buf + w, cap - w, "\\x%02x", c);
        else buf[w++] = (char)c;
    }
    buf[w] = '\0';
    return buf;
}

/* The tensors must tile the data section exactly, as the safetensors format requires: sorted by offset, the
 * first at 0, each beginning where the previous ends (no gap, no overlap), the last ending at the file's end,
 * names distinct, and each F32 range numel x 4 bytes long. A header length off by a few bytes shifts the data
 * section and is caught here. Writes what is wrong into why (cap bytes); 0 if the layout is exact. */
static int check_layout(const IoSafetensors *f, char *why, size_t cap) {
    size_t data_len = f->size - f->data_start, at = 0;
    char nm[96];
    for (int i = 0; i < f->n; i++) {
        const IoStEntry *e = &f->e[i];
        if (e->begin > e->end || e->end > data_len) {
            snprintf(why, cap, "tensor '%s': data_offsets [%zu, %zu] outside the data section of %zu bytes (truncated?)",
                     escaped(e->name, nm, sizeof nm), e->begin, e->end, data_len);
            return 1;
        }
        if (!strcmp(e->dtype, "F32") && e->end - e->begin != numel_of(e->shape, e->ndim) * 4) {
            snprintf(why, cap, "tensor '%s': data_offsets [%zu, %zu] do not match its shape", escaped(e->name, nm, sizeof nm), e->begin, e->end);
            return 1;
        }
    }
    const IoStEntry **s = malloc(sizeof *s * ((size_t)f->n + 1));
    CHECK(s != NULL, "out of memory");
    for (int i = 0; i < f->n; i++) s[i] = &f->e[i];
    qsort(s, (size_t)f->n, sizeof *s, cmp_begin);
    int bad = 0;
    for (int i = 0; i < f->n && !bad; i++) {
        for (int j = 0; j < i && !bad; j++)
            if (!strcmp(s[i]->name, s[j]->name)) {
                snprintf(why, cap, "tensor '%s' appears twice", escaped(s[i]->name, nm, sizeof nm));
                bad = 1;
            }
        if (!bad && s[i]->begin != at) {
            snprintf(why, cap, "tensor '%s' starts at byte %zu of the data section, expected %zu (%s)", escaped(s[i]->name, nm, sizeof nm),
                     s[i]->begin, at, s[i]->begin > at ? "a gap" : "two tensors overlap");
            bad = 1;
        }
        at = s[i]->end;
    }
    free(s);
    if (!bad && at != data_len) {
        snprintf(why, cap, "the tensors end at byte %zu of the data section, but it has %zu (header length wrong, or bytes appended)", at, data_len);
        bad = 1;
    }
    return bad;
}

void io_safetensors_close(IoSafetensors *f) {
    free(f->file);
    free(f->hdr);
    free(f->e);
    memset(f, 0, sizeof *f);
}

int io_safetensors_parse(IoSafetensors *f, const char *path, unsigned char *bytes, size_t size) {
    memset(f, 0, sizeof *f);
    f->path = path;
    f->file = bytes;
    f->size = size;
    char why[300] = "";
    uint64_t hlen = 0;
    if (f->size < 8) snprintf(why, sizeof why, "file of %zu bytes, shorter than the 8-byte header length (truncated)", f->size);
    else {
        for (int i = 0; i < 8; i++) hlen |= (uint64_t)f->file[i] << (8 * i);
        if (hlen < 2 || hlen > f->size - 8)
            snprintf(why, sizeof why, "header length %llu, but the file has %zu bytes after it (truncated or not safetensors)",
                     (unsigned long long)hlen, f->size - 8);
    }
    if (!why[0]) {
        f->hdr = malloc(hlen + 1);
        CHECK(f->hdr != NULL, "out of memory for a header of %llu bytes", (unsigned long long)hlen);
        memcpy(f->hdr, f->file + 8, hlen);
        f->hdr[hlen] = '\0';
        size_t braces = 0;   /* each tensor entry opens one '{': an upper bound on the entries */
        for (size_t i = 0; i < hlen; i++) braces += f->hdr[i] == '{';
        f->e = calloc(braces < IO_ST_MAX_ENTRIES ? braces + 1 : IO_ST_MAX_ENTRIES, sizeof(IoStEntry));
        CHECK(f->e != NULL, "out of memory for %zu entries", braces);
        f->data_start = 8 + hlen;
        const char *e = strlen(f->hdr) != hlen ? "a NUL byte in the header" : parse_header(f);
        if (e) snprintf(why, sizeof why, "%s", e);
        else check_layout(f, why, sizeof why);
    }
    if (why[0]) {
        fprintf(stderr, "error: %s: %s; hint: the checkpoint is corrupt, retrain or restore it\n", path, why);
        io_safetensors_close(f);
        return 1;
    }
    return 0;
}

int io_safetensors_open(IoSafetensors *f, const char *path) {
    memset(f, 0, sizeof *f);
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; only regular files are read */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) { fprintf(stderr, "error: cannot open %s: %s\n", path, strerror(errno)); return 1; }
    struct stat st;
    memset(&st, 0, sizeof st);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "error: %s is %s, not a safetensors file; hint: name a checkpoint file\n", path,
                S_ISDIR(st.st_mode) ? "a directory" : "a FIFO, socket or device");
        close(fd);
        return 1;
    }
    size_t size = (size_t)st.st_size, got = 0;
    unsigned char *bytes = malloc(size + 1);
    if (!bytes) { fprintf(stderr, "error: %s: cannot allocate %zu bytes to read it\n", path, size); close(fd); return 1; }
    while (got < size) {
        ssize_t r = read(fd, bytes + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != size) {
        fprintf(stderr, "error: cannot read %s: %s (%zu of %zu bytes)\n", path, got < size ? "short read" : strerror(errno), got, size);
        free(bytes);
        return 1;
    }
    return io_safetensors_parse(f, path, bytes, size);
}

int io_safetensors_tensors(const IoSafetensors *f, IoTensor *t, int n) {
    char nm[96];
    for (int i = 0; i < n; i++) {
        const IoStEntry *e = NULL;
        for (int j = 0; j < f->n; j++) if (!strcmp(f->e[j].name, t[i].name)) { e = &f->e[j]; break; }
        if (!e) { fprintf(stderr, "error: %s: tensor '%s' missing\n", f->path, t[i].name); return 1; }
        if (strcmp(e->dtype, "F32")) {
            fprintf(stderr, "error: %s: tensor '%s' has dtype %s, expected F32\n", f->path, t[i].name, escaped(e->dtype, nm, sizeof nm));
            return 1;
        }
        int same = e->ndim == t[i].ndim;
        for (int d = 0; same && d < e->ndim; d++) same = e->shape[d] == t[i].shape[d];
        if (!same) { fprintf(stderr, "error: %s: tensor '%s' has another shape than expected\n", f->path, t[i].name); return 1; }
        memcpy(t[i].data, f->file + f->data_start + e->begin, e->end - e->begin);
    }
    return 0;
}

int io_safetensors_meta(const IoSafetensors *f, const char *key, char *out, size_t cap) {
    for (int i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta_key[i], key) && strlen(f->meta_val[i]) < cap) { strcpy(out, f->meta_val[i]); return 0; }
    return 1;
}

int io_safetensors_read_into(const char *path, IoTensor *t, int n) {
    IoSafetensors f;
    if (io_safetensors_open(&f, path)) return 1;
    int rc = io_safetensors_tensors(&f, t, n);
    io_safetensors_close(&f);
    return rc;
}

int io_safetensors_metadata(const char *path, const char *key, char *out, size_t cap) {
    IoSafetensors f;
    if (io_safetensors_open(&f, path)) return 1;
    int rc = io_safetensors_meta(&f, key, out, cap);
    io_safetensors_close(&f);
    return rc;
}

void io_sibling_path(const char *path, const char *suffix, char *out, size_t cap) {
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path, *dot = strrchr(base, '.');
    size_t n = strlen(path);
    if (dot && dot > base) n = (size_t)(dot - path);   /* a leading dot names a hidden file, not an extension */
    snprintf(out, cap, "%.*s%s", (int)n, path, suffix);
}

int io_mkdir_for(const char *path) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return 0;
    *slash = '\0';
    return dir[0] ? io_mkdir_p(dir) : 0;
}
