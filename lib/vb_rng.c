/* vb_rng: Philox4x32-10 counter-based generator (Random123 constants). */
#include "vb_rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t *hi)
{
	uint64_t p = (uint64_t)a * b;
	*hi = (uint32_t)(p >> 32);
	return (uint32_t)p;
}

void vb_rng_philox(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4])
{
	uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
	uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
	uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
	for (int round = 0; round < 10; round++) {
		uint32_t hi0, hi1;
		uint32_t lo0 = mulhilo(PHILOX_M0, c0, &hi0);
		uint32_t lo1 = mulhilo(PHILOX_M1, c2, &hi1);
		uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
		c0 = n0, c1 = n1, c2 = n2, c3 = n3;
		k0 += PHILOX_W0;
		k1 += PHILOX_W1;
	}
	out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

double vb_rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter, int n)
{
	uint32_t w[4];
	vb_rng_philox(seed, stream, counter, w);
	return vb_rng_to_unit(w[n & 3]);
}

double vb_rng_normal(uint64_t seed, uint64_t stream, uint64_t counter)
{
	uint32_t w[4];
	vb_rng_philox(seed, stream, counter, w);
	/* 53-bit uniforms; u1 in (0, 1] so that log() stays finite. */
	double u1 = ((double)(((uint64_t)w[0] << 21) ^ w[1]) + 1.0) / 9007199254740992.0;
	double u2 = (double)(((uint64_t)w[2] << 21) ^ w[3]) / 9007199254740992.0;
	if (u1 > 1.0)
		u1 = 1.0;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
