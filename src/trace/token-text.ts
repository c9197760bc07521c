// Token text for reports and `--prompt`: the o200k_harmony tokenizer for gpt-oss vocabularies, token ids
// shown as "#123" for models of another vocabulary (synthetic ones).
import { getTokenizer, VOCAB_SIZE } from "../tokenizer/tokenizer.js";

/** Vocabulary size of o200k_harmony, the only tokenizer gpt-oss checkpoints use. */
export const HARMONY_VOCAB_SIZE = VOCAB_SIZE;

interface Tokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
}

export interface TokenText {
  /** whether `encode` and real text labels are available */
  readonly hasTokenizer: boolean;
  /** why token ids are shown instead of text (null when text is available) */
  readonly note: string | null;
  /** the token's text, or "#id" */
  label(id: number): string;
  /** text to ids; throws with `note` when there is no tokenizer */
  encode(text: string): number[];
}

export const idLabel = (id: number) => `#${id}`;

/** Ids-only labels, with the reason. */
export function idsOnly(note: string): TokenText {
  return {
    hasTokenizer: false,
    note,
    label: idLabel,
    encode() {
      throw new Error(`cannot encode text: ${note}`);
    },
  };
}

/** The tokenizer for a model with `vocabSize` ids, or ids-only labels saying why not. */
export async function loadTokenText(vocabSize: number): Promise<TokenText> {
  if (vocabSize !== HARMONY_VOCAB_SIZE) {
    return idsOnly(`this model's vocabulary has ${vocabSize} ids, not the ${HARMONY_VOCAB_SIZE} of o200k_harmony, so its tokens have no text; showing ids`);
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = getTokenizer();
  } catch (e) {
    return idsOnly(`the o200k_harmony tokenizer is not available in this build (${(e as Error).message.split("\n")[0]}); showing ids`);
  }
  const cache = new Map<number, string>();
  return {
    hasTokenizer: true,
    note: null,
    label(id) {
      let s = cache.get(id);
      if (s === undefined) {
        try {
          s = tokenizer.decode([id]);
        } catch {
          s = idLabel(id);
        }
        cache.set(id, s);
      }
      return s;
    },
    encode: (text) => tokenizer.encode(text),
  };
}
