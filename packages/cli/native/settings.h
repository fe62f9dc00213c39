/* The restore-time settings a copy reads (RestoreSettings in packages/core/src/dump/control.ts). */
#ifndef DEFROST_SETTINGS_H
#define DEFROST_SETTINGS_H

#include "args.h"

/* The settings as JSON (malloc'ed): a fresh restoreId, the start time, --env and --port, copy 0.
 * Hands over when the kernel gives no random bytes or memory runs out. */
char *settings_json(const struct args *a, long long started_epoch_ms);

#endif
