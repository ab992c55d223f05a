/* The privacy budget's arithmetic (include/learnvault/dp.h); the ledger
 * lives in node.db behind the store (learnvault/store.h, lv_store_budget_*). */
#include "learnvault/dp.h"
#include "learnvault/util.h"

int64_t lv_dp_budget_window_start(int64_t now_ms, uint32_t window_days)
{
	return now_ms / UTIL_DAY_MS - (int64_t)window_days;
}

bool lv_dp_budget_fits(uint64_t spent, uint64_t charge, uint64_t budget)
{
	return spent + charge <= budget;
}
