/* Shared by the libFuzzer harnesses (tests/fuzz/README.md).  Each harness
 * defines LLVMFuzzerTestOneInput; libFuzzer (-fsanitize=fuzzer) provides
 * main.  A harness reports nothing itself: a finding is a crash, a leak,
 * an ASan or UBSan report (UBSan halts: -fno-sanitize-recover=all) or a
 * timeout, all raised by the sanitizers and libFuzzer. */
#ifndef LV_FUZZ_H
#define LV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A NUL-terminated malloc'd copy of @data, so that a parser that reads one
 * byte past @size is caught by ASan rather than reading libFuzzer's own
 * buffer (which is exactly @size bytes already, but the copy also gives
 * the functions that want a C string one).  NULL when out of memory. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s) {
		if (size)
			memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/* Splits @data at its first '\n': the head (without the newline) becomes a
 * NUL-terminated malloc'd string in *@head, the rest is *@rest with *@rest_len bytes
 * (borrowed from @data).  Without a newline the head is all of @data and
 * the rest empty.  False when out of memory. */
static inline int fuzz_split_line(const uint8_t *data, size_t size, char **head, const uint8_t **rest,
				  size_t *rest_len)
{
	const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
	size_t hl = nl ? (size_t)(nl - data) : size;
	*head = fuzz_cstr(data, hl);
	*rest = nl ? nl + 1 : data + size;
	*rest_len = nl ? size - hl - 1 : 0;
	return *head != NULL;
}

#endif
