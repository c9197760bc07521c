// The project's error classes share one base, so that a caller can tell "gpt-oss-ts refused this input"
// (`instanceof GptOssError`, or a subclass) from a bug. Each class is named after what went wrong; its
// message says what and where (file, tensor, key, request field, position).

export class GptOssError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The prompt alone fills the context: the caller's input is too long (an HTTP 400, not a 500). */
export class ContextFullError extends GptOssError {}

/**
 * The model produced NaN or an infinite logit: the weights or the computation are broken. Generation
 * stops here rather than sample from garbage (a NaN would otherwise make every draw the same token).
 */
export class NonFiniteLogitsError extends GptOssError {
  constructor(
    message: string,
    /** the position whose logits these are (the last token run through the model), when known */
    readonly position: number | null = null,
    /** the index of the generated token that was to be sampled from them, when known */
    readonly step: number | null = null,
  ) {
    super(message);
  }
}

/** The KV cache cannot grow to hold more positions: the kernel memory (or the machine) is full. */
export class KVCacheFullError extends GptOssError {}
