/** How the bench's progress lines write numbers: three significant digits, as the report does. */
import { formatQuantity } from '@defrost/core/internal';

export const progressMs = (ms: number): string => `${formatQuantity(ms)} ms`;

export const progressMiB = (mib: number): string => `${mib.toFixed(0)} MiB`;
