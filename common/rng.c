#include <math.h>
#include "base.h"
#include "rng.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

Rng rng_stream(uint64_t seed, uint64_t stream) {
    Rng r = {0};
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++) r.s[i] = splitmix64(&x);
    return r;
}

Rng rng_seed(uint64_t seed) { return rng_stream(seed, 0); }

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_u64(Rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(Rng *r) { return (double)(rng_u64(r) >> 11) * 0x1.0p-53; }

int rng_int(Rng *r, int n) {
    CHECK(n > 0, "rng_int(n = %d), expected n > 0", n);
    return (int)(rng_uniform(r) * n);
}

/* Box-Muller: for u1, u2 ~ U(0,1], sqrt(-2 log u1) (cos 2 pi u2, sin 2 pi u2) are two independent N(0,1). */
double rng_normal(Rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1 = 1.0 - rng_uniform(r);    /* (0, 1]: log(u1) is finite */
    double u2 = rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1));
    r->spare = rad * sin(2.0 * PI * u2);
    r->has_spare = 1;
    return rad * cos(2.0 * PI * u2);
}

void rng_normal_fill(Rng *r, float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = (float)rng_normal(r);
}
