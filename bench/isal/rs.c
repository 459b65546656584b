/*
 * Reference driver for Mote's Reed-Solomon code, on Intel ISA-L (Debian: libisal-dev).
 *
 *   make -C bench/isal            (or: cc -O2 -o bench/isal/rs bench/isal/rs.c -lisal)
 *   bench/isal/rs vectors         JSON lines: {k, m, size, seed, parity: [hex per parity shard]}
 *   bench/isal/rs bench [MiB] [reps]
 *                                 JSON lines: best-of-reps single-core throughput of encode and
 *                                 of decode with 2 lost data shards, for 4+2 and 10+4
 *
 * The encoding matrix is gf_gen_cauchy1_matrix's, as in src/erasure/matrix.ts. Input bytes come
 * from the same generator as tests/erasure_test.ts: a 32-bit LCG (Numerical Recipes constants),
 * one step per byte, data shard after data shard, each byte the state's top 8 bits.
 */
#include <isa-l/erasure_code.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint32_t lcg_fill(uint32_t state, unsigned char **shards, int k, int size) {
	for (int j = 0; j < k; j++)
		for (int i = 0; i < size; i++) {
			state = state * 1664525u + 1013904223u;
			shards[j][i] = (unsigned char)(state >> 24);
		}
	return state;
}

static unsigned char **alloc_shards(int n, int size) {
	unsigned char **s = malloc(sizeof(*s) * n);
	for (int i = 0; i < n; i++) {
		if (posix_memalign((void **)&s[i], 64, size > 0 ? size : 1)) exit(1);
		memset(s[i], 0, size);
	}
	return s;
}

static void free_shards(unsigned char **s, int n) {
	for (int i = 0; i < n; i++) free(s[i]);
	free(s);
}

/* Parity of `data` into `parity` with the Cauchy matrix, as Mote's encode does. */
static void encode(int k, int m, int size, unsigned char **data, unsigned char **parity) {
	unsigned char *a = malloc((k + m) * k), *tbls = malloc(32 * k * m);
	gf_gen_cauchy1_matrix(a, k + m, k);
	ec_init_tables(k, m, &a[k * k], tbls);
	ec_encode_data(size, k, m, tbls, data, parity);
	free(a);
	free(tbls);
}

static void vectors(void) {
	static const int maps[][2] = {{1, 1}, {2, 2}, {4, 2}, {7, 3}, {10, 4}, {13, 5}, {18, 8}, {48, 16}};
	static const int sizes[] = {1, 15, 16, 17, 100, 257, 4093, 65541};
	for (size_t a = 0; a < sizeof(maps) / sizeof(maps[0]); a++)
		for (size_t b = 0; b < sizeof(sizes) / sizeof(sizes[0]); b++) {
			int k = maps[a][0], m = maps[a][1], size = sizes[b];
			uint32_t seed = 1000u * k + 10u * m + b;
			unsigned char **d = alloc_shards(k, size), **p = alloc_shards(m, size);
			lcg_fill(seed, d, k, size);
			encode(k, m, size, d, p);
			printf("{\"k\":%d,\"m\":%d,\"size\":%d,\"seed\":%u,\"parity\":[", k, m, size, seed);
			for (int i = 0; i < m; i++) {
				printf(i ? ",\"" : "\"");
				for (int x = 0; x < size; x++) printf("%02x", p[i][x]);
				printf("\"");
			}
			printf("]}\n");
			free_shards(d, k);
			free_shards(p, m);
		}
}

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void bench_map(int k, int m, long total, int reps) {
	int size = (int)((total + k - 1) / k);
	unsigned char **s = alloc_shards(k + m, size);
	unsigned char *a = malloc((k + m) * k), *tbls = malloc(32 * k * m);
	lcg_fill(1, s, k, size);
	gf_gen_cauchy1_matrix(a, k + m, k);
	double best = 1e9;
	for (int r = 0; r < reps; r++) {
		double t0 = now();
		ec_init_tables(k, m, &a[k * k], tbls);
		ec_encode_data(size, k, m, tbls, s, &s[k]);
		double t = now() - t0;
		if (t < best) best = t;
	}
	printf("{\"map\":\"%d+%d\",\"op\":\"encode\",\"bytes\":%ld,\"seconds\":%.6f,\"mbps\":%.0f}\n",
	       k, m, (long)k * size, best, (double)k * size / best / 1e6);

	/* Decode: data shards 0 and 1 lost; survivors are shards 2..k+1 (ISA-L's usual choice). */
	unsigned char *b = malloc(k * k), *inv = malloc(k * k), *rows = malloc(2 * k);
	unsigned char *src[k], *out[2] = {s[0], s[1]};
	best = 1e9;
	for (int r = 0; r < reps; r++) {
		double t0 = now();
		for (int i = 0; i < k; i++) {
			memcpy(&b[k * i], &a[k * (i + 2)], k);
			src[i] = s[i + 2];
		}
		if (gf_invert_matrix(b, inv, k)) exit(2);
		memcpy(rows, inv, 2 * k);
		ec_init_tables(k, 2, rows, tbls);
		ec_encode_data(size, k, 2, tbls, src, out);
		double t = now() - t0;
		if (t < best) best = t;
	}
	printf("{\"map\":\"%d+%d\",\"op\":\"decode\",\"bytes\":%ld,\"seconds\":%.6f,\"mbps\":%.0f}\n",
	       k, m, (long)k * size, best, (double)k * size / best / 1e6);
	free(a);
	free(b);
	free(inv);
	free(rows);
	free(tbls);
	free_shards(s, k + m);
}

int main(int argc, char **argv) {
	if (argc >= 2 && !strcmp(argv[1], "vectors")) {
		vectors();
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "bench")) {
		long mib = argc >= 3 ? atol(argv[2]) : 64;
		int reps = argc >= 4 ? atoi(argv[3]) : 5;
		bench_map(4, 2, mib << 20, reps);
		bench_map(10, 4, mib << 20, reps);
		return 0;
	}
	fprintf(stderr, "usage: rs vectors | rs bench [MiB] [reps]\n");
	return 64;
}
