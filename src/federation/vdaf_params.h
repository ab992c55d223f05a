/* The module's own view of a task's VDAF (vdaf_params.c). */
#ifndef LV_FEDERATION_VDAF_PARAMS_H
#define LV_FEDERATION_VDAF_PARAMS_H

#include "learnvault/federation.h"
#include "prio3.h"

/* The two-share Prio3 instance of @p (the caller's: fed_prio3_destroy);
 * LV_ERR_INVALID when Prio3 refuses the parameters. */
enum lv_status fed_vdaf_prio3(const struct lv_fed_vdaf_params *p, struct fed_prio3 **out) LV_WARN_UNUSED;

#endif
