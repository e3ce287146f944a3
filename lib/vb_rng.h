/* vb_rng: counter-based random numbers (Philox4x32-10, Salmon et al., SC'11).
 * A number is a pure function of (seed, stream, counter), so results do not
 * depend on how work is split among threads or in which order it runs. */
#ifndef VB_RNG_H
#define VB_RNG_H

#include <stdint.h>

/* Four independent 32-bit words for (seed, stream, counter). */
void vb_rng_philox(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4]);

/* Uniform double in [0, 1) from word n (0..3) of draw (seed, stream, counter). */
double vb_rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter, int n);

/* Standard normal deviate from draw (seed, stream, counter) (Box-Muller). */
double vb_rng_normal(uint64_t seed, uint64_t stream, uint64_t counter);

/* Converts a 32-bit word to a uniform double in [0, 1). */
static inline double vb_rng_to_unit(uint32_t w)
{
	return (double)w * (1.0 / 4294967296.0);
}

#endif
