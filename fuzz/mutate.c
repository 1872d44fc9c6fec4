/* A small mutation fuzzer for machines without clang's libFuzzer, with the same entry points and the same
 * command line (a subset): it runs every input of the corpus, then mutates them (bit flips, random and
 * "interesting" bytes, dictionary tokens, deleted, repeated and spliced chunks) until the time is up. It has no
 * coverage feedback: it finds shallow bugs only, which is what it is for. Built with -DFUZZ_TARGET=fuzz_idx etc.
 *
 *   ./fuzz_idx -max_total_time=60 -dict=fuzz/idx.dict -artifact_prefix=fuzz/regressions/idx/ fuzz/corpus/idx
 *
 * A crash (a sanitizer report, or a fatal signal) first writes the input to <artifact_prefix>crash-<pid>. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "targets.h"

enum { MAX_INPUTS = 4096, MAX_TOKENS = 512, MAX_LEN = 1 << 20 };
typedef struct { uint8_t *b; size_t n; } Buf;

static Buf    corpus[MAX_INPUTS], tokens[MAX_TOKENS];
static int    n_corpus, n_tokens;
static uint8_t *cur;          /* the input being run, for the crash handler */
static size_t cur_n;
static char   artifact[512];
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void) {   /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Write the current input as the crash artifact (async-signal-safe: open/write/close only). */
static void save_crash(void) {
    int fd = open(artifact, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    if (cur_n && write(fd, cur, cur_n) < 0) { /* nothing more to do in a dying process */ }
    close(fd);
    static const char msg[] = "\n== fuzz: crash input saved (see artifact_prefix)\n";
    if (write(2, msg, sizeof msg - 1) < 0) return;
}
static void on_signal(int sig) { save_crash(); signal(sig, SIG_DFL); raise(sig); }
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static Buf read_file(const char *path) {
    Buf b = { NULL, 0 };
    FILE *f = fopen(path, "rb");
    if (!f) return b;
    b.b = malloc(MAX_LEN);
    b.n = fread(b.b, 1, MAX_LEN, f);
    fclose(f);
    return b;
}

static void add_input(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) { fprintf(stderr, "fuzz: cannot read %s\n", path); exit(1); }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            add_input(p);
        }
        if (d) closedir(d);
    } else if (n_corpus < MAX_INPUTS) corpus[n_corpus++] = read_file(path);
}

/* libFuzzer's dictionary format: one token a line, "..." with \xNN, \\ and \" escapes; # comments. */
static void read_dict(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "fuzz: cannot read dictionary %s\n", path); exit(1); }
    char line[1024];
    while (fgets(line, sizeof line, f) && n_tokens < MAX_TOKENS) {
        char *q = strchr(line, '"');
        if (line[0] == '#' || !q) continue;
        uint8_t tok[512];
        size_t n = 0;
        for (char *p = q + 1; *p && *p != '"' && n < sizeof tok; p++) {
            if (*p == '\\' && p[1] == 'x' && p[2] && p[3]) { char h[3] = { p[2], p[3], 0 }; tok[n++] = (uint8_t)strtol(h, NULL, 16); p += 3; }
            else if (*p == '\\' && p[1]) tok[n++] = (uint8_t)*++p;
            else tok[n++] = (uint8_t)*p;
        }
        tokens[n_tokens].b = malloc(n + 1);
        memcpy(tokens[n_tokens].b, tok, n);
        tokens[n_tokens++].n = n;
    }
    fclose(f);
}

/* Replace b[at, at + del) by ins[0, n_ins); keeps the length under MAX_LEN. */
static size_t splice_in(uint8_t *b, size_t n, size_t at, size_t del, const uint8_t *ins, size_t n_ins) {
    if (at > n) at = n;
    if (del > n - at) del = n - at;
    if (n - del + n_ins > MAX_LEN) return n;
    memmove(b + at + n_ins, b + at + del, n - at - del);
    if (n_ins) memcpy(b + at, ins, n_ins);
    return n - del + n_ins;
}

/* One to four random edits of b (n bytes); returns the new length. */
static size_t mutate(uint8_t *b, size_t n) {
    static const uint8_t interesting[] = { 0, 1, 0x7f, 0x80, 0xff, '"', '{', '}', ',', ':', '[', ']', '0', '9', '-', '=' };
    int edits = 1 + (int)(rnd() % 4);
    for (int k = 0; k < edits; k++) {
        size_t at = n ? rnd() % n : 0, len = 1 + rnd() % 16;
        switch (rnd() % 8) {
        case 0: if (n) b[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
        case 1: if (n) b[at] = (uint8_t)rnd(); break;
        case 2: if (n) b[at] = interesting[rnd() % sizeof interesting]; break;
        case 3: if (n_tokens) { Buf *t = &tokens[rnd() % n_tokens]; n = splice_in(b, n, at, rnd() % 2 ? 0 : t->n, t->b, t->n); } break;
        case 4: n = splice_in(b, n, at, len, NULL, 0); break;                                    /* delete a chunk */
        case 5: if (n) { uint8_t tmp[16]; size_t m = len < n - at ? len : n - at; memcpy(tmp, b + at, m); n = splice_in(b, n, rnd() % n, 0, tmp, m); } break;
        case 6: if (n) n = at; break;                                                           /* truncate */
        default: { Buf *o = &corpus[rnd() % n_corpus]; if (o->n) { size_t from = rnd() % o->n, m = len < o->n - from ? len : o->n - from;
                   n = splice_in(b, n, at, m, o->b + from, m); } }                               /* splice another input */
        }
    }
    return n;
}

int main(int argc, char **argv) {
    double seconds = 60;
    long runs = -1;
    const char *prefix = "./";
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "-max_total_time=", 16)) seconds = atof(argv[i] + 16);
        else if (!strncmp(argv[i], "-runs=", 6)) runs = atol(argv[i] + 6);
        else if (!strncmp(argv[i], "-dict=", 6)) read_dict(argv[i] + 6);
        else if (!strncmp(argv[i], "-artifact_prefix=", 17)) prefix = argv[i] + 17;
        else if (!strncmp(argv[i], "-seed=", 6)) rng_state = strtoull(argv[i] + 6, NULL, 10);
        else if (argv[i][0] == '-') fprintf(stderr, "fuzz: ignoring libFuzzer flag %s\n", argv[i]);
        else add_input(argv[i]);
    }
    snprintf(artifact, sizeof artifact, "%scrash-%ld", prefix, (long)getpid());
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(save_crash);
    int sigs[] = { SIGSEGV, SIGABRT, SIGFPE, SIGILL, SIGBUS };
    for (int i = 0; i < 5; i++) signal(sigs[i], on_signal);
    if (n_corpus == 0) { corpus[0].b = malloc(1); corpus[0].n = 0; n_corpus = 1; }
    cur = malloc(MAX_LEN);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long done = 0;
    for (int i = 0; i < n_corpus; i++, done++) {   /* the corpus itself first */
        memcpy(cur, corpus[i].b, corpus[i].n);
        cur_n = corpus[i].n;
        FUZZ_TARGET(cur, cur_n);
    }
    double el = 0;
    while ((runs < 0 || done < runs) && el < seconds) {
        const Buf *src = &corpus[rnd() % n_corpus];
        memcpy(cur, src->b, src->n);
        cur_n = mutate(cur, src->n);
        FUZZ_TARGET(cur, cur_n);
        if (++done % 256 == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            el = (double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t);
    el = (double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec);
    fprintf(stderr, "fuzz (built-in mutator): %ld inputs run in %.1f s (%.0f/s), %d seeds, %d dictionary tokens, no crash\n",
            done, el, done / (el > 0 ? el : 1), n_corpus, n_tokens);
    return 0;
}
