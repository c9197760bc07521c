// A compiled JSON schema and a matcher over it: which tokens may come next, and the state after each.
//
// The token table of a DFA state (every ordinary token it allows, with the bytes still needed after
// it) is computed once, by walking the vocabulary trie, and kept: generation revisits the same states
// (inside a free string, between properties), so those steps only read a table. A budget of B bytes
// after the token keeps the tokens from which the text can still be finished in B bytes.
import { LazyDfa, DEAD } from "./dfa.js";
import { compileSchema, DEFAULT_ANY_DEPTH, DEFAULT_MAX_WHITESPACE, type SchemaOptions } from "./schema.js";
import { getTokenizer } from "../tokenizer/tokenizer.js";
import { getTokenTrie, type TokenTable, type TokenTrie } from "./vocabulary.js";

/** Token ids kept in the tables of one grammar before the least recently used tables are dropped (8 bytes each). */
const TABLE_BUDGET = 4 * 2 ** 20;

export class JsonGrammar {
  readonly dfa: LazyDfa;
  private readonly tables = new Map<number, TokenTable>();
  private tableIds = 0;

  constructor(readonly schema: unknown, options: SchemaOptions = {}, private readonly trie: TokenTrie = getTokenTrie()) {
    this.dfa = new LazyDfa(compileSchema(schema, options));
  }

  /** Fewest bytes of a complete JSON text (each byte is a token of its own, so also a bound on tokens). */
  get minBytes(): number {
    return this.dfa.dist[this.dfa.start];
  }

  /** The tokens allowed from `state`, computed on first use. */
  tokens(state: number): TokenTable {
    let table = this.tables.get(state);
    if (table) {
      // Most recently used last (a Map keeps insertion order).
      this.tables.delete(state);
      this.tables.set(state, table);
      return table;
    }
    table = this.trie.allowed(this.dfa, state);
    this.tables.set(state, table);
    this.tableIds += table.ids.length;
    for (const [s, t] of this.tables) {
      if (this.tableIds <= TABLE_BUDGET || s === state) break;
      this.tables.delete(s);
      this.tableIds -= t.ids.length;
    }
    return table;
  }

  matcher(): JsonMatcher {
    return new JsonMatcher(this);
  }
}

/** Where one reply is in a grammar. */
export class JsonMatcher {
  state: number;
  constructor(readonly grammar: JsonGrammar) {
    this.state = grammar.dfa.start;
  }

  /** the text so far is a complete JSON value */
  get complete(): boolean {
    return this.grammar.dfa.accepting[this.state] === 1;
  }

  /** fewest bytes that complete the text */
  get remaining(): number {
    return this.grammar.dfa.dist[this.state];
  }

  /** The allowed ordinary tokens; those with dists[i] <= B leave a text that B more bytes can finish. */
  allowed(): TokenTable {
    return this.grammar.tokens(this.state);
  }

  /** The state after `token`, or DEAD if the token is not allowed. */
  peek(token: number): number {
    const bytes = getTokenizer().tokenBytes(token);
    let s = this.state;
    for (let i = 0; i < bytes.length && s !== DEAD; i++) s = this.grammar.dfa.next(s, bytes[i]);
    return s;
  }

  accept(token: number): void {
    const s = this.peek(token);
    if (s === DEAD) throw new Error(`token ${token} (${JSON.stringify(getTokenizer().decode([token]))}) does not continue the JSON text here`);
    this.state = s;
  }
}

// Compiled grammars by schema text and options, so that a server answering the same schema again does
// not compile it again.
const cache = new Map<string, JsonGrammar>();
const CACHE_SIZE = 8;

/** A grammar for `schema`, compiled once per schema and options (throws SchemaError). */
export function grammarFor(schema: unknown, options: SchemaOptions = {}): JsonGrammar {
  const key = JSON.stringify([schema, options.maxWhitespace ?? DEFAULT_MAX_WHITESPACE, options.anyDepth ?? DEFAULT_ANY_DEPTH]);
  let g = cache.get(key);
  if (g) {
    cache.delete(key);
  } else {
    g = new JsonGrammar(schema, options);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, g);
  return g;
}
