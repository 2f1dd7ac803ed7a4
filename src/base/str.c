#include "base/str.h"

#include <errno.h>
#include <ctype.h>

struct wims_str wims_str_trim(struct wims_str s)
{
	while (s.l && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.l--;
	}
	while (s.l && (s.p[s.l - 1] == ' ' || s.p[s.l - 1] == '\t'))
		s.l--;
	return s;
}

long wims_str_findi(struct wims_str s, struct wims_str n)
{
	if (n.l == 0)
		return 0;
	for (size_t i = 0; i + n.l <= s.l; i++)
		if (strncasecmp(s.p + i, n.p, n.l) == 0)
			return (long)i;
	return -1;
}

int wims_str_to_u64(struct wims_str s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (s.l == 0 || s.l > 20)
		return -EINVAL;
	for (size_t i = 0; i < s.l; i++) {
		if (!isdigit((unsigned char)s.p[i]))
			return -EINVAL;
		unsigned d = (unsigned)(s.p[i] - '0');
		if (d > max || v > (max - d) / 10) /* d > max: max - d would wrap */
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int wims_str_copy(char *dst, size_t cap, struct wims_str s)
{
	if (cap == 0 || s.l >= cap)
		return -ENOSPC;
	if (s.l)
		memcpy(dst, s.p, s.l);
	dst[s.l] = '\0';
	return 0;
}
