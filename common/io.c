#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
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

/* The parsed header: one entry per tensor, and the metadata pairs. Strings point into the header copy. */
enum { ST_MAX_ENTRIES = 4096, ST_MAX_META = 64 };
typedef struct {
    char   *name;
    char   *dtype;
    int     ndim, shape[8];
    size_t  begin, end;
} StEntry;
typedef struct {
    unsigned char *file;   /* whole file */
    size_t   size, data_start;
    char    *hdr;          /* NUL-terminated copy of the JSON header; strings are cut in place */
    StEntry *e;
    int      n;
    char    *meta_key[ST_MAX_META], *meta_val[ST_MAX_META];
    int      n_meta;
    const char *path;
    const char *err;       /* first parse error */
} StFile;

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

static int parse_tensor(char **p, StEntry *e) {
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

static int parse_metadata(char **p, StFile *f) {
    if (expect(p, '{')) return 1;
    skip_ws(p);
    if (**p == '}') { (*p)++; return 0; }
    for (;;) {
        char *k = parse_string(p), *v;
        if (!k || expect(p, ':') || !(v = parse_string(p))) return 1;
        if (f->n_meta < ST_MAX_META) { f->meta_key[f->n_meta] = k; f->meta_val[f->n_meta++] = v; }
        skip_ws(p);
        if (**p == '}') { (*p)++; return 0; }
        if (expect(p, ',')) return 1;
    }
}

static int cmp_begin(const void *a, const void *b) {
    const StEntry *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

static void st_close(StFile *f) {
    free(f->file);
    free(f->hdr);
    free(f->e);
}

/* Read and validate the whole file; on failure print one line naming the file and the problem. */
static int st_open(StFile *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->path = path;
    FILE *fp = fopen(path, "rb");
    if (!fp) { fprintf(stderr, "error: cannot open %s: %s\n", path, strerror(errno)); return 1; }
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->size = size > 0 ? (size_t)size : 0;
    f->file = malloc(f->size + 1);
    CHECK(f->file != NULL, "out of memory reading %s", path);
    size_t got = fread(f->file, 1, f->size, fp);
    fclose(fp);
    const char *why = NULL;
    uint64_t hlen = 0;
    if (got != f->size || f->size < 8) why = "file shorter than the 8-byte header length (truncated)";
    else {
        for (int i = 0; i < 8; i++) hlen |= (uint64_t)f->file[i] << (8 * i);
        if (hlen < 2 || hlen > f->size - 8) why = "header length larger than the file (truncated or not safetensors)";
    }
    if (!why) {
        f->hdr = malloc(hlen + 1);
        memcpy(f->hdr, f->file + 8, hlen);
        f->hdr[hlen] = '\0';
        f->data_start = 8 + hlen;
        f->e = calloc(ST_MAX_ENTRIES, sizeof(StEntry));
        char *p = f->hdr;
        if (expect(&p, '{')) why = "header is not a JSON object";
        for (int first = 1; !why; first = 0) {
            skip_ws(&p);
            if (*p == '}') { p++; break; }
            if (!first && expect(&p, ',')) { why = "JSON syntax error in the header"; break; }
            char *key = parse_string(&p);
            if (!key || expect(&p, ':')) { why = "JSON syntax error in the header"; break; }
            if (!strcmp(key, "__metadata__")) { if (parse_metadata(&p, f)) why = "bad __metadata__ (expected an object of strings)"; continue; }
            if (f->n >= ST_MAX_ENTRIES) { why = "too many tensors"; break; }
            f->e[f->n].name = key;
            if (parse_tensor(&p, &f->e[f->n])) why = "bad tensor entry (expected dtype, shape, data_offsets)";
            f->n++;
        }
        skip_ws(&p);
        if (!why && *p != '\0') why = "text after the header's JSON object";
    }
    /* the offsets: inside the data section, size = numel x 4 for F32, no two tensors overlapping */
    size_t data_len = f->size - f->data_start;
    for (int i = 0; !why && i < f->n; i++) {
        StEntry *e = &f->e[i];
        if (e->begin > e->end || e->end > data_len) why = "data_offsets outside the data section (truncated?)";
        else if (!strcmp(e->dtype, "F32") && e->end - e->begin != numel_of(e->shape, e->ndim) * 4) why = "data_offsets do not match the shape";
    }
    if (!why) {
        StEntry *sorted = malloc(sizeof(StEntry) * (size_t)(f->n ? f->n : 1));
        memcpy(sorted, f->e, sizeof(StEntry) * (size_t)f->n);
        qsort(sorted, (size_t)f->n, sizeof(StEntry), cmp_begin);
        for (int i = 1; i < f->n && !why; i++)
            if (sorted[i].begin < sorted[i - 1].end) why = "two tensors' data overlap";
        free(sorted);
    }
    if (why) {
        fprintf(stderr, "error: %s: %s; hint: the checkpoint is corrupt, retrain or restore it\n", path, why);
        st_close(f);
        return 1;
    }
    return 0;
}

int io_safetensors_read_into(const char *path, IoTensor *t, int n) {
    StFile f;
    if (st_open(&f, path)) return 1;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        const StEntry *e = NULL;
        for (int j = 0; j < f.n; j++) if (!strcmp(f.e[j].name, t[i].name)) { e = &f.e[j]; break; }
        if (!e) { fprintf(stderr, "error: %s: tensor '%s' missing\n", path, t[i].name); rc = 1; break; }
        if (strcmp(e->dtype, "F32")) { fprintf(stderr, "error: %s: tensor '%s' has dtype %s, expected F32\n", path, t[i].name, e->dtype); rc = 1; break; }
        int same = e->ndim == t[i].ndim;
        for (int d = 0; same && d < e->ndim; d++) same = e->shape[d] == t[i].shape[d];
        if (!same) { fprintf(stderr, "error: %s: tensor '%s' has another shape than expected\n", path, t[i].name); rc = 1; break; }
        memcpy(t[i].data, f.file + f.data_start + e->begin, e->end - e->begin);
    }
    st_close(&f);
    return rc;
}

int io_safetensors_metadata(const char *path, const char *key, char *out, size_t cap) {
    StFile f;
    if (st_open(&f, path)) return 1;
    int rc = 1;
    for (int i = 0; i < f.n_meta; i++)
        if (!strcmp(f.meta_key[i], key) && strlen(f.meta_val[i]) < cap) { strcpy(out, f.meta_val[i]); rc = 0; }
    st_close(&f);
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
