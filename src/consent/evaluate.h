/* consent/ internals shared by the evaluator and the ledger: the age rule
 * (who must have granted; who may decide) and what counts as a grant. */
#ifndef LV_CONSENT_EVALUATE_H
#define LV_CONSENT_EVALUATE_H

#include <stdbool.h>
#include <stdint.h>

/* True when a learner born on @birth_date ("YYYY-MM-DD" as stored; NULL
 * or unreadable: unknown) is below @age at @now_ms.  An unknown birth date
 * counts as below, so the guardian rule fails closed; @age 0: never
 * below.  Pure. */
bool consent_below_age(const char *birth_date, uint32_t age, int64_t now_ms);

/* True for the events that grant: ConsentGiven and RenewedConsentGiven. */
bool consent_is_grant(const char *event);

#endif
