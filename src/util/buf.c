#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learnvault/util.h"

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static enum lv_status buf_reserve(struct buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return LV_ERR_TOO_LARGE;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return LV_OK;
	size_t ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	char *p = realloc(b->data, ncap);
	if (!p)
		return LV_ERR_NOMEM;
	b->data = p;
	b->cap = ncap;
	return LV_OK;
}

enum lv_status buf_append(struct buf *b, const void *p, size_t n)
{
	enum lv_status st = buf_reserve(b, n);
	if (st != LV_OK)
		return st;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return LV_OK;
}

enum lv_status buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

enum lv_status buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return LV_ERR_INTERNAL;
	enum lv_status st = buf_reserve(b, (size_t)n);
	if (st != LV_OK)
		return st;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return LV_OK;
}

char *buf_steal(struct buf *b)
{
	char *p = b->data;
	if (!p)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

enum lv_status util_array_grow_slow(void **v, size_t elem_size, size_t *cap, size_t need, size_t max)
{
	if (need <= *cap)
		return LV_OK;
	if (need > max)
		return LV_ERR_TOO_LARGE;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap = ncap > max / 2 ? max : ncap * 2;
	if (ncap > SIZE_MAX / elem_size)
		return LV_ERR_TOO_LARGE;
	void *p = realloc(*v, ncap * elem_size);
	if (!p)
		return LV_ERR_NOMEM;
	*v = p;
	*cap = ncap;
	return LV_OK;
}

uint64_t util_fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

int util_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int util_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void util_errf(char *err, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, LV_ERR_LEN, fmt, ap);
	va_end(ap);
}
