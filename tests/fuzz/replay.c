/* Runs a fuzz target (linked in) on each file named on the command line, as
 * libFuzzer would on one input: the regression replay of tests/fuzz/corpus
 * that `make test` (tests/fuzz.bats) and `make sanitize` run without
 * libFuzzer. Exit 0 when every input ran; a crash is the failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	for (int k = 1; k < argc; k++) {
		FILE *f = fopen(argv[k], "rb");
		if (f == NULL) {
			fprintf(stderr, "replay: %s: cannot open\n", argv[k]);
			return 2;
		}
		size_t cap = 1 << 16, n = 0;
		uint8_t *buf = malloc(cap);
		for (size_t got; buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
			n += got;
			if (n == cap) {
				uint8_t *bigger = realloc(buf, cap * 2);
				if (bigger == NULL) {
					free(buf);
					buf = NULL;
					break;
				}
				buf = bigger, cap *= 2;
			}
		}
		fclose(f);
		if (buf == NULL) {
			fprintf(stderr, "replay: %s: out of memory\n", argv[k]);
			return 2;
		}
		LLVMFuzzerTestOneInput(buf, n);
		free(buf);
	}
	printf("replay: %d inputs\n", argc - 1);
	return 0;
}
