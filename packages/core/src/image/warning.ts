/** Something the user should know that does not stop the operation. */
export interface ImageWarning {
  /** Stable, e.g. "image-permissions", "image-incompatible", "image-cleanup". */
  code: string;
  message: string;
}

export type WarningSink = (warning: ImageWarning) => void;

/** Used when the caller passes no sink: a warning is never dropped silently. */
export const emitProcessWarning: WarningSink = (w) => {
  process.emitWarning(w.message, { type: 'DefrostWarning', code: w.code });
};
