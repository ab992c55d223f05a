/* Policies: lv_policy_parse, as `policy load` and the admin API use it.  An
 * accepted policy's canonical text must parse again to the same digest. */
#include "fuzz.h"

#include "learnvault/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lv_policy *p = NULL;
	char err[LV_POLICY_ERR_LEN];
	if (lv_policy_parse((const char *)data, size, &p, err) != LV_OK) {
		if (p)
			abort();
		return 0;
	}
	char *canon = lv_policy_canonical_text(p);
	if (canon) {
		struct lv_policy *q = NULL;
		if (lv_policy_parse(canon, strlen(canon), &q, err) != LV_OK)
			abort();
		char *canon2 = lv_policy_canonical_text(q);
		if (canon2 && strcmp(canon, canon2) != 0)
			abort();
		free(canon2);
		lv_policy_destroy(q);
		free(canon);
	}
	lv_policy_destroy(p);
	return 0;
}
