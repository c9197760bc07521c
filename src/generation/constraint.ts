// The per-step hook of generation: before each token is sampled, a constraint removes the tokens that
// may not come next (their logits become -Infinity), and it is told which token was chosen. Structured
// output (src/structured/) is built on it.

export interface TokenConstraint {
  /** Sets the logits of the tokens that may not come next to -Infinity, in place. */
  mask(logits: Float32Array): void;
  /** The token chosen (one the last mask allowed). */
  accept(token: number): void;
}
