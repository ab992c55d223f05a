/* door/ internals shared between the doors: the access step every read
 * runs before it releases anything. */
#ifndef LV_DOOR_DOOR_INT_H
#define LV_DOOR_DOOR_INT_H

#include <stddef.h>
#include <stdint.h>

#include "learnvault/node.h"
#include "learnvault/status.h"

/* A learner whose data a door is about to release, and how many items. */
struct door_access {
	const char *learner; /* borrowed */
	uint64_t count;
};

/* One access by @who to @learner's data (@resource, @count items) under
 * @purpose, decided and logged through the access check in its own
 * node.db transaction, as lv_access_authorize: a denial is logged and
 * committed.  LV_OK only when allowed and logged; LV_ERR_FORBIDDEN when
 * denied.  door_authorize takes the lock; door_authorize_locked runs
 * inside the caller's lock section (no transaction open). */
enum lv_status door_authorize(struct lv_node *n, const struct lv_principal *who, const char *learner,
			      const char *purpose, const char *resource, uint64_t count) LV_WARN_UNUSED;
enum lv_status door_authorize_locked(struct lv_node *n, const struct lv_principal *who, const char *learner,
				     const char *purpose, const char *resource, uint64_t count) LV_WARN_UNUSED;

/* The accesses @a[0..@na) by @who under @purpose (@resource), all or
 * nothing: one node.db transaction, committed only when every one is
 * allowed and logged; a denial rolls back every entry of the transaction
 * and returns LV_ERR_FORBIDDEN.  @na == 0 logs nothing.  Lock held (no
 * transaction open). */
enum lv_status door_authorize_all_locked(struct lv_node *n, const struct lv_principal *who, const char *purpose,
					 const char *resource, const struct door_access *a,
					 size_t na) LV_WARN_UNUSED;

#endif
