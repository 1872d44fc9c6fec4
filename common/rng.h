/* rng.h: the random number generator, xoshiro256** (Blackman and Vigna, 2018).
 *
 *   Rng rng = rng_seed(42);                 one stream per seed
 *   double u = rng_uniform(&rng);           uniform on [0, 1)
 *   double z = rng_normal(&rng);            standard normal, N(0, 1)
 *   rng_normal_fill(&rng, eps, n);          n floats of N(0, 1), e.g. the eps of §2.3
 *   Rng r1 = rng_stream(42, 1);             an independent stream (one per thread)
 *
 * Why xoshiro256**: 256 bits of state, period 2^256 - 1, passes BigCrush, and
 * is four lines of code a student can read. The state is seeded by splitmix64
 * from (seed, stream), so streams with different numbers never share state.
 * Normals come from the Box-Muller transform; the second value of each pair
 * is kept, so draws are reproducible for a given seed and call sequence.
 * Nothing here allocates and nothing can fail.
 */
#ifndef RNG_H
#define RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
    double   spare;      /* second Box-Muller normal, valid when has_spare */
    int      has_spare;
} Rng;

Rng      rng_seed(uint64_t seed);
Rng      rng_stream(uint64_t seed, uint64_t stream);
uint64_t rng_u64(Rng *r);
double   rng_uniform(Rng *r);                      /* [0, 1), 53 random bits */
double   rng_normal(Rng *r);                       /* N(0, 1) */
int      rng_int(Rng *r, int n);                   /* uniform on {0, ..., n-1} */
void     rng_normal_fill(Rng *r, float *x, long n);   /* x[i] ~ N(0, 1) */

#endif
